//! Lowering the AQL AST to the IR: names to field ids, functions to enums,
//! patterns compiled (once per distinct pattern), constants folded, aggregates
//! split out, the time window found.

use crate::dateformat::DatePattern;
use crate::error::{Error, ErrorKind};
use crate::functions::{self, Agg, Callable, Func};
use crate::ir::{AggSpec, ArithOp, Cidr, CmpOp, Ir};
use crate::pattern::Pattern;
use crate::similar::{to_regex, Dialect, Escape};
use crate::zone::Zone;
use portent_aql::ast::{self, BinaryOp, ExprKind, Literal, LogicalOp, MatchOp, UnaryOp};
use portent_core::schema::ids;
use portent_core::{Catalog, Schema, Span, Value};
use std::collections::HashMap;

/// Where an expression is being lowered; decides what names and aggregates mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// WHERE and GROUP BY: per event; an unknown name may be a SELECT alias.
    Event,
    /// SELECT of an ungrouped query: per event, no aliases.
    Select,
    /// ORDER BY of an ungrouped query: per event; aliases are output columns.
    Order,
    /// SELECT, HAVING and ORDER BY of a grouped query.
    Grouped,
}

pub(crate) struct Lowerer<'a> {
    pub schema: &'a mut Schema,
    pub catalog: &'a Catalog,
    pub zone: Zone,
    pub optimize: bool,
    pub patterns: Vec<Pattern>,
    pattern_index: HashMap<String, usize>,
    pub errors: Vec<Error>,
    /// SELECT aliases: folded name, expression, column index.
    pub aliases: Vec<(String, ast::Expr, usize)>,
    pub keys: Vec<Ir>,
    pub aggs: Vec<AggSpec>,
    /// Alias names being expanded (guards against `a AS b, b AS a` loops).
    expanding: Vec<String>,
    /// Errors are dropped while probing whether a sub-expression is a group key.
    quiet: usize,
    /// Errors dropped while probing: a probe that had one is not an answer.
    muted: usize,
    /// The SELECT column being lowered: its expressions may name the aliases
    /// of the columns before it, never its own (`SUBSTRING(username, 0, 35)
    /// AS "Username"` reads the field).
    pub current_column: Option<usize>,
    /// Reference data: a constant collection name must name one loaded.
    pub refdata: Option<&'a crate::refdata::ReferenceData>,
}

impl<'a> Lowerer<'a> {
    pub fn new(schema: &'a mut Schema, catalog: &'a Catalog, zone: Zone, optimize: bool) -> Self {
        Lowerer {
            schema,
            catalog,
            zone,
            optimize,
            patterns: Vec::new(),
            pattern_index: HashMap::new(),
            errors: Vec::new(),
            aliases: Vec::new(),
            keys: Vec::new(),
            aggs: Vec::new(),
            expanding: Vec::new(),
            quiet: 0,
            muted: 0,
            current_column: None,
            refdata: None,
        }
    }

    fn error(&mut self, e: Error) {
        if self.quiet == 0 {
            self.errors.push(e);
        } else {
            self.muted += 1;
        }
    }

    /// The alias `name`, if it is one the expression being lowered may read:
    /// in a SELECT column, only the columns before it.
    fn alias(&self, name: &str) -> Option<(ast::Expr, usize)> {
        let folded = name.to_lowercase();
        self.aliases
            .iter()
            .filter(|(_, _, i)| self.current_column.is_none_or(|c| *i < c))
            .find(|(n, _, _)| *n == folded)
            .map(|(_, e, i)| (e.clone(), *i))
    }

    /// Lowers `e` in `scope`.
    pub fn lower(&mut self, e: &ast::Expr, scope: Scope) -> Ir {
        if scope == Scope::Grouped {
            if let Some(ir) = self.grouped_leaf(e) {
                return ir;
            }
        }
        let ir = self.lower_kind(e, scope);
        self.fold(ir)
    }

