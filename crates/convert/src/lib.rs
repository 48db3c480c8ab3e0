//! AQL written in other languages: a rule's WHERE becomes a portable tree of
//! field tests, which is then written as a Sigma rule, as QRadar-valid AQL,
//! or as Splunk SPL, Microsoft KQL, Elasticsearch ES|QL or ANSI SQL. What a
//! target cannot express is never dropped silently: it is listed in `notes`,
//! and a test that would change the meaning inside OR or NOT is an error.
//!
//! Its own crate: Sigma (and any other front end) loads rules into AQL for
//! the engine; writing rules out for other products is a separate job, which
//! reads only the AQL syntax tree and the engine's pattern helpers.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use portent_aql::ast::{
    BinaryOp, Expr, ExprKind, Literal, LogicalOp, MatchOp, Query, SelectItem, UnaryOp,
};
use portent_engine::similar::{regex_body, Dialect, Escape};
use std::fmt::Write as _;

/// A string test's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The whole value.
    Equals,
    /// Anywhere in it.
    Contains,
    /// At its start.
    StartsWith,
    /// At its end.
    EndsWith,
}

/// A portable test.
#[derive(Clone, Debug, PartialEq)]
pub enum Pred {
    /// Every part.
    And(Vec<Pred>),
    /// Any part.
    Or(Vec<Pred>),
    /// Not.
    Not(Box<Pred>),
    /// A named part (a CASE label of the query): Sigma names its search so.
    Label(String, Box<Pred>),
    /// `field` has one of `values` in `shape`, case-insensitively unless `cased`.
    Str {
        /// The field (Sigma's name).
        field: String,
        /// How each value is sought.
        shape: Shape,
        /// Any of these.
        values: Vec<String>,
        /// Case matters.
        cased: bool,
    },
    /// `field` matches the whole regular expression.
    Regex {
        /// The field.
        field: String,
        /// The expression (whole-value).
        pattern: String,
        /// Case-insensitive.
        ci: bool,
    },
    /// `field op n` for one of the numbers (`=` with several is IN).
    Num {
        /// The field.
        field: String,
        /// `=`, `!=`, `<`, `<=`, `>`, `>=`.
        op: &'static str,
        /// The numbers.
        values: Vec<i64>,
    },
    /// `field` is in one of the networks.
    Cidr {
        /// The field.
        field: String,
        /// CIDR blocks.
        nets: Vec<String>,
    },
    /// `field IS [NOT] NULL`.
    Null {
        /// The field.
        field: String,
        /// IS NOT NULL.
        negated: bool,
    },
}

/// A query in portable form.
#[derive(Clone, Debug, PartialEq)]
pub struct Portable {
    /// The test.
    pub pred: Pred,
    /// Windows event logs only (log source type 12).
    pub windows: bool,
    /// What could not be carried over, for people.
    pub notes: Vec<String>,
}

/// QRadar names -> Sysmon / Sigma names.
const SIGMA_NAMES: &[(&str, &str)] = &[
    ("Process Name", "Image"),
    ("Process Path", "Image"),
    ("Command", "CommandLine"),
    ("Parent Process Name", "ParentImage"),
    ("Parent Process Path", "ParentImage"),
    ("Parent Command", "ParentCommandLine"),
    ("Original File Name", "OriginalFileName"),
    ("username", "User"),
    ("sourceip", "SourceIp"),
    ("sourceport", "SourcePort"),
    ("destinationip", "DestinationIp"),
    ("destinationport", "DestinationPort"),
    ("Destination Hostname", "DestinationHostname"),
    ("Filename", "TargetFilename"),
    ("Process ID", "ProcessId"),
];

fn sigma_name(aql: &str) -> String {
    SIGMA_NAMES
        .iter()
        .find(|(q, _)| q.eq_ignore_ascii_case(aql))
        .map_or_else(|| aql.to_owned(), |(_, s)| (*s).to_owned())
}

/// The field a test reads, and whether it is lowered first (`LOWER(f)`).
fn field_of(e: &Expr) -> Option<(String, bool)> {
    match &e.unnested().kind {
        ExprKind::Field { name, .. } => Some((sigma_name(name), false)),
        ExprKind::Call { name, args }
            if name.name.eq_ignore_ascii_case("lower") && args.len() == 1 =>
        {
            field_of(&args[0]).map(|(f, _)| (f, true))
        }
        _ => None,
    }
}

fn str_lit(e: &Expr) -> Option<&str> {
    match &e.unnested().kind {
        ExprKind::Literal(Literal::Str(s)) => Some(s),
        _ => None,
    }
}

fn int_lit(e: &Expr) -> Option<i64> {
    match &e.unnested().kind {
        ExprKind::Literal(Literal::Int(i) | Literal::Hex(i)) => Some(*i),
        _ => None,
    }
}

