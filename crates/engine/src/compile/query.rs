//! Compiling a whole statement: columns, filter, time window, grouping, order
//! and limit.

use crate::error::{Error, ErrorKind, Errors};
use crate::functions::{self, Callable, Func};
use crate::ir::{AggSpec, Ir, Table};
use crate::lower::{contains_aggregate, is_window_conjunct, Lowerer, Scope};
use crate::pattern::Pattern;
use crate::plan::{self, MatchGroup};
use crate::time::{minute_window, parse_datetime, parse_reference, Window};
use crate::zone::Zone;
use portent_aql::ast::{self, ExprKind, SelectItem, TableName, TimeBoundKind, TimeClause};
use portent_core::{Catalog, FieldId, Schema, Span};
use std::sync::Arc;

/// What to do with the query's own time window (its LAST/START clause and
/// `starttime` conjuncts such as `starttime > NOW() - 1 DAYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WindowPolicy {
    /// Apply it as written, relative to the run's NOW().
    #[default]
    AsWritten,
    /// Drop it: every event is in range.
    Ignore,
    /// Replace it by this window.
    Replace(Window),
    /// Replace it by the last this many milliseconds before NOW().
    Last(i64),
}

/// Compile settings.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Zone for DATEFORMAT and for START/STOP strings without a zone.
    pub zone: Zone,
    /// Lookup tables.
    pub catalog: Arc<Catalog>,
    /// Time window handling.
    pub window: WindowPolicy,
    /// Planner optimisations (off only to test them against the plain plan).
    pub optimize: bool,
    /// Fields carried with every row for provenance (source file, record id).
    pub provenance: Vec<FieldId>,
    /// Reference sets, maps and tables (`--reference`).
    pub reference_data: Arc<crate::refdata::ReferenceData>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            zone: Zone::utc(),
            catalog: Arc::new(Catalog::builtin()),
            window: WindowPolicy::AsWritten,
            optimize: true,
            provenance: Vec::new(),
            reference_data: Arc::default(),
        }
    }
}

/// One output column.
#[derive(Clone, Debug)]
pub enum Column {
    /// `*`: every field the event has.
    Wildcard,
    /// A named expression.
    Expr {
        /// The column name (alias, or QRadar's implicit name).
        name: Arc<str>,
        /// What it computes (in a grouped query, over keys and aggregates).
        ir: Ir,
        /// Where it is in the query.
        span: Span,
    },
}

/// GROUP BY and aggregates.
#[derive(Clone, Debug)]
pub struct Grouping {
    /// Key expressions, per event.
    pub keys: Vec<Ir>,
    /// Aggregates, fed per event.
    pub aggs: Vec<AggSpec>,
    /// HAVING, over keys, aggregates and columns.
    pub having: Option<Ir>,
}

/// The time clause, resolved to a window when a run starts (it may depend on NOW).
#[derive(Clone, Debug, PartialEq)]
pub enum TimeSpec {
    /// LAST n units.
    Last(i64),
    /// START/STOP with instants or PARSEDATETIME references.
    Range(TimeRef, Option<TimeRef>),
    /// A window given by the caller.
    Fixed(Window),
}

/// A START or STOP bound.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeRef {
    /// An instant.
    At(i64),
    /// A PARSEDATETIME reference, resolved against NOW.
    Relative(String),
}

