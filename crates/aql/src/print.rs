//! Printing the AST back to AQL. Output parses to the same AST (spans aside):
//! parentheses are added wherever precedence would otherwise regroup operands.

use crate::ast::*;
use std::fmt::{self, Display, Formatter, Write};

/// `{query}` prints one line; `{query:#}` puts each clause on a line of its
/// own and the terms of a top-level AND one per line, for people to read.
impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let clause = if f.alternate() { "\n" } else { " " };
        f.write_str("SELECT ")?;
        comma_separated(f, &self.select)?;
        let table = match self.from.table {
            TableName::Events => "events",
            TableName::Flows => "flows",
        };
        write!(f, "{clause}FROM {table}")?;
        if let Some(into) = &self.into {
            write!(f, " INTO {}", name(&into.name))?;
        }
        if let Some(w) = &self.filter {
            write!(f, "{clause}WHERE ")?;
            match &w.kind {
                ExprKind::Logical {
                    op: LogicalOp::And,
                    terms,
                } if f.alternate() => {
                    let p = LogicalOp::And.precedence();
                    for (i, t) in terms.iter().enumerate() {
                        if i > 0 {
                            f.write_str("\n  AND ")?;
                        }
                        write!(f, "{}", above(t, p))?;
                    }
                }
                _ => write!(f, "{w}")?,
            }
        }
        if !self.group_by.is_empty() {
            write!(f, "{clause}GROUP BY ")?;
            comma_separated(f, &self.group_by)?;
        }
        if let Some(h) = &self.having {
            write!(f, "{clause}HAVING {h}")?;
        }
        if !self.order_by.is_empty() {
            write!(f, "{clause}ORDER BY ")?;
            comma_separated(f, &self.order_by)?;
        }
        if let Some(l) = &self.limit {
            write!(f, "{clause}LIMIT {}", l.value)?;
        }
        if let Some(t) = &self.time {
            write!(f, " {t}")?;
        }
        if !self.parameters.is_empty() {
            f.write_str(" PARAMETERS ")?;
            for (i, p) in self.parameters.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}={}", name(&p.name.name), p.value)?;
            }
        }
        Ok(())
    }
}

fn comma_separated<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// A name, bare when it lexes back as one plain non-keyword word, else quoted.
fn name(n: &str) -> String {
    let mut chars = n.chars();
    let bare = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && n.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && crate::token::Keyword::lookup(n).is_none();
    if bare {
        n.to_owned()
    } else {
        quoted(n, '"')
    }
}

fn quoted(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard(_) => f.write_str("*"),
            SelectItem::Expr { expr, alias } => {
                write!(f, "{expr}")?;
                if let Some(a) = alias {
                    write!(f, " AS {a}")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for Alias {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.quote {
            Quote::Bare if name(&self.name) == self.name => f.write_str(&self.name),
            Quote::Single => f.write_str(&quoted(&self.name, '\'')),
            _ => f.write_str(&quoted(&self.name, '"')),
        }
    }
}

impl Display for OrderItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if self.explicit || self.descending {
            f.write_str(if self.descending { " DESC" } else { " ASC" })?;
        }
        if let Some(c) = &self.collate {
            write!(f, " COLLATE {}", quoted(c, '\''))?;
        }
        Ok(())
    }
}

impl Display for TimeClause {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TimeClause::Last { count, unit, .. } => write!(f, "LAST {count} {}", unit.as_str()),
            TimeClause::Range { start, stop, .. } => {
                write!(f, "START {start}")?;
                if let Some(s) = stop {
                    write!(f, " STOP {s}")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for TimeBound {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            TimeBoundKind::Text(s) => f.write_str(&quoted(s, '\'')),
            TimeBoundKind::Epoch(ms) => write!(f, "{ms}"),
            TimeBoundKind::ParseDateTime(s) => write!(f, "PARSEDATETIME({})", quoted(s, '\'')),
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => f.write_str(&quoted(s, '\'')),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Hex(i) => write!(f, "0x{:x}", *i as u64),
            Literal::Float(x) => write!(f, "{x:?}"),
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
            Literal::Null => f.write_str("NULL"),
        }
    }
}

/// Binding power of an expression as an operand.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Logical { op, .. } => op.precedence(),
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => PREC_NOT,
        ExprKind::Unary { .. } => PREC_UNARY,
        ExprKind::InList { .. }
        | ExprKind::Between { .. }
        | ExprKind::Match { .. }
        | ExprKind::IsNull { .. } => PREC_COMPARE,
        // `IF ... ELSE x` swallows whatever follows, so it is always wrapped as an operand.
        ExprKind::If { .. } => 0,
        _ => u8::MAX,
    }
}