/// The alternatives a SIMILAR TO pattern spells, as LIKE patterns (`%`, `_`,
/// `\` escapes), when it is only literals, `%`, `_` and groups of literal
/// alternatives; `None` otherwise (or beyond 512 alternatives).
fn similar_alternatives(p: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let n = chars.next()?;
                let lit = if matches!(n, '%' | '_' | '\\') {
                    format!("\\{n}")
                } else {
                    n.to_string()
                };
                out.iter_mut().for_each(|s| s.push_str(&lit));
            }
            '%' | '_' => out.iter_mut().for_each(|s| s.push(c)),
            '(' => {
                let mut alts = vec![String::new()];
                loop {
                    match chars.next()? {
                        ')' => break,
                        '|' => alts.push(String::new()),
                        '\\' => {
                            let n = chars.next()?;
                            let lit = if matches!(n, '%' | '_' | '\\') {
                                format!("\\{n}")
                            } else {
                                n.to_string()
                            };
                            alts.last_mut()?.push_str(&lit);
                        }
                        '(' | '[' | '*' | '+' | '?' | '{' | '%' | '_' => return None,
                        o => alts.last_mut()?.push(o),
                    }
                }
                if out.len() * alts.len() > 512 {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|s| alts.iter().map(move |a| format!("{s}{a}")))
                    .collect();
            }
            '|' | '*' | '+' | '?' | '{' | '[' | ')' => return None,
            o => out.iter_mut().for_each(|s| s.push(o)),
        }
    }
    Some(out)
}

/// A LIKE pattern as a shape and its literal text, when it has one.
fn like_shape(p: &str, escape: Option<char>) -> Option<(Shape, String)> {
    // Pieces: literal characters, and the `%` / `_` wildcards.
    let mut pieces: Vec<Option<char>> = Vec::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            c if Some(c) == escape => pieces.push(Some(chars.next()?)),
            '%' | '_' => pieces.push(None),
            o => pieces.push(Some(o)),
        }
    }
    let lead = pieces.first() == Some(&None) && p.starts_with('%');
    let trail =
        pieces.len() > usize::from(lead) && pieces.last() == Some(&None) && p.ends_with('%');
    let inner = &pieces[usize::from(lead)..pieces.len() - usize::from(trail)];
    let text = inner.iter().copied().collect::<Option<String>>()?;
    let shape = match (lead, trail) {
        (true, true) => Shape::Contains,
        (true, false) => Shape::EndsWith,
        (false, true) => Shape::StartsWith,
        (false, false) => Shape::Equals,
    };
    Some((shape, text))
}

struct Conv<'a> {
    labels: Vec<(String, String)>,
    notes: &'a mut Vec<String>,
    windows: bool,
}