/// A compiled query, ready to run any number of times.
#[derive(Clone, Debug)]
pub struct Query {
    /// The source text.
    pub source: String,
    /// The parsed statement.
    pub ast: ast::Query,
    /// The schema the query was compiled against (with any names it added),
    /// or a later one: ids are only ever added, so a grown schema names
    /// every field this query uses. Shared, because a rule set of thousands
    /// of queries holding a copy each costs memory quadratic in its size;
    /// see [`share_schema`].
    pub schema: std::sync::Arc<Schema>,
    /// The table read.
    pub table: Table,
    /// Output columns.
    pub columns: Vec<Column>,
    /// WHERE without the window conjuncts.
    pub filter: Option<Ir>,
    /// Window conjuncts taken out of WHERE.
    pub window_conjuncts: Vec<(Ir, Span)>,
    /// The time clause.
    pub time: Option<TimeSpec>,
    /// GROUP BY / aggregates, if any.
    pub grouping: Option<Grouping>,
    /// ORDER BY keys and whether each is descending.
    pub order: Vec<(Ir, bool)>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// Compiled patterns.
    pub patterns: Vec<Pattern>,
    /// Shared automata.
    pub groups: Vec<MatchGroup>,
    /// Settings used.
    pub options: CompileOptions,
}

impl Query {
    /// Parses and compiles `source`, interning the names it uses into `schema`.
    /// Returns every error found.
    pub fn compile(
        source: &str,
        schema: &mut Schema,
        options: &CompileOptions,
    ) -> Result<Query, Errors> {
        let ast = portent_aql::parse(source)
            .map_err(|es| Errors(es.into_iter().map(Error::from).collect()))?;
        Query::from_ast(source, ast, schema, options)
    }