struct Operand<'a> {
    expr: &'a Expr,
    parens: bool,
}

impl Display for Operand<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.parens {
            write!(f, "({})", self.expr)
        } else {
            write!(f, "{}", self.expr)
        }
    }
}

/// An operand that must bind at least as tightly as `min`.
fn at_least(expr: &Expr, min: u8) -> Operand<'_> {
    Operand {
        expr,
        parens: precedence(expr) < min,
    }
}

/// An operand that must bind more tightly than `min`.
fn above(expr: &Expr, min: u8) -> Operand<'_> {
    Operand {
        expr,
        parens: precedence(expr) <= min,
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Field { name: n, quoted: q } => {
                if *q {
                    f.write_str(&quoted(n, '"'))
                } else {
                    f.write_str(&name(n))
                }
            }
            ExprKind::Literal(l) => write!(f, "{l}"),
            ExprKind::Interval { count, unit } => write!(f, "{count} {}", unit.as_str()),
            ExprKind::Unary { op, expr } => match op {
                UnaryOp::Not => write!(f, "NOT {}", at_least(expr, PREC_NOT)),
                UnaryOp::Neg | UnaryOp::Plus => {
                    let sign = if *op == UnaryOp::Neg { '-' } else { '+' };
                    let inner = at_least(expr, PREC_UNARY).to_string();
                    // `- -1` must not become the comment `--1`.
                    let sep = if inner.starts_with(['-', '+']) {
                        " "
                    } else {
                        ""
                    };
                    write!(f, "{sign}{sep}{inner}")
                }
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let p = op.precedence();
                write!(f, "{} {} {}", at_least(lhs, p), op.as_str(), above(rhs, p))
            }
            ExprKind::Logical { op, terms } => {
                let p = op.precedence();
                for (i, t) in terms.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {} ", op.as_str())?;
                    }
                    // Any term of the same operator must keep its parentheses,
                    // or it would merge into this chain when parsed again.
                    write!(f, "{}", above(t, p))?;
                }
                Ok(())
            }
            ExprKind::InList {
                expr,
                list,
                negated,
            } => {
                write!(f, "{} {}IN (", at_least(expr, PREC_COMPARE), not(*negated))?;
                comma_separated(f, list)?;
                f.write_char(')')
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => write!(
                f,
                "{} {}BETWEEN {} AND {}",
                at_least(expr, PREC_COMPARE),
                not(*negated),
                above(low, PREC_COMPARE),
                above(high, PREC_COMPARE)
            ),
            ExprKind::Match {
                expr,
                op,
                pattern,
                escape,
                negated,
            } => {
                write!(
                    f,
                    "{} {}{} {}",
                    at_least(expr, PREC_COMPARE),
                    not(*negated),
                    op.as_str(),
                    above(pattern, PREC_COMPARE)
                )?;
                if let Some(e) = escape {
                    write!(f, " ESCAPE {}", above(e, PREC_COMPARE))?;
                }
                Ok(())
            }
            ExprKind::IsNull { expr, negated } => {
                write!(
                    f,
                    "{} IS {}NULL",
                    at_least(expr, PREC_COMPARE),
                    not(*negated)
                )
            }
            ExprKind::TextSearch { terms, with_eq } => {
                let eq = if *with_eq { "= " } else { "" };
                write!(f, "TEXT SEARCH {eq}{}", quoted(terms, '\''))
            }
            ExprKind::Call { name: n, args } => {
                // Function names print as written: `LAST(x)` is the aggregate, not the clause.
                write!(f, "{}(", n.name)?;
                comma_separated(f, args)?;
                f.write_char(')')
            }
            ExprKind::Star => f.write_char('*'),
            ExprKind::Case {
                operand,
                arms,
                otherwise,
            } => {
                f.write_str("CASE")?;
                if let Some(o) = operand {
                    write!(f, " {o}")?;
                }
                for (w, t) in arms {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(o) = otherwise {
                    write!(f, " ELSE {o}")?;
                }
                f.write_str(" END")
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                write!(
                    f,
                    "IF {cond} THEN {}",
                    Operand {
                        expr: then,
                        parens: precedence(then) == 0
                    }
                )?;
                if let Some(o) = otherwise {
                    write!(f, " ELSE {o}")?;
                }
                Ok(())
            }
            ExprKind::Nested(inner) => write!(f, "({inner})"),
        }
    }
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}