impl Conv<'_> {
    /// A test, or `None` for one that holds for every event the output reads
    /// (the log source type, the time window), with a note.
    fn pred(&mut self, e: &Expr, top: bool) -> Result<Option<Pred>, String> {
        let text = e.to_string();
        if let Some((_, label)) = self.labels.iter().find(|(c, _)| *c == text) {
            let label = label.clone();
            return Ok(self
                .pred_inner(e, top)?
                .map(|p| Pred::Label(label, Box::new(p))));
        }
        self.pred_inner(e, top)
    }

    fn pred_inner(&mut self, e: &Expr, top: bool) -> Result<Option<Pred>, String> {
        let e = e.unnested();
        let unsupported = |what: &str| Err(format!("`{e}` cannot be converted: {what}"));
        Ok(Some(match &e.kind {
            ExprKind::Logical { op, terms } => {
                let mut parts = Vec::new();
                for t in terms {
                    if let Some(p) = self.pred(t, top && *op == LogicalOp::And)? {
                        parts.push(p);
                    }
                }
                match op {
                    LogicalOp::And => Pred::And(parts),
                    LogicalOp::Or => Pred::Or(parts),
                }
            }
            ExprKind::Unary {
                op: UnaryOp::Not,
                expr,
            } => match self.pred(expr, false)? {
                Some(p) => Pred::Not(Box::new(p)),
                None => return unsupported("its inner test only selects the log source"),
            },
            ExprKind::InList {
                expr,
                list,
                negated,
            } => {
                let Some((field, lowered)) = field_of(expr) else {
                    return unsupported("the tested value is not a field");
                };
                let fl = field.to_ascii_lowercase();
                if fl == "devicetype" || fl == "logsourcetypeid" {
                    let ids: Vec<i64> = list.iter().filter_map(int_lit).collect();
                    if top && !negated {
                        self.windows = ids.contains(&12);
                        let other: Vec<String> = ids
                            .iter()
                            .filter(|i| **i != 12)
                            .map(i64::to_string)
                            .collect();
                        if !other.is_empty() {
                            self.notes.push(format!("log source types {} are left out: the output reads Windows event logs (type 12) only", other.join(", ")));
                        }
                        return Ok(None);
                    }
                    return unsupported("a log source type test inside OR or NOT");
                }
                let p = if let Some(ns) = list.iter().map(int_lit).collect::<Option<Vec<_>>>() {
                    Pred::Num {
                        field,
                        op: "=",
                        values: ns,
                    }
                } else if let Some(ss) = list
                    .iter()
                    .map(|x| str_lit(x).map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                {
                    Pred::Str {
                        field,
                        shape: Shape::Equals,
                        values: ss,
                        cased: !lowered,
                    }
                } else {
                    return unsupported("a list of values that are not all numbers or all strings");
                };
                if *negated {
                    Pred::Not(Box::new(p))
                } else {
                    p
                }
            }
            // `(IF c THEN 1 ELSE 0) = 0` and its CASE form: Sigma's two-valued NOT.
            ExprKind::Binary {
                op: BinaryOp::Eq,
                lhs,
                rhs,
            } if int_lit(rhs) == Some(0) && definite_operand(lhs).is_some() => {
                let inner = definite_operand(lhs).ok_or("no operand")?;
                match self.pred(inner, false)? {
                    Some(p) => Pred::Not(Box::new(p)),
                    None => return unsupported("its inner test only selects the log source"),
                }
            }
            ExprKind::Literal(Literal::Bool(true)) if top => return Ok(None),
            ExprKind::Binary { op, lhs, rhs } => {
                let (field, lit) = match (field_of(lhs), field_of(rhs)) {
                    (Some(f), None) => (f, rhs.as_ref()),
                    (None, Some(f)) => (f, lhs.as_ref()),
                    _ => return unsupported("not a field compared with a value"),
                };
                let fl = field.0.to_ascii_lowercase();
                if fl == "starttime" {
                    if top {
                        self.notes.push(format!("the time window `{e}` is left out: schedule the rule over the period instead"));
                        return Ok(None);
                    }
                    return unsupported("a time test inside OR or NOT");
                }
                if fl == "devicetype" || fl == "logsourcetypeid" {
                    if top && *op == BinaryOp::Eq {
                        self.windows = int_lit(lit) == Some(12);
                        return Ok(None);
                    }
                    return unsupported("a log source type test inside OR or NOT");
                }
                let opname = match op {
                    BinaryOp::Eq | BinaryOp::EqEq => "=",
                    BinaryOp::NotEq | BinaryOp::LtGt => "!=",
                    BinaryOp::Lt => "<",
                    BinaryOp::LtEq => "<=",
                    BinaryOp::Gt => ">",
                    BinaryOp::GtEq => ">=",
                    _ => return unsupported("arithmetic"),
                };
                match (int_lit(lit), str_lit(lit)) {
                    (Some(n), _) => Pred::Num {
                        field: field.0,
                        op: opname,
                        values: vec![n],
                    },
                    (None, Some(s)) if matches!(opname, "=" | "!=") => {
                        let p = Pred::Str {
                            field: field.0,
                            shape: Shape::Equals,
                            values: vec![s.to_owned()],
                            cased: !field.1,
                        };
                        if opname == "!=" {
                            Pred::Not(Box::new(p))
                        } else {
                            p
                        }
                    }
                    _ => {
                        return unsupported(
                            "a comparison with something other than a number or text",
                        )
                    }
                }
            }
            ExprKind::Match {
                expr,
                op,
                pattern,
                escape,
                negated,
            } => {
                let Some((field, lowered)) = field_of(expr) else {
                    return unsupported("the tested value is not a field");
                };
                let Some(pat) = str_lit(pattern) else {
                    return unsupported("a pattern that is not a literal");
                };
                let ci = lowered || matches!(op, MatchOp::ILike | MatchOp::IMatches);
                let p = match op {
                    MatchOp::Matches | MatchOp::IMatches => Pred::Regex {
                        field,
                        pattern: pat.to_owned(),
                        ci,
                    },
                    MatchOp::Like | MatchOp::ILike | MatchOp::SimilarTo => {
                        // SIMILAR TO alternatives are spelled with `\\` escapes;
                        // an AQL LIKE has none unless ESCAPE names one.
                        let (likes, esc) = match (op, escape_of(escape)) {
                            (MatchOp::SimilarTo, _) => (similar_alternatives(pat), Some('\\')),
                            (_, Some(Escape::Char(c))) => (Some(vec![pat.to_owned()]), Some(c)),
                            _ => (Some(vec![pat.to_owned()]), None),
                        };
                        let shaped: Option<Vec<(Shape, String)>> =
                            likes.and_then(|ls| ls.iter().map(|l| like_shape(l, esc)).collect());
                        match shaped {
                            Some(s) if !s.is_empty() && s.iter().all(|(sh, _)| *sh == s[0].0) => {
                                Pred::Str {
                                    field,
                                    shape: s[0].0,
                                    values: s
                                        .into_iter()
                                        .map(|(_, t)| if lowered { t.to_lowercase() } else { t })
                                        .collect(),
                                    cased: !ci,
                                }
                            }
                            _ => {
                                let dialect = match op {
                                    MatchOp::SimilarTo => Dialect::Similar,
                                    _ => Dialect::Like,
                                };
                                let Some(esc) = escape_of(escape) else {
                                    return unsupported("an ESCAPE that is not one character");
                                };
                                match regex_body(pat, dialect, esc) {
                                    Ok(pattern) => Pred::Regex { field, pattern, ci },
                                    Err(m) => return unsupported(&m),
                                }
                            }
                        }
                    }
                };
                if *negated {
                    Pred::Not(Box::new(p))
                } else {
                    p
                }
            }
            ExprKind::IsNull { expr, negated } => {
                let Some((field, _)) = field_of(expr) else {
                    return unsupported("the tested value is not a field");
                };
                Pred::Null {
                    field,
                    negated: *negated,
                }
            }
            ExprKind::Call { name, args }
                if name.name.eq_ignore_ascii_case("incidr") && args.len() == 2 =>
            {
                let (Some(net), Some((field, _))) = (str_lit(&args[0]), field_of(&args[1])) else {
                    return unsupported("INCIDR of something other than a network and a field");
                };
                Pred::Cidr {
                    field,
                    nets: vec![net.to_owned()],
                }
            }
            _ => return unsupported("no portable form"),
        }))
    }
}