    /// Compiles an already parsed statement.
    pub fn from_ast(
        source: &str,
        ast: ast::Query,
        schema: &mut Schema,
        options: &CompileOptions,
    ) -> Result<Query, Errors> {
        let mut lw = Lowerer::new(schema, &options.catalog, options.zone, options.optimize);
        lw.refdata = Some(&options.reference_data);
        let mut names = Vec::new();
        for (i, item) in ast.select.iter().enumerate() {
            if let SelectItem::Expr { expr, alias } = item {
                let name = match alias {
                    Some(a) => a.name.clone(),
                    None => implicit_name(expr, source),
                };
                if let Some(a) = alias {
                    lw.aliases.push((a.name.to_lowercase(), expr.clone(), i));
                }
                names.push(name);
            } else {
                names.push("*".into());
            }
        }
        let grouped = !ast.group_by.is_empty()
            || ast
                .select
                .iter()
                .any(|s| matches!(s, SelectItem::Expr { expr, .. } if contains_aggregate(expr)))
            || ast.having.is_some();

        // WHERE, split into the window and the rest.
        let mut filter = None;
        let mut window_conjuncts = Vec::new();
        if let Some(w) = &ast.filter {
            let mut conjuncts: Vec<(Ir, Span)> = match &w.unnested().kind {
                ExprKind::Logical {
                    op: ast::LogicalOp::And,
                    terms,
                } => terms
                    .iter()
                    .map(|t| (lw.lower(t, Scope::Event), t.span))
                    .collect(),
                _ => vec![(lw.lower(w, Scope::Event), w.span)],
            };
            let mut rest = Vec::new();
            for (ir, span) in conjuncts.drain(..) {
                if is_window_conjunct(&ir) {
                    window_conjuncts.push((ir, span));
                } else {
                    rest.push(ir);
                }
            }
            if options.window != WindowPolicy::AsWritten {
                window_conjuncts.clear();
            }
            filter = match rest.len() {
                0 => None,
                1 => rest.pop(),
                _ => Some(Ir::And(rest)),
            };
        }
        let time = match options.window {
            WindowPolicy::AsWritten => ast
                .time
                .as_ref()
                .map(|t| time_spec(t, &options.zone, &mut lw.errors)),
            WindowPolicy::Ignore => None,
            WindowPolicy::Replace(w) => Some(TimeSpec::Fixed(w)),
            WindowPolicy::Last(ms) => Some(TimeSpec::Last(ms)),
        };

        let mut columns = Vec::new();
        let mut grouping = None;
        if grouped {
            lw.keys = ast
                .group_by
                .iter()
                .map(|g| match &g.unnested().kind {
                    ExprKind::Field { name, .. } if lw.schema.resolve(name).is_none() => {
                        match lw
                            .aliases
                            .iter()
                            .find(|(n, _, _)| *n == name.to_lowercase())
                        {
                            Some((_, e, _)) => {
                                let e = e.clone();
                                lw.lower(&e, Scope::Event)
                            }
                            None => lw.lower(g, Scope::Event),
                        }
                    }
                    _ => lw.lower(g, Scope::Event),
                })
                .collect();
        }
        for (i, (item, name)) in ast.select.iter().zip(&names).enumerate() {
            lw.current_column = Some(i);
            match item {
                SelectItem::Wildcard(span) => {
                    if grouped {
                        lw.errors.push(Error::new(
                            ErrorKind::Unsupported(
                                "SELECT * cannot be combined with GROUP BY or aggregates".into(),
                            ),
                            *span,
                        ));
                    }
                    columns.push(Column::Wildcard);
                }
                SelectItem::Expr { expr, alias } => {
                    let scope = if grouped {
                        Scope::Grouped
                    } else {
                        Scope::Select
                    };
                    let ir = lw.lower(expr, scope);
                    let name = match (&ir, alias, &expr.unnested().kind) {
                        // QRadar names an ungrouped field FIRST_<field>.
                        (Ir::AggRef(i), None, ExprKind::Field { .. })
                            if lw.aggs[*i].agg == functions::Agg::First =>
                        {
                            format!("FIRST_{name}")
                        }
                        _ => name.clone(),
                    };
                    columns.push(Column::Expr {
                        name: name.into(),
                        ir,
                        span: expr.span,
                    });
                }
            }
        }
        lw.current_column = None;
        let order_scope = if grouped {
            Scope::Grouped
        } else {
            Scope::Order
        };
        let order: Vec<(Ir, bool)> = ast
            .order_by
            .iter()
            .map(|o| (lw.lower(&o.expr, order_scope), o.descending))
            .collect();
        if grouped {
            let having = ast.having.as_ref().map(|h| lw.lower(h, Scope::Grouped));
            grouping = Some(Grouping {
                keys: std::mem::take(&mut lw.keys),
                aggs: std::mem::take(&mut lw.aggs),
                having,
            });
        }
        if !lw.errors.is_empty() {
            let mut errors = std::mem::take(&mut lw.errors);
            errors.sort_by_key(|e| e.span.start);
            return Err(Errors(errors));
        }
        let patterns = std::mem::take(&mut lw.patterns);
        drop(lw);

        let mut query = Query {
            source: source.to_owned(),
            table: match ast.from.table {
                TableName::Events => Table::Events,
                TableName::Flows => Table::Flows,
            },
            limit: ast.limit.as_ref().map(|l| l.value),
            ast,
            schema: std::sync::Arc::new(schema.clone()),
            columns,
            filter,
            window_conjuncts,
            time,
            grouping,
            order,
            patterns,
            groups: Vec::new(),
            options: options.clone(),
        };
        if options.optimize {
            query.plan();
        }
        Ok(query)
    }

    fn plan(&mut self) {
        let mut roots: Vec<&mut Ir> = Vec::new();
        if let Some(f) = &mut self.filter {
            plan::reorder(f);
            roots.push(f);
        }
        for c in &mut self.columns {
            if let Column::Expr { ir, .. } = c {
                roots.push(ir);
            }
        }
        for (o, _) in &mut self.order {
            roots.push(o);
        }
        if let Some(g) = &mut self.grouping {
            roots.extend(g.keys.iter_mut());
            roots.extend(g.aggs.iter_mut().filter_map(|a| a.arg.as_mut()));
        }
        self.groups = plan::build_groups(&mut roots, &self.patterns);
    }