    /// In a grouped query: a sub-expression equal to a GROUP BY key, an
    /// aggregate call, or a bare field (implicitly FIRST, as QRadar does).
    fn grouped_leaf(&mut self, e: &ast::Expr) -> Option<Ir> {
        let e = e.unnested();
        if let ExprKind::Field { name, .. } = &e.kind {
            if let Some((_, col)) = self.alias(name) {
                return Some(Ir::Column(col));
            }
        }
        if !contains_aggregate(e) {
            self.quiet += 1;
            let muted = self.muted;
            let probe = self.lower_kind(e, Scope::Event);
            let probe = self.fold(probe);
            self.quiet -= 1;
            // A probe that failed (an unknown function, an alias of an
            // aggregate read per event) folds to a constant NULL: it is no
            // answer, and the expression is lowered as grouped below, where
            // the error is reported or the alias is the aggregate's column.
            let failed = self.muted > muted;
            self.muted = muted;
            if !failed {
                if let Some(j) = self.keys.iter().position(|k| *k == probe) {
                    return Some(Ir::KeyRef(j));
                }
                if probe.is_event_free() {
                    return Some(probe);
                }
                if let ExprKind::Field { .. } = e.kind {
                    let arg = self.lower(e, Scope::Event);
                    return Some(Ir::AggRef(self.add_agg(Agg::First, Some(arg))));
                }
            }
        }
        if let ExprKind::Call { name, args } = &e.kind {
            if let Some(Callable::Aggregate(agg)) = functions::lookup(&name.name) {
                if args.len() != 1 {
                    self.error(Error::new(
                        ErrorKind::Arity {
                            name: name.name.clone(),
                            expected: "1 argument".into(),
                            found: args.len(),
                        },
                        e.span,
                    ));
                    return Some(Ir::Const(Value::Null));
                }
                let arg = match &args[0].kind {
                    ExprKind::Star if agg == Agg::Count => None,
                    ExprKind::Star => {
                        self.error(Error::new(
                            ErrorKind::Unsupported(format!(
                                "`{}(*)` is not defined; only COUNT(*) is",
                                agg.name()
                            )),
                            args[0].span,
                        ));
                        None
                    }
                    _ => {
                        if contains_aggregate(&args[0]) {
                            self.error(Error::new(
                                ErrorKind::MisplacedAggregate("aggregates cannot be nested".into()),
                                args[0].span,
                            ));
                        }
                        Some(self.lower(&args[0], Scope::Event))
                    }
                };
                return Some(Ir::AggRef(self.add_agg(agg, arg)));
            }
        }
        None
    }

    fn add_agg(&mut self, agg: Agg, arg: Option<Ir>) -> usize {
        let spec = AggSpec { agg, arg };
        match self.aggs.iter().position(|a| *a == spec) {
            Some(i) => i,
            None => {
                self.aggs.push(spec);
                self.aggs.len() - 1
            }
        }
    }

    fn field(&mut self, name: &str, span: Span, scope: Scope) -> Ir {
        if matches!(scope, Scope::Order) {
            if let Some((_, col)) = self.alias(name) {
                return Ir::Column(col);
            }
        }
        if let Some(id) = self.schema.resolve(name) {
            return Ir::Field(id);
        }
        if scope == Scope::Event {
            let folded = name.to_lowercase();
            if let Some((expr, _)) = self.alias(name) {
                if !self.expanding.contains(&folded) {
                    self.expanding.push(folded);
                    let ir = self.lower(&expr, Scope::Event);
                    self.expanding.pop();
                    return ir;
                }
            }
        }
        let _ = span;
        Ir::Field(self.schema.intern(name))
    }