/// `c` of `IF c THEN 1 ELSE 0` or `CASE WHEN c THEN 1 ELSE 0 END`.
fn definite_operand(e: &Expr) -> Option<&Expr> {
    match &e.unnested().kind {
        ExprKind::If {
            cond,
            then,
            otherwise: Some(o),
        } if int_lit(then) == Some(1) && int_lit(o) == Some(0) => Some(cond),
        ExprKind::Case {
            operand: None,
            arms,
            otherwise: Some(o),
        } if arms.len() == 1 && int_lit(&arms[0].1) == Some(1) && int_lit(o) == Some(0) => {
            Some(&arms[0].0)
        }
        _ => None,
    }
}

/// The escape character an ESCAPE clause declares (`None`: not a one-character
/// literal, which the engine rejects too).
fn escape_of(e: &Option<Box<Expr>>) -> Option<Escape> {
    match e.as_deref().map(|x| &x.unnested().kind) {
        None => Some(Escape::Default),
        Some(ExprKind::Literal(Literal::Str(s))) if s.is_empty() => Some(Escape::Disabled),
        Some(ExprKind::Literal(Literal::Str(s))) if s.chars().count() == 1 => {
            s.chars().next().map(Escape::Char)
        }
        _ => None,
    }
}

/// The portable form of `q`'s WHERE, with the query's CASE labels naming
/// the parts they classify.
pub fn portable(q: &Query) -> Result<Portable, String> {
    let mut labels = Vec::new();
    for item in &q.select {
        if let SelectItem::Expr { expr, .. } = item {
            if let ExprKind::Case {
                operand: None,
                arms,
                ..
            } = &expr.unnested().kind
            {
                for (cond, value) in arms {
                    if let Some(l) = str_lit(value) {
                        labels.push((cond.to_string(), l.to_owned()));
                    }
                }
            }
        }
    }
    let mut notes = Vec::new();
    if !labels.is_empty() {
        notes.push(format!(
            "the CASE column has no counterpart: its labels ({}) name the tests they classify where the output can name things (Sigma search identifiers)",
            labels.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if q.limit.is_some() {
        notes.push("LIMIT is left out: every hit is reported".into());
    }
    if q.time.is_some() {
        notes.push(
            "the LAST/START time clause is left out: schedule the rule over the period instead"
                .into(),
        );
    }
    let Some(filter) = &q.filter else {
        return Err("the query has no WHERE: there is nothing to detect".into());
    };
    let mut conv = Conv {
        labels,
        notes: &mut notes,
        windows: false,
    };
    let pred = conv
        .pred(filter, true)?
        .ok_or("the WHERE only selects log sources and times")?;
    let windows = conv.windows;
    Ok(Portable {
        pred,
        windows,
        notes,
    })
}

/// A string in Sigma's syntax: `*`, `?` and `\` before them escaped.
fn sigma_str(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => {
                out.push('\\');
                out.push(c);
            }
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\') | None) => out.push_str("\\\\"),
            o => out.push(o),
        }
    }
    format!("'{}'", out.replace('\'', "''"))
}

struct SigmaOut {
    searches: Vec<(String, String)>,
}

impl SigmaOut {
    fn name(&self, base: &str) -> String {
        let base: String = base
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if !self.searches.iter().any(|(n, _)| *n == base) {
            return base;
        }
        (2..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !self.searches.iter().any(|(x, _)| x == n))
            .unwrap_or(base)
    }

    fn leaf(&self, p: &Pred) -> Result<String, String> {
        Ok(match p {
            Pred::Str {
                field,
                shape,
                values,
                cased,
            } => {
                let m = match shape {
                    Shape::Equals => "",
                    Shape::Contains => "|contains",
                    Shape::StartsWith => "|startswith",
                    Shape::EndsWith => "|endswith",
                };
                let cased = if *cased { "|cased" } else { "" };
                format!(
                    "{field}{m}{cased}:{}",
                    list(values.iter().map(|v| sigma_str(v)))
                )
            }
            Pred::Regex { field, pattern, ci } => {
                format!(
                    "{field}|re{}: '^(?:{})$'",
                    if *ci { "|i" } else { "" },
                    pattern.replace('\'', "''")
                )
            }
            Pred::Num { field, op, values } => match *op {
                "=" => format!("{field}:{}", list(values.iter().map(i64::to_string))),
                "!=" => format!("{field}|neq: {}", values[0]),
                ">" => format!("{field}|gt: {}", values[0]),
                ">=" => format!("{field}|gte: {}", values[0]),
                "<" => format!("{field}|lt: {}", values[0]),
                _ => format!("{field}|lte: {}", values[0]),
            },
            Pred::Cidr { field, nets } => format!(
                "{field}|cidr:{}",
                list(nets.iter().map(|n| format!("'{n}'")))
            ),
            Pred::Null { field, negated } => format!("{field}|exists: {negated}"),
            _ => return Err("not a leaf".into()),
        })
    }

    /// The condition text of `p`, adding its searches.
    fn cond(&mut self, p: &Pred, name: Option<&str>, negated: bool) -> Result<String, String> {
        Ok(match p {
            Pred::And(ps) => {
                let parts = ps
                    .iter()
                    .map(|x| self.cond(x, None, negated))
                    .collect::<Result<Vec<_>, _>>()?;
                group(parts, "and")
            }
            Pred::Or(ps) => {
                let parts = ps
                    .iter()
                    .map(|x| self.cond(x, None, negated))
                    .collect::<Result<Vec<_>, _>>()?;
                group(parts, "or")
            }
            Pred::Not(x) => format!("not {}", self.cond(x, None, !negated)?),
            Pred::Label(l, x) => self.cond(x, Some(&format!("selection_{l}")), negated)?,
            leaf => {
                let field = match leaf {
                    Pred::Str { field, .. }
                    | Pred::Regex { field, .. }
                    | Pred::Num { field, .. }
                    | Pred::Cidr { field, .. }
                    | Pred::Null { field, .. } => field.clone(),
                    _ => String::new(),
                };
                let n = match name {
                    Some(n) => self.name(n),
                    None if negated => self.name(&format!("filter_{field}")),
                    None => self.name(&format!("selection_{field}")),
                };
                let body = self.leaf(leaf)?;
                self.searches.push((n.clone(), body));
                n
            }
        })
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.len() == 1 {
        format!(" {}", v[0])
    } else {
        v.iter().map(|x| format!("\n            - {x}")).collect()
    }
}

fn group(parts: Vec<String>, op: &str) -> String {
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(&format!(" {op} "))),
    }
}

