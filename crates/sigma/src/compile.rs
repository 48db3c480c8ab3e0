//! A Sigma rule as an AQL query for Portent's engine: the log source becomes
//! conditions on channel and event id, each search a boolean expression over
//! the mapped fields, and the condition their combination. Sigma compares
//! values as case-insensitive strings with `*` and `?` wildcards, which is
//! AQL's `ILIKE` with `%` and `_`; the other modifiers have their own forms.
//!
//! The query is built as the AQL syntax tree the engine compiles (the text
//! is printed from it, for people and for `convert`), not written as text to
//! be parsed again.

use crate::condition::{self, glob, Cond};
use crate::logsource::{self, Source};
use crate::rule::{Detection, FieldMatch, Search, SigmaRule};
use crate::value::{base64, base64_offsets, pieces, plain, utf16, windash, Modifier, Piece};
use crate::yaml::{Node, Pos};
use crate::Error;
use portent_aql::ast::{
    self, Alias, BinaryOp, Expr, ExprKind, Ident, Literal, LogicalOp, MatchOp, OrderItem, Quote,
    SelectItem, TableName, UnaryOp,
};
use portent_core::Span;

/// A rule compiled to AQL.
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    /// The query, as the syntax tree the engine compiles.
    pub query: ast::Query,
    /// Which logs it reads, for people.
    pub source: String,
    /// The channels and event ids of those logs, for indexing a rule set.
    pub dispatch: Option<logsource::Dispatch>,
    /// Sigma field name -> the normalised field holding the same value in
    /// this rule's logs (what a correlation's `group-by` reads too).
    pub fields: Vec<(&'static str, &'static str)>,
}

impl Compiled {
    /// The query as text, printed from the tree (a clause per line).
    pub fn aql(&self) -> String {
        format!("{:#}", self.query)
    }
}

/// Nodes of the tree. They carry no span: the tree was not parsed from text,
/// and the Sigma loader has already said where in the YAML anything is wrong.
mod tree {
    use super::*;

    pub fn expr(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    pub fn field(name: &str) -> Expr {
        expr(ExprKind::Field {
            name: name.to_owned(),
            quoted: true,
        })
    }

    pub fn bare(name: &str) -> Expr {
        expr(ExprKind::Field {
            name: name.to_owned(),
            quoted: false,
        })
    }

    pub fn text(s: &str) -> Expr {
        expr(ExprKind::Literal(Literal::Str(s.to_owned())))
    }

    pub fn int(n: i64) -> Expr {
        match n.checked_neg() {
            // A negative number is written `-n`: the minus is an operator.
            Some(pos) if n < 0 => expr(ExprKind::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(expr(ExprKind::Literal(Literal::Int(pos)))),
            }),
            _ => expr(ExprKind::Literal(Literal::Int(n))),
        }
    }

    pub fn float(x: f64) -> Expr {
        if x < 0.0 {
            expr(ExprKind::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(expr(ExprKind::Literal(Literal::Float(-x)))),
            })
        } else {
            expr(ExprKind::Literal(Literal::Float(x)))
        }
    }

    pub fn boolean(b: bool) -> Expr {
        expr(ExprKind::Literal(Literal::Bool(b)))
    }

    pub fn nested(e: Expr) -> Expr {
        expr(ExprKind::Nested(Box::new(e)))
    }

    pub fn not(e: Expr) -> Expr {
        expr(ExprKind::Unary {
            op: UnaryOp::Not,
            expr: Box::new(nested(e)),
        })
    }

    pub fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        expr(ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    pub fn is_null(e: Expr) -> Expr {
        expr(ExprKind::IsNull {
            expr: Box::new(e),
            negated: false,
        })
    }

    pub fn call(name: &str, args: Vec<Expr>) -> Expr {
        expr(ExprKind::Call {
            name: Ident {
                name: name.to_owned(),
                span: Span::default(),
            },
            args,
        })
    }

    pub fn matching(e: Expr, op: MatchOp, pattern: Expr, escape: Option<&str>) -> Expr {
        expr(ExprKind::Match {
            expr: Box::new(e),
            op,
            pattern: Box::new(pattern),
            escape: escape.map(|x| Box::new(text(x))),
            negated: false,
        })
    }

    /// Two or more parts, each in parentheses; one as it is; none: FALSE
    /// for OR (nothing holds), TRUE for AND.
    pub fn join(parts: Vec<Expr>, op: LogicalOp) -> Expr {
        match parts.len() {
            0 => boolean(op == LogicalOp::And),
            1 => parts.into_iter().next().unwrap_or_else(|| boolean(true)),
            _ => expr(ExprKind::Logical {
                op,
                terms: parts.into_iter().map(nested).collect(),
            }),
        }
    }

    pub fn and(a: Expr, b: Expr) -> Expr {
        expr(ExprKind::Logical {
            op: LogicalOp::And,
            terms: vec![a, b],
        })
    }
}