    fn lower_kind(&mut self, e: &ast::Expr, scope: Scope) -> Ir {
        let b = |ir: Ir| Box::new(ir);
        match &e.kind {
            ExprKind::Field { name, .. } => self.field(name, e.span, scope),
            ExprKind::Literal(l) => Ir::Const(match l {
                Literal::Str(s) => Value::string(s.clone()),
                Literal::Int(i) | Literal::Hex(i) => Value::Int(*i),
                Literal::Float(f) => Value::Float(*f),
                Literal::Bool(v) => Value::Bool(*v),
                Literal::Null => Value::Null,
            }),
            ExprKind::Interval { count, unit } => {
                Ir::Const(Value::Int(count.saturating_mul(unit.millis())))
            }
            ExprKind::Unary { op, expr } => {
                let x = self.lower(expr, scope);
                match op {
                    UnaryOp::Not => Ir::Not(b(x)),
                    UnaryOp::Neg => Ir::Neg(b(x)),
                    UnaryOp::Plus => x,
                }
            }
            ExprKind::Logical { op, terms } => {
                let mut out = Vec::with_capacity(terms.len());
                for t in terms {
                    match (op, self.lower(t, scope)) {
                        (LogicalOp::And, Ir::And(xs)) | (LogicalOp::Or, Ir::Or(xs)) => {
                            out.extend(xs)
                        }
                        (_, x) => out.push(x),
                    }
                }
                match op {
                    LogicalOp::And => Ir::And(out),
                    LogicalOp::Or => Ir::Or(out),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.lower(lhs, scope), self.lower(rhs, scope));
                let cmp = |c| Ir::Cmp(c, b(l.clone()), b(r.clone()));
                let arith = |a| Ir::Arith(a, b(l.clone()), b(r.clone()));
                match op {
                    BinaryOp::Eq | BinaryOp::EqEq => cmp(CmpOp::Eq),
                    BinaryOp::NotEq | BinaryOp::LtGt => cmp(CmpOp::Ne),
                    BinaryOp::Lt => cmp(CmpOp::Lt),
                    BinaryOp::LtEq => cmp(CmpOp::Le),
                    BinaryOp::Gt => cmp(CmpOp::Gt),
                    BinaryOp::GtEq => cmp(CmpOp::Ge),
                    BinaryOp::Add => arith(ArithOp::Add),
                    BinaryOp::Sub => arith(ArithOp::Sub),
                    BinaryOp::Mul => arith(ArithOp::Mul),
                    BinaryOp::Div => arith(ArithOp::Div),
                    BinaryOp::Mod => arith(ArithOp::Mod),
                    BinaryOp::Pow => arith(ArithOp::Pow),
                    BinaryOp::BitAnd => arith(ArithOp::BitAnd),
                }
            }
            ExprKind::InList {
                expr,
                list,
                negated,
            } => {
                let x = self.lower(expr, scope);
                let items: Vec<Ir> = list.iter().map(|i| self.lower(i, scope)).collect();
                if self.optimize && items.iter().all(|i| matches!(i, Ir::Const(_))) {
                    let mut ints = Vec::new();
                    let mut others = Vec::new();
                    for i in items {
                        if let Ir::Const(v) = i {
                            match v {
                                Value::Int(n) => ints.push(n),
                                other => others.push(other),
                            }
                        }
                    }
                    ints.sort_unstable();
                    ints.dedup();
                    Ir::InConsts {
                        expr: b(x),
                        ints,
                        others,
                        negated: *negated,
                    }
                } else {
                    Ir::In {
                        expr: b(x),
                        list: items,
                        negated: *negated,
                    }
                }
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let x = self.lower(expr, scope);
                let (lo, hi) = (self.lower(low, scope), self.lower(high, scope));
                let both = Ir::And(vec![
                    Ir::Cmp(CmpOp::Ge, b(x.clone()), b(lo)),
                    Ir::Cmp(CmpOp::Le, b(x), b(hi)),
                ]);
                if *negated {
                    Ir::Not(b(both))
                } else {
                    both
                }
            }
            ExprKind::Match {
                expr,
                op,
                pattern,
                escape,
                negated,
            } => self.lower_match(expr, *op, pattern, escape.as_deref(), *negated, scope),
            ExprKind::IsNull { expr, negated } => Ir::IsNull(b(self.lower(expr, scope)), *negated),
            ExprKind::TextSearch { terms, .. } => {
                Ir::TextSearch(terms.split_whitespace().map(|t| t.to_lowercase()).collect())
            }
            ExprKind::Call { name, args } => self.lower_call(e, name, args, scope),
            ExprKind::Star => {
                self.error(Error::new(
                    ErrorKind::Unsupported("`*` is only allowed in SELECT * and COUNT(*)".into()),
                    e.span,
                ));
                Ir::Const(Value::Null)
            }
            ExprKind::Case {
                operand,
                arms,
                otherwise,
            } => Ir::Case {
                operand: operand.as_ref().map(|o| b(self.lower(o, scope))),
                arms: arms
                    .iter()
                    .map(|(w, t)| (self.lower(w, scope), self.lower(t, scope)))
                    .collect(),
                otherwise: b(otherwise
                    .as_ref()
                    .map_or(Ir::Const(Value::Null), |o| self.lower(o, scope))),
            },
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => Ir::Case {
                operand: None,
                arms: vec![(self.lower(cond, scope), self.lower(then, scope))],
                otherwise: b(otherwise
                    .as_ref()
                    .map_or(Ir::Const(Value::Null), |o| self.lower(o, scope))),
            },
            ExprKind::Nested(inner) => self.lower(inner, scope),
        }
    }