/// Metadata for an exported Sigma rule.
#[derive(Clone, Debug, Default)]
pub struct SigmaMeta {
    /// title
    pub title: String,
    /// A stable name the id is derived from.
    pub key: String,
    /// description
    pub description: String,
    /// ATT&CK technique ids (T1071) and the tactic.
    pub attack: Vec<String>,
    /// The tactic (Command and Control).
    pub tactic: String,
    /// level
    pub level: String,
    /// references
    pub references: Vec<String>,
    /// falsepositives
    pub falsepositives: Vec<String>,
    /// date (YYYY-MM-DD)
    pub date: String,
}

/// A UUID (version 4 form) derived from `key`, so the same rule keeps its id.
fn uuid_of(key: &str) -> String {
    let h = |seed: u64| {
        key.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    };
    let (a, b) = (h(0xcbf2_9ce4_8422_2325), h(0x8422_2325_cbf2_9ce4));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

fn yaml_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `p` as a Sigma rule (YAML), with the notes as comments.
pub fn to_sigma(p: &Portable, m: &SigmaMeta) -> Result<String, String> {
    let mut out = SigmaOut {
        searches: Vec::new(),
    };
    let cond = out.cond(&p.pred, None, false)?;
    let cond = cond
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))
        .filter(|c| !c.contains('(') && !c.contains(')'))
        .map_or(cond.clone(), str::to_owned);
    let mut y = String::new();
    let _ = writeln!(y, "# Converted by Portent from AQL.");
    for n in &p.notes {
        let _ = writeln!(y, "# Not carried over: {n}.");
    }
    let _ = writeln!(y, "title: {}", yaml_text(&m.title));
    let _ = writeln!(y, "id: {}", uuid_of(&m.key));
    let _ = writeln!(y, "status: experimental");
    if !m.description.is_empty() {
        let _ = writeln!(
            y,
            "description: {}",
            yaml_text(
                &m.description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        );
    }
    if !m.references.is_empty() {
        let _ = writeln!(y, "references:");
        for r in &m.references {
            let _ = writeln!(y, "    - {r}");
        }
    }
    let _ = writeln!(y, "author: Portent (converted from AQL)");
    if !m.date.is_empty() {
        let _ = writeln!(y, "date: {}", m.date);
    }
    let mut tags: Vec<String> = Vec::new();
    if !m.tactic.is_empty() {
        tags.push(format!(
            "attack.{}",
            m.tactic.to_ascii_lowercase().replace(' ', "-")
        ));
    }
    tags.extend(
        m.attack
            .iter()
            .map(|t| format!("attack.{}", t.to_ascii_lowercase())),
    );
    if !tags.is_empty() {
        let _ = writeln!(y, "tags:");
        for t in tags {
            let _ = writeln!(y, "    - {t}");
        }
    }
    let _ = writeln!(y, "logsource:\n    product: windows");
    if !p.windows {
        // Sigma needs a log source; the query named none.
    }
    let _ = writeln!(y, "detection:");
    for (n, body) in &out.searches {
        let _ = writeln!(y, "    {n}:\n        {body}");
    }
    let _ = writeln!(y, "    condition: {cond}");
    if !m.falsepositives.is_empty() {
        let _ = writeln!(y, "falsepositives:");
        for f in &m.falsepositives {
            let _ = writeln!(y, "    - {}", yaml_text(f));
        }
    }
    if !m.level.is_empty() {
        let _ = writeln!(y, "level: {}", m.level);
    }
    Ok(y)
}