    /// The window in force for a run whose NOW() is `now`.
    pub fn window(&self, now: i64) -> Option<Window> {
        let zone = &self.options.zone;
        let resolve = |r: &TimeRef| match r {
            TimeRef::At(ms) => *ms,
            TimeRef::Relative(text) => parse_reference(text, now, zone).unwrap_or(now),
        };
        match &self.time {
            None => None,
            Some(TimeSpec::Last(ms)) => Some(Window {
                start: Some(now.saturating_sub(*ms)),
                end: None,
            }),
            Some(TimeSpec::Range(start, stop)) => {
                let s = resolve(start);
                let e = stop.as_ref().map(resolve);
                match (start, stop) {
                    (TimeRef::At(_), Some(TimeRef::At(_)) | None) => {
                        Some(minute_window(s, e.or(Some(now))))
                    }
                    _ => Some(Window {
                        start: Some(s),
                        end: e.or(Some(now)),
                    }),
                }
            }
            Some(TimeSpec::Fixed(w)) => Some(*w),
        }
    }

    /// Column names, with `*` for the wildcard.
    pub fn column_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| match c {
                Column::Wildcard => "*".to_owned(),
                Column::Expr { name, .. } => name.to_string(),
            })
            .collect()
    }

    /// True when rows only come out at the end (ORDER BY or grouping).
    pub fn is_blocking(&self) -> bool {
        !self.order.is_empty() || self.grouping.is_some()
    }

    /// Drops the syntax tree, which running does not read (only `why`
    /// explanations and printing do): a hunt with thousands of rules keeps
    /// their compiled form and text only.
    pub fn shed_syntax(&mut self) {
        self.ast.select = Vec::new();
        self.ast.filter = None;
        self.ast.group_by = Vec::new();
        self.ast.having = None;
        self.ast.order_by = Vec::new();
        self.ast.parameters = Vec::new();
    }

    /// True when which rows or values the answer has depends on the order
    /// events arrive in: ORDER BY with LIMIT (ties keep arrival order, and
    /// the LIMIT cuts among them) and the FIRST and LAST aggregates. (Without
    /// LIMIT, arrival order only orders tied rows.)
    pub fn order_sensitive(&self) -> bool {
        (!self.order.is_empty() && self.limit.is_some())
            || self.grouping.as_ref().is_some_and(|g| {
                g.aggs.iter().any(|a| {
                    matches!(
                        a.agg,
                        crate::functions::Agg::First | crate::functions::Agg::Last
                    )
                })
            })
    }

    /// True when the answer depends on NOW: a time window, NOW(),
    /// PARSEDATETIME's relative references, or reference data (whose
    /// time-to-live is counted to NOW). Such a query needs NOW before the
    /// first event, which `--now latest` only knows once everything is read.
    pub fn reads_now(&self) -> bool {
        if self.time.is_some() || !self.window_conjuncts.is_empty() {
            return true;
        }
        let mut irs: Vec<&Ir> = Vec::new();
        irs.extend(&self.filter);
        for c in &self.columns {
            if let Column::Expr { ir, .. } = c {
                irs.push(ir);
            }
        }
        if let Some(g) = &self.grouping {
            irs.extend(&g.keys);
            irs.extend(g.aggs.iter().filter_map(|a| a.arg.as_ref()));
            irs.extend(&g.having);
        }
        irs.extend(self.order.iter().map(|(o, _)| o));
        let mut reads = false;
        for ir in irs {
            ir.walk(&mut |n| match n {
                Ir::Now => reads = true,
                Ir::Call(f, _) if *f == Func::ParseDateTime || f.reads_reference_data() => {
                    reads = true
                }
                _ => {}
            });
        }
        reads
    }
}