    fn const_text(&mut self, ir: &Ir, span: Span, what: &str) -> Option<Option<String>> {
        match ir {
            Ir::Const(Value::Null) => Some(None),
            Ir::Const(v) => Some(v.to_text().map(|t| t.into_owned())),
            _ => {
                self.error(Error::new(
                    ErrorKind::BadArgument(format!("{what} must be a constant")),
                    span,
                ));
                None
            }
        }
    }

    fn lower_match(
        &mut self,
        expr: &ast::Expr,
        op: MatchOp,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        negated: bool,
        scope: Scope,
    ) -> Ir {
        let escape = match escape {
            None => Escape::Default,
            Some(e) => {
                let ir = self.lower(e, scope);
                match self.const_text(&ir, e.span, "the ESCAPE character") {
                    Some(Some(s)) if s.is_empty() => Escape::Disabled,
                    Some(Some(s)) if s.chars().count() == 1 => {
                        Escape::Char(s.chars().next().unwrap_or('\\'))
                    }
                    Some(_) => {
                        self.error(Error::new(
                            ErrorKind::BadArgument(
                                "ESCAPE takes one character (or '' for none)".into(),
                            ),
                            e.span,
                        ));
                        Escape::Default
                    }
                    None => Escape::Default,
                }
            }
        };
        let (dialect, ci) = dialect_of(op);
        let pat_ir = self.lower(pattern, scope);
        let Ir::Const(pv) = &pat_ir else {
            let input = self.lower(expr, scope);
            return Ir::DynMatch {
                input: Box::new(input),
                pattern: Box::new(pat_ir),
                dialect,
                case_insensitive: ci,
                escape,
                negated,
            };
        };
        let Some(text) = pv.to_text().map(|t| t.into_owned()) else {
            // A NULL pattern makes the match unknown.
            return Ir::Const(Value::Null);
        };
        let index = match self.compile_pattern(&text, dialect, escape, ci) {
            Ok(i) => i,
            Err(m) => {
                self.error(Error::new(ErrorKind::BadPattern(m), pattern.span));
                return Ir::Const(Value::Null);
            }
        };
        // Fold LOWER(x) into the match when the pattern's needles are all lower
        // case: an ASCII x then matches case-insensitively without allocating.
        if self.optimize && !ci {
            if let ExprKind::Call { name, args } = &expr.unnested().kind {
                let stable = self.patterns[index]
                    .literals
                    .as_ref()
                    .is_some_and(|l| l.lowercase_stable());
                if stable && args.len() == 1 && name.name.eq_ignore_ascii_case("lower") {
                    let input = self.lower(&args[0], scope);
                    return Ir::Match {
                        input: Box::new(input),
                        pattern: index,
                        negated,
                        lowered: true,
                        group: None,
                    };
                }
            }
        }
        let input = self.lower(expr, scope);
        Ir::Match {
            input: Box::new(input),
            pattern: index,
            negated,
            lowered: false,
            group: None,
        }
    }

    pub fn compile_pattern(
        &mut self,
        text: &str,
        dialect: Dialect,
        escape: Escape,
        ci: bool,
    ) -> Result<usize, String> {
        let source = to_regex(text, dialect, escape, ci)?;
        if let Some(i) = self.pattern_index.get(&source) {
            return Ok(*i);
        }
        let mut p = Pattern::new(&source, ci)?;
        if !self.optimize {
            p.literals = None;
        }
        self.patterns.push(p);
        self.pattern_index.insert(source, self.patterns.len() - 1);
        Ok(self.patterns.len() - 1)
    }