/// `q` as AQL that QRadar accepts: SIMILAR TO becomes MATCHES with the same
/// meaning, LOGSOURCETYPEID becomes devicetype, and a `starttime > NOW() - n
/// DAYS|HOURS|MINUTES` conjunct becomes `LAST n ...`.
pub fn to_qradar(q: &Query, notes: &mut Vec<String>) -> String {
    use portent_aql::ast::{TimeClause, TimeUnit};
    let mut q = q.clone();
    fn rewrite(e: &mut Expr, notes: &mut Vec<String>) {
        match &mut e.kind {
            ExprKind::Field { name, .. } if name.eq_ignore_ascii_case("logsourcetypeid") => {
                *name = "devicetype".into();
            }
            ExprKind::Match {
                expr,
                op,
                pattern,
                escape,
                negated,
            } => {
                rewrite(expr, notes);
                if *op == MatchOp::SimilarTo {
                    let body = match (&pattern.kind, escape_of(escape)) {
                        (ExprKind::Literal(Literal::Str(p)), Some(esc)) => {
                            regex_body(p, Dialect::Similar, esc).ok()
                        }
                        _ => None,
                    };
                    match body {
                        Some(b) => {
                            // SIMILAR TO's % spans line breaks; Java's . does so with (?s).
                            pattern.kind = ExprKind::Literal(Literal::Str(format!("(?s){b}")));
                            *op = MatchOp::Matches;
                            *escape = None;
                        }
                        None => notes.push(format!("`{}` is kept as SIMILAR TO: its pattern has no regular-expression form", pattern)),
                    }
                }
                if *negated {
                    // `NOT (x MATCHES p)`: the form IBM documents.
                    *negated = false;
                    let inner = e.clone();
                    e.kind = ExprKind::Unary {
                        op: UnaryOp::Not,
                        expr: Box::new(Expr {
                            kind: ExprKind::Nested(Box::new(inner)),
                            span: e.span,
                        }),
                    };
                }
            }
            ExprKind::Logical { terms, .. } => terms.iter_mut().for_each(|t| rewrite(t, notes)),
            ExprKind::Unary { expr, .. }
            | ExprKind::Nested(expr)
            | ExprKind::IsNull { expr, .. } => rewrite(expr, notes),
            ExprKind::Binary { lhs, rhs, .. } => {
                rewrite(lhs, notes);
                rewrite(rhs, notes);
            }
            ExprKind::InList { expr, list, .. } => {
                rewrite(expr, notes);
                list.iter_mut().for_each(|t| rewrite(t, notes));
            }
            ExprKind::Call { args, .. } => args.iter_mut().for_each(|t| rewrite(t, notes)),
            ExprKind::Case {
                operand,
                arms,
                otherwise,
            } => {
                if let Some(o) = operand {
                    rewrite(o, notes);
                }
                for (c, v) in arms.iter_mut() {
                    rewrite(c, notes);
                    rewrite(v, notes);
                }
                if let Some(o) = otherwise {
                    rewrite(o, notes);
                }
                // IBM documents only `CASE x WHEN v`; a searched CASE becomes
                // the nested IF ... THEN ... ELSE it means.
                if operand.is_none() && !arms.is_empty() {
                    let mut tail = otherwise.take();
                    for (c, v) in arms.drain(..).rev() {
                        let span = c.span;
                        tail = Some(Box::new(Expr {
                            kind: ExprKind::If {
                                cond: Box::new(c),
                                then: Box::new(v),
                                otherwise: tail,
                            },
                            span,
                        }));
                    }
                    if let Some(t) = tail {
                        *e = *t;
                    }
                    notes.push("searched CASE became nested IF ... THEN ... ELSE".into());
                }
            }
            _ => {}
        }
    }
    // The relative window as a LAST clause.
    let window = |e: &Expr| -> Option<(u64, TimeUnit)> {
        let ExprKind::Binary {
            op: BinaryOp::Gt | BinaryOp::GtEq,
            lhs,
            rhs,
        } = &e.unnested().kind
        else {
            return None;
        };
        let is_start = matches!(&lhs.unnested().kind, ExprKind::Field { name, .. } if name.eq_ignore_ascii_case("starttime"));
        let ExprKind::Binary {
            op: BinaryOp::Sub,
            lhs: now,
            rhs: span,
        } = &rhs.unnested().kind
        else {
            return None;
        };
        let is_now = matches!(&now.unnested().kind, ExprKind::Call { name, args } if name.name.eq_ignore_ascii_case("now") && args.is_empty());
        match (&span.unnested().kind, is_start && is_now) {
            (ExprKind::Interval { count, unit }, true) => {
                Some((u64::try_from(*count).ok()?, *unit))
            }
            _ => None,
        }
    };
    if let Some(f) = &mut q.filter {
        if let ExprKind::Logical {
            op: LogicalOp::And,
            terms,
        } = &mut f.kind
        {
            if let Some(i) = terms.iter().position(|t| window(t).is_some()) {
                if let (Some((count, unit)), None) = (window(&terms[i]), &q.time) {
                    q.time = Some(TimeClause::Last {
                        count,
                        unit,
                        span: Default::default(),
                    });
                    terms.remove(i);
                    notes.push("`starttime > NOW() - n UNIT` became `LAST n UNIT`".into());
                }
            }
        }
    }
    for item in &mut q.select {
        if let SelectItem::Expr { expr, .. } = item {
            rewrite(expr, notes);
        }
    }
    if let Some(f) = &mut q.filter {
        rewrite(f, notes);
    }
    q.to_string()
}