fn time_spec(t: &TimeClause, zone: &Zone, errors: &mut Vec<Error>) -> TimeSpec {
    match t {
        TimeClause::Last { count, unit, .. } => {
            TimeSpec::Last((*count as i64).saturating_mul(unit.millis()))
        }
        TimeClause::Range { start, stop, .. } => {
            let mut bound = |b: &ast::TimeBound| match &b.kind {
                TimeBoundKind::Epoch(ms) => TimeRef::At(*ms),
                TimeBoundKind::ParseDateTime(text) => {
                    if let Err(m) = parse_reference(text, 0, zone) {
                        errors.push(Error::new(ErrorKind::BadArgument(m), b.span));
                    }
                    TimeRef::Relative(text.clone())
                }
                TimeBoundKind::Text(text) => match parse_datetime(text, zone) {
                    Ok(p) => TimeRef::At(p.millis),
                    Err(m) => {
                        errors.push(Error::new(ErrorKind::BadArgument(m), b.span));
                        TimeRef::At(0)
                    }
                },
            };
            TimeSpec::Range(bound(start), stop.as_ref().map(&mut bound))
        }
    }
}

/// QRadar's name for an unaliased column: a field's own name, `COUNT` for
/// COUNT(*), `FUNC_arg` for an aggregate (`COUNT_sourceip`), `func_arg` for a
/// lookup function over fields (`categoryname_category`), else the source text.
pub fn implicit_name(expr: &ast::Expr, source: &str) -> String {
    // A tree built rather than parsed has no text (empty spans): printed.
    let text = |e: &ast::Expr| {
        source
            .get(e.span.range())
            .filter(|t| !t.is_empty())
            .map_or_else(|| e.to_string(), str::to_owned)
    };
    let e = expr.unnested();
    match &e.kind {
        ExprKind::Field { name, .. } => name.clone(),
        ExprKind::Call { name, args } => match functions::lookup(&name.name) {
            Some(Callable::Aggregate(a)) => match args.first().map(|x| &x.kind) {
                Some(ExprKind::Star) | None => a.name().to_owned(),
                Some(_) => format!("{}_{}", a.name(), text(&args[0])),
            },
            _ if !args.is_empty()
                && args
                    .iter()
                    .all(|a| matches!(a.kind, ExprKind::Field { .. })) =>
            {
                let parts: Vec<String> = args.iter().map(&text).collect();
                format!("{}_{}", name.name.to_lowercase(), parts.join("_"))
            }
            _ => text(e),
        },
        _ => text(e),
    }
}

/// Points every query at the newest schema of a rule set compiled in order
/// (each compile may add names; the last schema holds them all), so the set
/// holds one schema instead of one per query. Call it after each compile
/// that grew the schema, or once at the end.
pub fn share_schema<'q>(queries: impl IntoIterator<Item = &'q mut Query>) {
    let mut queries: Vec<&mut Query> = queries.into_iter().collect();
    let Some(newest) = queries
        .iter()
        .max_by_key(|q| q.schema.len())
        .map(|q| q.schema.clone())
    else {
        return;
    };
    for q in &mut queries {
        if !std::sync::Arc::ptr_eq(&q.schema, &newest) {
            q.schema = newest.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads_now(aql: &str) -> bool {
        let mut schema = Schema::qradar();
        Query::compile(aql, &mut schema, &CompileOptions::default())
            .unwrap()
            .reads_now()
    }

    #[test]
    fn queries_that_depend_on_now_say_so() {
        for aql in [
            "SELECT * FROM events LAST 2 HOURS",
            "SELECT * FROM events WHERE starttime > NOW() - 3600000",
            "SELECT NOW() - starttime AS age FROM events",
            "SELECT * FROM events ORDER BY NOW() - starttime",
            "SELECT username, COUNT(*) FROM events GROUP BY username HAVING MAX(starttime) > NOW() - 60000",
            "SELECT * FROM events WHERE starttime > PARSEDATETIME('1 hour ago')",
        ] {
            assert!(reads_now(aql), "{aql}");
        }
        for aql in [
            "SELECT * FROM events",
            "SELECT username, COUNT(*) FROM events WHERE destinationport = 443 GROUP BY username",
            "SELECT * FROM events START 1700000000000 STOP 1700003600000",
        ] {
            // A fixed START/STOP is a window, so it counts too.
            assert_eq!(reads_now(aql), aql.contains("START"), "{aql}");
        }
    }
}