use tree::{binary, call, field, int, is_null, join, matching, nested, not, text};

fn ident(name: &str, pos: Pos) -> Result<String, Error> {
    if name.contains('"') || name.is_empty() || name.chars().any(char::is_control) {
        return Err(Error::at(
            pos,
            format!("the field name `{name}` cannot be written in AQL"),
        ));
    }
    Ok(name.to_owned())
}

/// A LIKE pattern for pieces, with `%` around as asked. With `escaped`,
/// literal `%`, `_` and `\` are escaped with `\` (for `ESCAPE '\'`); without
/// (QRadar, whose LIKE has no escape), pieces must hold no literal `%` or `_`.
fn like(p: &[Piece], lead: bool, trail: bool, escaped: bool) -> String {
    let mut s = String::new();
    if lead {
        s.push('%');
    }
    for piece in p {
        match piece {
            Piece::Text(t) => {
                for c in t.chars() {
                    if escaped && matches!(c, '%' | '_' | '\\') {
                        s.push('\\');
                    }
                    s.push(c);
                }
            }
            Piece::Many => s.push('%'),
            Piece::One => s.push('_'),
        }
    }
    if trail && !s.ends_with('%') {
        s.push('%');
    }
    s
}

/// The whole-value regular expression of pieces.
fn regex_of(p: &[Piece], lead: bool, trail: bool) -> String {
    let mut s = String::from("(?s)");
    if lead {
        s.push_str(".*");
    }
    for piece in p {
        match piece {
            Piece::Text(t) => s.push_str(&regex::escape(t)),
            Piece::Many => s.push_str(".*"),
            Piece::One => s.push('.'),
        }
    }
    if trail {
        s.push_str(".*");
    }
    s
}

struct Ctx<'a> {
    source: &'a Source,
    /// Write only what IBM documents for QRadar: LIKE without ESCAPE (a
    /// value with a literal `%` or `_` becomes IMATCHES), IF instead of a
    /// searched CASE.
    qradar: bool,
}