/// Field names per target: Sigma/Sysmon name -> (SPL, KQL on MDE's DeviceNetworkEvents, ES|QL on ECS).
const TARGET_NAMES: &[(&str, &str, &str, &str)] = &[
    (
        "Image",
        "Image",
        "InitiatingProcessFolderPath",
        "process.executable",
    ),
    (
        "CommandLine",
        "CommandLine",
        "InitiatingProcessCommandLine",
        "process.command_line",
    ),
    (
        "ParentImage",
        "ParentImage",
        "InitiatingProcessParentFileName",
        "process.parent.executable",
    ),
    ("User", "User", "InitiatingProcessAccountName", "user.name"),
    ("SourceIp", "SourceIp", "LocalIP", "source.ip"),
    ("SourcePort", "SourcePort", "LocalPort", "source.port"),
    (
        "DestinationIp",
        "DestinationIp",
        "RemoteIP",
        "destination.ip",
    ),
    (
        "DestinationPort",
        "DestinationPort",
        "RemotePort",
        "destination.port",
    ),
    (
        "DestinationHostname",
        "DestinationHostname",
        "RemoteUrl",
        "destination.domain",
    ),
    (
        "OriginalFileName",
        "OriginalFileName",
        "InitiatingProcessVersionInfoOriginalFileName",
        "process.pe.original_file_name",
    ),
];

/// A query language for [`to_query`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Splunk SPL over Sysmon (Splunk Add-on for Sysmon field names).
    Spl,
    /// Microsoft KQL over Defender's `DeviceNetworkEvents`.
    Kql,
    /// Elasticsearch ES|QL over ECS (Winlogbeat / Elastic Agent Sysmon).
    Esql,
    /// ANSI SQL over a table of events with Sysmon's column names.
    Sql,
}

fn target_field(f: &str, lang: Lang) -> String {
    let row = TARGET_NAMES.iter().find(|r| r.0.eq_ignore_ascii_case(f));
    match (lang, row) {
        (Lang::Spl, Some(r)) => r.1.to_owned(),
        (Lang::Kql, Some(r)) => r.2.to_owned(),
        (Lang::Esql, Some(r)) => r.3.to_owned(),
        (Lang::Sql, _) => format!("\"{f}\""),
        (Lang::Esql, None) if f.contains(' ') => format!("`{f}`"),
        (Lang::Kql, None) if !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            format!("['{f}']")
        }
        (Lang::Spl, None)
            if !f
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
        {
            format!("'{f}'")
        }
        (_, _) => f.to_owned(),
    }
}