    fn lower_call(
        &mut self,
        e: &ast::Expr,
        name: &ast::Ident,
        args: &[ast::Expr],
        scope: Scope,
    ) -> Ir {
        let Some(callable) = functions::lookup(&name.name) else {
            let mut err = Error::new(ErrorKind::UnknownFunction(name.name.clone()), name.span);
            if let Some(s) = functions::suggest(&name.name) {
                err = err.with_help(format!("did you mean `{}`?", s.to_uppercase()));
            }
            self.error(err);
            return Ir::Const(Value::Null);
        };
        let (func, min, max) = match callable {
            Callable::Scalar(f, min, max) => (f, min, max),
            Callable::Aggregate(a) => {
                let msg = match scope {
                    Scope::Grouped => "aggregates cannot be nested".to_owned(),
                    _ => format!("aggregate `{}` is not allowed here", a.name()),
                };
                self.error(
                    Error::new(ErrorKind::MisplacedAggregate(msg), e.span)
                        .with_help("aggregates belong in SELECT, HAVING and ORDER BY"),
                );
                return Ir::Const(Value::Null);
            }
        };
        if args.len() < min || args.len() > max {
            let expected = match (min, max) {
                (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
                (a, usize::MAX) => {
                    format!("at least {a} argument{}", if a == 1 { "" } else { "s" })
                }
                (a, b) => format!("{a} to {b} arguments"),
            };
            self.error(Error::new(
                ErrorKind::Arity {
                    name: name.name.to_uppercase(),
                    expected,
                    found: args.len(),
                },
                e.span,
            ));
            return Ir::Const(Value::Null);
        }
        let lowered: Vec<Ir> = args.iter().map(|a| self.lower(a, scope)).collect();
        match func {
            Func::Now => Ir::Now,
            Func::DateFormat => {
                let pattern =
                    match self.const_text(&lowered[1], args[1].span, "the DATEFORMAT pattern") {
                        Some(Some(p)) => p,
                        _ => return Ir::Const(Value::Null),
                    };
                let pattern = match DatePattern::compile(&pattern) {
                    Ok(p) => p,
                    Err(m) => {
                        self.error(Error::new(ErrorKind::BadArgument(m), args[1].span));
                        return Ir::Const(Value::Null);
                    }
                };
                let zone = match lowered.get(2) {
                    None => self.zone,
                    Some(z) => match self
                        .const_text(z, args[2].span, "the time zone")
                        .flatten()
                        .map(|s| Zone::parse(&s))
                    {
                        Some(Ok(z)) => z,
                        Some(Err(m)) => {
                            self.error(Error::new(ErrorKind::BadArgument(m), args[2].span));
                            self.zone
                        }
                        None => self.zone,
                    },
                };
                let mut it = lowered.into_iter();
                Ir::DateFormat(
                    Box::new(it.next().unwrap_or(Ir::Const(Value::Null))),
                    pattern,
                    zone,
                )
            }
            Func::InCidr => {
                let text = match self.const_text(&lowered[0], args[0].span, "the INCIDR network") {
                    Some(Some(t)) => t,
                    _ => return Ir::Const(Value::Null),
                };
                match Cidr::parse(&text) {
                    Ok(c) => Ir::InCidr(
                        c,
                        Box::new(lowered.into_iter().nth(1).unwrap_or(Ir::Const(Value::Null))),
                    ),
                    Err(m) => {
                        self.error(
                            Error::new(ErrorKind::BadArgument(m), args[0].span).with_help(
                                "INCIDR takes the network first: INCIDR('10.0.0.0/8', sourceip)",
                            ),
                        );
                        Ir::Const(Value::Null)
                    }
                }
            }
            Func::ParseDateTime => {
                if let Some(Some(t)) =
                    self.const_text(&lowered[0], args[0].span, "the PARSEDATETIME reference")
                {
                    if let Err(m) = crate::time::parse_reference(&t, 0, &self.zone) {
                        self.error(Error::new(ErrorKind::BadArgument(m), args[0].span));
                    }
                }
                Ir::Call(Func::ParseDateTime, lowered)
            }
            f if f.reads_reference_data() => {
                self.check_reference(f, &lowered, args);
                Ir::Call(f, lowered)
            }
            f => Ir::Call(f, lowered),
        }
    }

    /// A constant collection name must name a loaded collection of the
    /// function's kind: a typo or a missing `--reference` is an error, not a
    /// silent NULL on every event.
    fn check_reference(&mut self, f: Func, lowered: &[Ir], args: &[ast::Expr]) {
        let data = self.refdata;
        let missing = match f {
            Func::NetworkName if !data.is_some_and(|d| d.has_networks()) => {
                Some("no network hierarchy is loaded")
            }
            Func::AssetHostname | Func::AssetUser | Func::AssetProperty
                if !data.is_some_and(|d| d.has_assets()) =>
            {
                Some("no assets are loaded")
            }
            Func::GeoLookup | Func::GeoDistance if data.is_none_or(|d| d.geo().is_none()) => {
                Some("no GeoIP database is loaded")
            }
            _ => None,
        };
        if let Some(m) = missing {
            let help = if matches!(f, Func::GeoLookup | Func::GeoDistance) {
                "give a MaxMind database with --reference (GeoLite2-City.mmdb, or GeoIP2 City or Country): Portent ships none"
            } else {
                "give them with --reference: a CSV `network,name` (10.0.0.0/8,Corporate) for NETWORKNAME, a CSV `ip,hostname,user,...` for the ASSET functions"
            };
            self.error(
                Error::new(
                    ErrorKind::BadArgument(m.into()),
                    args.first().map_or(Span::default(), |a| a.span),
                )
                .with_help(help),
            );
            return;
        }
        let (Some(want), Some(Ir::Const(name))) = (f.reference_kind(), lowered.first()) else {
            return;
        };
        let Some(name) = name.to_text().map(|t| t.into_owned()) else {
            return;
        };
        let found = data.and_then(|d| d.get(&name));
        let problem = match found {
            // A map is a map of sets of one value each (a CSV whose keys
            // happen not to repeat reads as a map).
            Some(c)
                if c.kind == want
                    || (want == crate::refdata::Kind::MapOfSets
                        && c.kind == crate::refdata::Kind::Map) =>
            {
                return
            }
            Some(c) => format!("`{name}` is a {}, not a {}", c.kind.name(), want.name()),
            None => format!("no {} `{name}` is loaded", want.name()),
        };
        let known = data.map(|d| d.names().join(", ")).unwrap_or_default();
        self.error(
            Error::new(ErrorKind::BadArgument(problem), args[0].span).with_help(if known.is_empty() {
                "load reference data with --reference DIR|FILE (CSV or QRadar's reference data JSON)".to_owned()
            } else {
                format!("loaded: {known}")
            }),
        );
    }

    /// Replaces an event-free subtree by its value (NOW() and PARSEDATETIME stay
    /// live so a streaming run sees the clock move).
    fn fold(&self, ir: Ir) -> Ir {
        if !self.optimize || matches!(ir, Ir::Const(_)) || !ir.is_event_free() {
            return ir;
        }
        let mut live = false;
        // Reference lookups stay live too: time to live counts from NOW().
        ir.walk(&mut |n| {
            live |= matches!(n, Ir::Now | Ir::Call(Func::ParseDateTime, _))
                || matches!(n, Ir::Call(f, _) if f.reads_reference_data())
        });
        if live {
            return ir;
        }
        let mut state = crate::eval::State::new(0);
        let empty = crate::refdata::ReferenceData::default();
        let v = crate::eval::Evaluator {
            patterns: &self.patterns,
            groups: &[],
            catalog: self.catalog,
            zone: self.zone,
            refdata: &empty,
            shared: None,
        }
        .eval(&ir, &portent_core::Record::new(), &mut state)
        .into_owned();
        Ir::Const(v)
    }
}

/// The pattern dialect and case sensitivity of a match operator.
pub fn dialect_of(op: MatchOp) -> (Dialect, bool) {
    match op {
        MatchOp::Like => (Dialect::Like, false),
        MatchOp::ILike => (Dialect::Like, true),
        MatchOp::Matches => (Dialect::Regex, false),
        MatchOp::IMatches => (Dialect::Regex, true),
        MatchOp::SimilarTo => (Dialect::Similar, false),
    }
}

/// True when `e` calls an aggregate function anywhere.
pub fn contains_aggregate(e: &ast::Expr) -> bool {
    let mut found = false;
    e.walk(&mut |n| {
        if let ExprKind::Call { name, .. } = &n.kind {
            if matches!(functions::lookup(&name.name), Some(Callable::Aggregate(_))) {
                found = true;
            }
        }
    });
    found
}

/// True when `ir` is a time-window conjunct: `starttime` compared with an
/// event-free bound.
pub fn is_window_conjunct(ir: &Ir) -> bool {
    match ir {
        Ir::Cmp(op, a, b) if !matches!(op, CmpOp::Eq | CmpOp::Ne) => {
            (**a == Ir::Field(ids::STARTTIME) && b.is_event_free())
                || (**b == Ir::Field(ids::STARTTIME) && a.is_event_free())
        }
        _ => false,
    }
}