impl Ctx<'_> {
    /// `x` as TRUE or FALSE, never NULL (for Sigma's two-valued NOT).
    fn definite(&self, x: Expr) -> Expr {
        let one_or_zero = if self.qradar {
            tree::expr(ExprKind::If {
                cond: Box::new(x),
                then: Box::new(int(1)),
                otherwise: Some(Box::new(int(0))),
            })
        } else {
            tree::expr(ExprKind::Case {
                operand: None,
                arms: vec![(x, int(1))],
                otherwise: Some(Box::new(int(0))),
            })
        };
        binary(BinaryOp::Eq, nested(one_or_zero), int(0))
    }

    /// The field as named, and the normalised field that holds the same value
    /// in other logs (Sysmon's `Image` is 4688's `NewProcessName` and 5156's
    /// `Application`, all "Process Name"), when there is one.
    fn names(&self, name: &str, pos: Pos) -> Result<(String, Option<String>), Error> {
        let mapped = self
            .source
            .fields
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(name))
            .map(|(_, p)| ident(p, pos))
            .transpose()?;
        Ok((ident(name, pos)?, mapped))
    }

    /// A field for a `fieldref`: the normalised one on the normalised side.
    fn field(&self, name: &str, pos: Pos, normalised: bool) -> Result<String, Error> {
        let (raw, mapped) = self.names(name, pos)?;
        Ok(match (normalised, mapped) {
            (true, Some(m)) => m,
            _ => raw,
        })
    }

    fn search(&self, name: &str, s: &Search, pos: Pos) -> Result<Expr, Error> {
        Ok(match s {
            Search::Map(ms) => self.all_of(ms)?,
            Search::AnyOf(maps) => {
                let parts = maps
                    .iter()
                    .map(|m| self.all_of(m))
                    .collect::<Result<Vec<_>, _>>()?;
                join(parts, LogicalOp::Or)
            }
            Search::Keywords(values) => {
                let parts = values
                    .iter()
                    .map(|v| keyword(v, name, pos))
                    .collect::<Result<Vec<_>, _>>()?;
                join(parts, LogicalOp::Or)
            }
        })
    }

    fn all_of(&self, ms: &[FieldMatch]) -> Result<Expr, Error> {
        let parts = ms
            .iter()
            .map(|m| self.field_match(m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(join(parts, LogicalOp::And))
    }

    fn field_match(&self, m: &FieldMatch) -> Result<Expr, Error> {
        use Modifier::*;
        let has = |x| m.modifiers.contains(&x);
        let glue = if has(All) {
            LogicalOp::And
        } else {
            LogicalOp::Or
        };
        let Some(name) = &m.field else {
            // `'|all': [...]`: every keyword.
            let parts = m
                .values
                .iter()
                .map(|v| keyword(v, "|all", m.pos))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(join(parts, glue));
        };
        let (raw, mapped) = self.names(name, m.pos)?;
        // Absence is tested on both: the event has neither field.
        let absent = || match &mapped {
            Some(n) => tree::and(is_null(field(&raw)), is_null(field(n))),
            None => is_null(field(&raw)),
        };
        if has(Exists) {
            return match m.values.as_slice() {
                [Node::Bool(true, _)] => Ok(self.definite(absent())),
                [Node::Bool(false, _)] => Ok(absent()),
                _ => Err(Error::at(m.pos, "`exists` takes true or false")),
            };
        }
        if m.values.iter().all(|v| matches!(v, Node::Null(_))) {
            return Ok(absent());
        }
        let build = |f: &str, normalised: bool| -> Result<Expr, Error> {
            // Whole integers with no modifier: a numeric test (the engine
            // compares numbers with numeric text, so "443" and 443 both match).
            if m.modifiers.is_empty() && m.values.iter().all(|v| matches!(v, Node::Int(..))) {
                let ns: Vec<i64> = m
                    .values
                    .iter()
                    .filter_map(|v| match v {
                        Node::Int(n, _) => Some(*n),
                        _ => None,
                    })
                    .collect();
                return Ok(match ns.as_slice() {
                    [one] => binary(BinaryOp::Eq, field(f), int(*one)),
                    many if has(All) => join(
                        many.iter()
                            .map(|n| binary(BinaryOp::Eq, field(f), int(*n)))
                            .collect(),
                        LogicalOp::And,
                    ),
                    many => tree::expr(ExprKind::InList {
                        expr: Box::new(field(f)),
                        list: many.iter().map(|n| int(*n)).collect(),
                        negated: false,
                    }),
                });
            }
            let mut parts = Vec::new();
            for v in &m.values {
                parts.push(self.value(m, f, v, normalised)?);
            }
            Ok(join(parts, glue))
        };
        // The field as the rule names it, where the event has it (Sysmon's own
        // names, tested exactly as Sigma means them); else the normalised one.
        let direct = build(&raw, false)?;
        Ok(match &mapped {
            None => direct,
            Some(n) => tree::expr(ExprKind::Logical {
                op: LogicalOp::Or,
                terms: vec![
                    nested(direct),
                    nested(tree::and(is_null(field(&raw)), nested(build(n, true)?))),
                ],
            }),
        })
    }

    fn value(&self, m: &FieldMatch, f: &str, v: &Node, normalised: bool) -> Result<Expr, Error> {
        use Modifier::*;
        let has = |x| m.modifiers.contains(&x);
        if let Node::Null(_) = v {
            return Ok(is_null(field(f)));
        }
        let raw = v
            .text()
            .ok_or_else(|| Error::at(v.pos(), format!("a value cannot be {}", v.kind())))?;
        let negate = |e: Expr| if has(Neq) { not(e) } else { e };
        if let Some(op) = [
            (Gt, BinaryOp::Gt),
            (Gte, BinaryOp::GtEq),
            (Lt, BinaryOp::Lt),
            (Lte, BinaryOp::LtEq),
        ]
        .iter()
        .find(|(x, _)| has(*x))
        .map(|(_, op)| *op)
        {
            let n: f64 = raw
                .trim()
                .parse()
                .map_err(|_| Error::at(v.pos(), format!("`{raw}` is not a number")))?;
            let number = if n.fract() == 0.0 {
                int(n as i64)
            } else {
                tree::float(n)
            };
            return Ok(binary(op, field(f), number));
        }
        if has(Cidr) {
            let ok = raw.split_once('/').is_some_and(|(ip, bits)| {
                ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok()
            });
            if !ok {
                return Err(Error::at(v.pos(), format!("`{raw}` is not a CIDR block")));
            }
            return Ok(call("INCIDR", vec![text(&raw), field(f)]));
        }
        if has(FieldRef) {
            let other = self.field(&raw, v.pos(), normalised)?;
            let (a, b) = if has(Cased) {
                (field(f), field(&other))
            } else {
                (
                    call("LOWER", vec![field(f)]),
                    call("LOWER", vec![field(&other)]),
                )
            };
            let e = if has(Contains) {
                binary(BinaryOp::GtEq, call("STRPOS", vec![a, b]), int(0))
            } else if has(StartsWith) {
                binary(BinaryOp::Eq, call("STRPOS", vec![a, b]), int(0))
            } else if has(EndsWith) {
                matching(a, MatchOp::Like, call("CONCAT", vec![text("%"), b]), None)
            } else {
                binary(BinaryOp::Eq, a, b)
            };
            return Ok(negate(e));
        }
        if has(Re) {
            let flags: String = [(ReM, 'm'), (ReS, 's')]
                .iter()
                .filter(|(x, _)| has(*x))
                .map(|(_, c)| *c)
                .collect();
            if let Err(e) = regex::RegexBuilder::new(&raw)
                .size_limit(crate::REGEX_SIZE_LIMIT)
                .build()
            {
                let first = e.to_string().lines().last().unwrap_or("").trim().to_owned();
                return Err(Error::at(
                    v.pos(),
                    format!("the regular expression does not compile: {first}"),
                ));
            }
            // Sigma's `re` finds the expression anywhere; AQL's MATCHES must match it all.
            let inner = if flags.is_empty() {
                format!("(?:{raw})")
            } else {
                format!("(?{flags}:{raw})")
            };
            let op = if has(ReI) {
                MatchOp::IMatches
            } else {
                MatchOp::Matches
            };
            let pattern = text(&format!("(?s:.*){inner}(?s:.*)"));
            return Ok(negate(matching(field(f), op, pattern, None)));
        }
        // Values in Sigma's string form, then its transformations.
        let mut texts: Vec<String> = if has(Windash) {
            windash(&raw)
        } else {
            vec![raw.clone()]
        };
        let encoding = [Utf16Le, Utf16Be, Utf16].into_iter().find(|x| has(*x));
        if has(Base64) || has(Base64Offset) {
            let mut encoded = Vec::new();
            for t in &texts {
                let literal = plain(&pieces(t)).ok_or_else(|| {
                    Error::at(v.pos(), "a value with wildcards cannot be base64-encoded")
                })?;
                if literal.is_empty() {
                    return Err(Error::at(
                        v.pos(),
                        "an empty value cannot be base64-encoded",
                    ));
                }
                let bytes = match encoding {
                    Some(e) => utf16(&literal, e),
                    None => literal.into_bytes(),
                };
                if has(Base64) {
                    encoded.push(base64(&bytes));
                } else {
                    encoded.extend(base64_offsets(&bytes).into_iter().filter(|s| !s.is_empty()));
                }
            }
            // Encoded text is matched as it is: escape its wildcards.
            texts = encoded
                .into_iter()
                .map(|e| {
                    e.replace('\\', "\\\\")
                        .replace('*', "\\*")
                        .replace('?', "\\?")
                })
                .collect();
        }
        let op = if has(Cased) {
            MatchOp::Like
        } else {
            MatchOp::ILike
        };
        let (lead, trail) = (
            has(Contains) || has(EndsWith),
            has(Contains) || has(StartsWith),
        );
        let parts: Vec<Expr> = texts
            .iter()
            .map(|t| {
                let p = pieces(t);
                let literal_wildcard = p
                    .iter()
                    .any(|x| matches!(x, Piece::Text(t) if t.contains(['%', '_'])));
                let e = match (self.qradar, literal_wildcard) {
                    (false, _) => {
                        matching(field(f), op, text(&like(&p, lead, trail, true)), Some("\\"))
                    }
                    // QRadar's LIKE has no escape: a backslash is itself.
                    (true, false) => {
                        matching(field(f), op, text(&like(&p, lead, trail, false)), None)
                    }
                    (true, true) => {
                        let m = if has(Cased) {
                            MatchOp::Matches
                        } else {
                            MatchOp::IMatches
                        };
                        matching(field(f), m, text(&regex_of(&p, lead, trail)), None)
                    }
                };
                negate(e)
            })
            .collect();
        let glue = if has(Neq) {
            LogicalOp::And
        } else {
            LogicalOp::Or
        };
        Ok(join(parts, glue))
    }

    fn condition(&self, det: &Detection, c: &Cond, pos: Pos) -> Result<Expr, Error> {
        let at = |offset: usize| Pos {
            line: pos.line,
            col: pos.col + offset,
        };
        let find = |name: &str, offset: usize| -> Result<Expr, Error> {
            let (n, p, s) = det
                .searches
                .iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(|| {
                    Error::at(
                        at(offset),
                        format!(
                            "the condition names `{name}`, which the detection does not define"
                        ),
                    )
                })?;
            self.search(n, s, *p).map(nested)
        };
        let matching = |pattern: &str, offset: usize| -> Result<Vec<Expr>, Error> {
            let names: Vec<&String> = det
                .searches
                .iter()
                .map(|(n, _, _)| n)
                .filter(|n| {
                    if pattern == "them" {
                        !n.starts_with('_')
                    } else {
                        glob(pattern, n)
                    }
                })
                .collect();
            if names.is_empty() {
                return Err(Error::at(
                    at(offset),
                    format!("`{pattern}` matches no search identifier"),
                ));
            }
            names.iter().map(|n| find(n, offset)).collect()
        };
        Ok(match c {
            Cond::Name(n, o) => find(n, *o)?,
            // Sigma is two-valued: a search on a field the event lacks is
            // false, so `not` of it is true. AQL's NOT of NULL is NULL, so
            // the operand is first made TRUE or FALSE.
            Cond::Not(x) => self.definite(self.condition(det, x, pos)?),
            Cond::And(xs) => join(
                xs.iter()
                    .map(|x| self.condition(det, x, pos))
                    .collect::<Result<_, _>>()?,
                LogicalOp::And,
            ),
            Cond::Or(xs) => join(
                xs.iter()
                    .map(|x| self.condition(det, x, pos))
                    .collect::<Result<_, _>>()?,
                LogicalOp::Or,
            ),
            Cond::AnyOf(p, o) => join(matching(p, *o)?, LogicalOp::Or),
            Cond::AllOf(p, o) => join(matching(p, *o)?, LogicalOp::And),
        })
    }

    fn detection(&self, det: &Detection) -> Result<Expr, Error> {
        let mut parts = Vec::new();
        for (text, pos) in &det.conditions {
            let c = condition::parse(text).map_err(|e| {
                Error::at(
                    Pos {
                        line: pos.line,
                        col: pos.col + e.at,
                    },
                    format!("condition: {}", e.message),
                )
            })?;
            parts.push(self.condition(det, &c, *pos)?);
        }
        Ok(join(parts, LogicalOp::Or))
    }
}

fn keyword(v: &Node, name: &str, pos: Pos) -> Result<Expr, Error> {
    let raw = v.text().ok_or_else(|| {
        Error::at(
            v.pos(),
            format!("a keyword of `{name}` cannot be {}", v.kind()),
        )
    })?;
    let literal: String = pieces(&raw)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            _ => " ".into(),
        })
        .collect();
    if literal.trim().is_empty() {
        return Err(Error::at(
            pos,
            format!("the keyword `{raw}` has no text to search for"),
        ));
    }
    Ok(tree::expr(ExprKind::TextSearch {
        terms: literal.trim().to_owned(),
        with_eq: false,
    }))
}