fn lit(s: &str, lang: Lang) -> String {
    match lang {
        Lang::Sql => format!("'{}'", s.replace('\'', "''")),
        Lang::Kql => format!("@'{}'", s.replace('\'', "''")),
        _ => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

fn like_escape(s: &str, lang: Lang) -> String {
    match lang {
        // ES|QL LIKE wildcards are * and ?.
        Lang::Esql => s
            .replace('\\', "\\\\")
            .replace('*', "\\*")
            .replace('?', "\\?"),
        _ => s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_"),
    }
}

fn expr(p: &Pred, lang: Lang, notes: &mut Vec<String>) -> Result<String, String> {
    let paren = |parts: Vec<String>, op: &str| match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(&format!(" {op} "))),
    };
    let (and, or, not) = match lang {
        Lang::Kql => ("and", "or", "not"),
        Lang::Spl => ("AND", "OR", "NOT"),
        _ => ("AND", "OR", "NOT"),
    };
    Ok(match p {
        Pred::And(ps) => paren(
            ps.iter()
                .map(|x| expr(x, lang, notes))
                .collect::<Result<_, _>>()?,
            and,
        ),
        Pred::Or(ps) => paren(
            ps.iter()
                .map(|x| expr(x, lang, notes))
                .collect::<Result<_, _>>()?,
            or,
        ),
        Pred::Not(x) => format!("{not}({})", expr(x, lang, notes)?),
        Pred::Label(_, x) => expr(x, lang, notes)?,
        Pred::Str {
            field,
            shape,
            values,
            cased,
        } => {
            let f = target_field(field, lang);
            let parts: Vec<String> = values
                .iter()
                .map(|v| match lang {
                    Lang::Kql => {
                        let op = match (shape, cased) {
                            (Shape::Equals, false) => "=~",
                            (Shape::Equals, true) => "==",
                            (Shape::Contains, false) => "contains",
                            (Shape::Contains, true) => "contains_cs",
                            (Shape::StartsWith, false) => "startswith",
                            (Shape::StartsWith, true) => "startswith_cs",
                            (Shape::EndsWith, false) => "endswith",
                            (Shape::EndsWith, true) => "endswith_cs",
                        };
                        format!("{f} {op} {}", lit(v, lang))
                    }
                    _ => {
                        let (any, lower) = match lang {
                            Lang::Esql => ("*", "TO_LOWER"),
                            Lang::Spl => ("%", "lower"),
                            _ => ("%", "LOWER"),
                        };
                        let body =
                            like_escape(&if *cased { v.clone() } else { v.to_lowercase() }, lang);
                        let pat = match shape {
                            Shape::Equals => body,
                            Shape::Contains => format!("{any}{body}{any}"),
                            Shape::StartsWith => format!("{body}{any}"),
                            Shape::EndsWith => format!("{any}{body}"),
                        };
                        let subject = if *cased {
                            f.clone()
                        } else {
                            format!("{lower}({f})")
                        };
                        match lang {
                            Lang::Spl => format!("like({subject}, {})", lit(&pat, lang)),
                            Lang::Sql => format!("{subject} LIKE {} ESCAPE '\\'", lit(&pat, lang)),
                            _ => format!("{subject} LIKE {}", lit(&pat, lang)),
                        }
                    }
                })
                .collect();
            paren(parts, or)
        }
        Pred::Regex { field, pattern, ci } => {
            let f = target_field(field, lang);
            let re = format!("{}^(?:{pattern})$", if *ci { "(?i)" } else { "" });
            match lang {
                Lang::Spl => format!("match({f}, {})", lit(&re, lang)),
                Lang::Kql => format!("{f} matches regex {}", lit(&re, lang)),
                Lang::Esql => {
                    if *ci {
                        notes.push("ES|QL RLIKE has no case-insensitive flag: the field is lowered and the expression must then be in lower case".into());
                    }
                    let subject = if *ci { format!("TO_LOWER({f})") } else { f };
                    format!("{subject} RLIKE {}", lit(&format!("(?:{pattern})"), lang))
                }
                Lang::Sql => format!(
                    "REGEXP_LIKE({f}, {}{})",
                    lit(&format!("^(?:{pattern})$"), lang),
                    if *ci { ", 'i'" } else { "" }
                ),
            }
        }
        Pred::Num { field, op, values } => {
            let f = target_field(field, lang);
            match (*op, values.len()) {
                ("=", 1) => format!(
                    "{f} {} {}",
                    // KQL and ES|QL test equality with `==`; `=` is an error there.
                    if matches!(lang, Lang::Kql | Lang::Esql) {
                        "=="
                    } else {
                        "="
                    },
                    values[0]
                ),
                ("=", _) => {
                    let vs = values
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    match lang {
                        Lang::Kql => format!("{f} in ({vs})"),
                        Lang::Spl => format!("in({f}, {vs})"),
                        _ => format!("{f} IN ({vs})"),
                    }
                }
                (op, _) => format!("{f} {op} {}", values[0]),
            }
        }
        Pred::Cidr { field, nets } => {
            let f = target_field(field, lang);
            let parts: Vec<String> = nets
                .iter()
                .map(|n| match lang {
                    Lang::Spl => Ok(format!("cidrmatch({}, {f})", lit(n, lang))),
                    Lang::Kql => Ok(format!("ipv4_is_in_range({f}, {})", lit(n, lang))),
                    Lang::Esql => Ok(format!("CIDR_MATCH({f}, {})", lit(n, lang))),
                    Lang::Sql => Err(format!("CIDR `{n}` has no ANSI SQL form")),
                })
                .collect::<Result<_, _>>()?;
            paren(parts, or)
        }
        Pred::Null { field, negated } => {
            let f = target_field(field, lang);
            match (lang, negated) {
                (Lang::Spl, false) => format!("isnull({f})"),
                (Lang::Spl, true) => format!("isnotnull({f})"),
                (Lang::Kql, false) => format!("isnull({f})"),
                (Lang::Kql, true) => format!("isnotnull({f})"),
                (_, false) => format!("{f} IS NULL"),
                (_, true) => format!("{f} IS NOT NULL"),
            }
        }
    })
}

/// `p` as a query in `lang`.
pub fn to_query(p: &Portable, lang: Lang, notes: &mut Vec<String>) -> Result<String, String> {
    let body = expr(&p.pred, lang, notes)?;
    Ok(match lang {
        Lang::Spl => format!(
            "search source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=3\n| where {body}"
        ),
        Lang::Kql => format!("DeviceNetworkEvents\n| where ActionType == \"ConnectionSuccess\"\n| where {body}"),
        Lang::Esql => format!("FROM logs-windows.sysmon_operational-*\n| WHERE event.code == \"3\"\n| WHERE {body}"),
        Lang::Sql => format!("SELECT *\nFROM events\nWHERE {body}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_to_patterns_expand_to_alternatives() {
        assert_eq!(
            similar_alternatives("%(cmd|pwsh)\\.exe%").unwrap(),
            ["%cmd.exe%", "%pwsh.exe%"]
        );
        assert_eq!(similar_alternatives("%(a|b)*%"), None);
        assert_eq!(
            like_shape("%cmd.exe%", Some('\\')),
            Some((Shape::Contains, "cmd.exe".into()))
        );
        assert_eq!(
            like_shape("%\\%x", Some('\\')),
            Some((Shape::EndsWith, "%x".into()))
        );
        // Without an escape character a backslash is itself (AQL LIKE).
        assert_eq!(
            like_shape("%\\certutil.exe", None),
            Some((Shape::EndsWith, "\\certutil.exe".into()))
        );
        assert_eq!(like_shape("%a_b%", None), None);
        assert_eq!(
            regex_body("%(a|b)\\.exe%", Dialect::Similar, Escape::Default).unwrap(),
            ".*(?:a|b)\\.exe.*"
        );
        assert_eq!(sigma_str("C:\\Temp\\*"), "'C:\\Temp\\\\\\*'");
    }
}