/// The AQL query of `rule`, with its log source's conditions and filters.
pub fn to_aql(rule: &SigmaRule) -> Result<Compiled, Error> {
    compile(rule, false)
}

/// [`to_aql`] in what IBM documents for QRadar: no ESCAPE clauses, IF
/// instead of a searched CASE.
pub fn to_qradar_aql(rule: &SigmaRule) -> Result<Compiled, Error> {
    compile(rule, true)
}

fn compile(rule: &SigmaRule, qradar: bool) -> Result<Compiled, Error> {
    let ls = &rule.logsource;
    let source = logsource::map(
        ls.product.as_deref(),
        ls.category.as_deref(),
        ls.service.as_deref(),
    )
    .map_err(|e| match e {
        logsource::Unmapped::Inert(m) => Error::inert(rule.pos, format!("logsource: {m}")),
        logsource::Unmapped::Invalid(m) => Error::at(rule.pos, format!("logsource: {m}")),
    })?;
    let cx = Ctx {
        source: &source,
        qradar,
    };
    let mut wheres = Vec::new();
    if let Some(c) = &source.condition {
        // The log source's conditions are a table of AQL written with the
        // mapping (logsource.rs): parsed, they join the tree.
        // (Its spans are places in that text, which no error points at: the
        // mapping's conditions always compile.)
        let e = portent_aql::parse_expr(c)
            .map_err(|_| Error::at(rule.pos, format!("logsource: cannot read `{c}`")))?;
        wheres.push(e);
    }
    wheres.push(cx.detection(&rule.detection)?);
    for (_, det) in &rule.filters {
        wheres.push(cx.detection(det)?);
    }
    let mut columns = vec![SelectItem::Expr {
        expr: call(
            "DATEFORMAT",
            vec![tree::bare("starttime"), text("yyyy-MM-dd HH:mm:ss")],
        ),
        alias: Some(Alias {
            name: "event_time".into(),
            quote: Quote::Bare,
            span: Span::default(),
        }),
    }];
    let mut seen: Vec<String> = Vec::new();
    let named = rule
        .detection
        .searches
        .iter()
        .flat_map(|(_, _, s)| match s {
            Search::Map(m) => m.iter().collect::<Vec<_>>(),
            Search::AnyOf(ms) => ms.iter().flatten().collect(),
            Search::Keywords(_) => Vec::new(),
        })
        .filter_map(|m| m.field.clone())
        .chain(rule.fields.iter().cloned());
    for name in named {
        let f = cx.field(&name, rule.pos, true)?;
        if !seen.contains(&f) && seen.len() < 12 {
            columns.push(SelectItem::Expr {
                expr: field(&f),
                alias: None,
            });
            seen.push(f);
        }
    }
    let filter = match wheres.len() {
        1 => wheres.into_iter().map(nested).next(),
        _ => Some(tree::expr(ExprKind::Logical {
            op: LogicalOp::And,
            terms: wheres.into_iter().map(nested).collect(),
        })),
    };
    let query = ast::Query {
        select: columns,
        from: ast::From {
            table: TableName::Events,
            span: Span::default(),
        },
        into: None,
        filter,
        group_by: Vec::new(),
        having: None,
        order_by: vec![OrderItem {
            expr: tree::bare("starttime"),
            descending: true,
            explicit: true,
            collate: None,
        }],
        limit: None,
        time: None,
        parameters: Vec::new(),
        span: Span::default(),
    };
    Ok(Compiled {
        query,
        source: source.description,
        dispatch: source.dispatch,
        fields: source.fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::load;

    fn aql(yaml: &str) -> Result<String, Error> {
        let l = load(yaml, "t.yml");
        if let Some(r) = l.rejected.first() {
            return Err(r.error.clone());
        }
        to_aql(&l.rules[0]).map(|c| c.aql())
    }

    const HEAD: &str = "title: T\nlogsource: {product: windows, category: process_creation}\n";

    #[test]
    fn modifiers_become_aql() {
        let q = aql(&format!("{HEAD}detection:\n  s:\n    Image|endswith: '\\certutil.exe'\n    CommandLine|contains|all: ['urlcache', ' -f ']\n  condition: s\n")).unwrap();
        // Sysmon's own field first; where the event lacks it, the normalised one.
        assert!(q.contains("((\"Image\" ILIKE '%\\\\certutil.exe' ESCAPE '\\') OR (\"Image\" IS NULL AND (\"Process Name\" ILIKE '%\\\\certutil.exe' ESCAPE '\\')))"), "{q}");
        assert!(q.contains("(\"CommandLine\" ILIKE '%urlcache%' ESCAPE '\\') AND (\"CommandLine\" ILIKE '% -f %' ESCAPE '\\')"), "{q}");
        let q = aql(&format!("{HEAD}detection:\n  s:\n    DestinationIp|cidr: ['10.0.0.0/8']\n    DestinationPort: [80, 443]\n    Initiated: 'true'\n  condition: s\n")).unwrap();
        assert!(
            q.contains("INCIDR('10.0.0.0/8', \"DestinationIp\")")
                && q.contains("INCIDR('10.0.0.0/8', \"destinationip\")"),
            "{q}"
        );
        assert!(q.contains("\"DestinationPort\" IN (80, 443)"), "{q}");
        assert!(q.contains("\"Initiated\" ILIKE 'true'"), "{q}");
        let q = aql(&format!(
            "{HEAD}detection:\n  s:\n    CommandLine|windash|contains: ' -f '\n  condition: s\n"
        ))
        .unwrap();
        assert_eq!(q.matches("\"CommandLine\" ILIKE").count(), 5, "{q}");
        let q = aql(&format!("{HEAD}detection:\n  s:\n    CommandLine|re|i: 'a.b'\n    x|base64offset|contains: 'ping'\n    y|gte: 10\n    z|exists: false\n  condition: s\n")).unwrap();
        assert!(q.contains("IMATCHES '(?s:.*)(?:a.b)(?s:.*)'"), "{q}");
        assert!(
            q.contains("'%cGluZ%'") && q.contains("'%Bpbm%'") && q.contains("'%waW5n%'"),
            "{q}"
        );
        assert!(
            q.contains("\"y\" >= 10") && q.contains("\"z\" IS NULL"),
            "{q}"
        );
    }

    #[test]
    fn conditions_resolve_names_and_patterns() {
        let q = aql(&format!("{HEAD}detection:\n  sel: {{Image: a}}\n  filter_a: {{User: b}}\n  filter_b: {{User: c}}\n  condition: sel and not 1 of filter_*\n")).unwrap();
        assert!(q.contains("AND ((CASE WHEN (((\"User\" ILIKE 'b'"), "{q}");
        assert!(q.contains("THEN 1 ELSE 0 END) = 0"), "{q}");
        let e = aql(&format!(
            "{HEAD}detection:\n  sel: {{Image: a}}\n  condition: sel and selection2\n"
        ))
        .unwrap_err();
        assert_eq!((e.pos.line, e.pos.col), (5, 22), "{e}");
        assert!(e.message.contains("`selection2`"), "{e}");
        let e = aql(&format!("{HEAD}detection:\n  sel: {{Image: '(x'}}\n  s2:\n    Image|re: '(x'\n  condition: sel or s2\n")).unwrap_err();
        assert!(e.message.contains("does not compile"), "{e}");
    }
}
