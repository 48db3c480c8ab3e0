//! The reference evaluator: a plain walk over the AST with no planning, no
//! literal fast paths and no shared automata. Tests run it against the planned
//! evaluator; it is not meant to be fast.

use crate::eval::{arith, text_search};
use crate::functions::{self, Callable, Func};
use crate::ir::{ArithOp, Cidr, CmpOp};
use crate::similar::{to_regex, Dialect, Escape};
use crate::zone::Zone;
use portent_aql::ast::{BinaryOp, Expr, ExprKind, Literal, LogicalOp, MatchOp, UnaryOp};
use portent_core::schema::ids;
use portent_core::{Catalog, Event, Schema, Value};
use std::cmp::Ordering;

/// Context of a reference evaluation.
pub struct Reference<'a> {
    /// Names to ids.
    pub schema: &'a Schema,
    /// Lookup tables.
    pub catalog: &'a Catalog,
    /// NOW().
    pub now: i64,
    /// Zone for DATEFORMAT.
    pub zone: Zone,
    /// Reference sets, maps and tables.
    pub refdata: &'a crate::refdata::ReferenceData,
}

impl Reference<'_> {
    /// The truth of a condition: `Some(bool)` or `None` for unknown.
    pub fn truth<E: Event>(&self, e: &Expr, ev: &E) -> Option<bool> {
        self.eval(e, ev).to_bool()
    }

    /// The value of `e` for `ev`.
    pub fn eval<E: Event>(&self, e: &Expr, ev: &E) -> Value<'static> {
        let b = |x: Option<bool>| x.map_or(Value::Null, Value::Bool);
        match &e.kind {
            ExprKind::Field { name, .. } => match self.schema.resolve(name) {
                Some(id) => ev.get(id).into_owned(),
                None => Value::Null,
            },
            ExprKind::Literal(l) => match l {
                Literal::Str(s) => Value::string(s.clone()),
                Literal::Int(i) | Literal::Hex(i) => Value::Int(*i),
                Literal::Float(f) => Value::Float(*f),
                Literal::Bool(v) => Value::Bool(*v),
                Literal::Null => Value::Null,
            },
            ExprKind::Interval { count, unit } => Value::Int(count * unit.millis()),
            ExprKind::Nested(x) => self.eval(x, ev),
            ExprKind::Unary {
                op: UnaryOp::Not,
                expr,
            } => b(self.truth(expr, ev).map(|v| !v)),
            ExprKind::Unary {
                op: UnaryOp::Neg,
                expr,
            } => arith(ArithOp::Sub, &Value::Int(0), &self.eval(expr, ev)),
            ExprKind::Unary {
                op: UnaryOp::Plus,
                expr,
            } => self.eval(expr, ev),
            ExprKind::Logical { op, terms } => {
                // Kleene logic, evaluated left to right with no reordering.
                let vals: Vec<Option<bool>> = terms.iter().map(|t| self.truth(t, ev)).collect();
                let (dominant, other) = match op {
                    LogicalOp::And => (false, true),
                    LogicalOp::Or => (true, false),
                };
                if vals.contains(&Some(dominant)) {
                    Value::Bool(dominant)
                } else if vals.contains(&None) {
                    Value::Null
                } else {
                    Value::Bool(other)
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.eval(lhs, ev), self.eval(rhs, ev));
                let cmp = |c: CmpOp| b(l.compare(&r).map(|o| c.test(o)));
                match op {
                    BinaryOp::Eq | BinaryOp::EqEq => cmp(CmpOp::Eq),
                    BinaryOp::NotEq | BinaryOp::LtGt => cmp(CmpOp::Ne),
                    BinaryOp::Lt => cmp(CmpOp::Lt),
                    BinaryOp::LtEq => cmp(CmpOp::Le),
                    BinaryOp::Gt => cmp(CmpOp::Gt),
                    BinaryOp::GtEq => cmp(CmpOp::Ge),
                    BinaryOp::Add => arith(ArithOp::Add, &l, &r),
                    BinaryOp::Sub => arith(ArithOp::Sub, &l, &r),
                    BinaryOp::Mul => arith(ArithOp::Mul, &l, &r),
                    BinaryOp::Div => arith(ArithOp::Div, &l, &r),
                    BinaryOp::Mod => arith(ArithOp::Mod, &l, &r),
                    BinaryOp::Pow => arith(ArithOp::Pow, &l, &r),
                    BinaryOp::BitAnd => arith(ArithOp::BitAnd, &l, &r),
                }
            }
            ExprKind::InList {
                expr,
                list,
                negated,
            } => {
                let v = self.eval(expr, ev);
                if v.is_null() {
                    return Value::Null;
                }
                let mut unknown = false;
                for item in list {
                    match v.compare(&self.eval(item, ev)) {
                        Some(Ordering::Equal) => return Value::Bool(!negated),
                        None => unknown = true,
                        _ => {}
                    }
                }
                if unknown {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = self.eval(expr, ev);
                let ge = v.compare(&self.eval(low, ev)).map(|o| o != Ordering::Less);
                let le = v
                    .compare(&self.eval(high, ev))
                    .map(|o| o != Ordering::Greater);
                let both = match (ge, le) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                };
                b(both.map(|x| x != *negated))
            }
            ExprKind::Match {
                expr,
                op,
                pattern,
                escape,
                negated,
            } => {
                let esc = match escape.as_ref().map(|x| self.eval(x, ev)) {
                    None => Escape::Default,
                    Some(v) => match v.to_text().as_deref() {
                        Some("") => Escape::Disabled,
                        Some(s) => Escape::Char(s.chars().next().unwrap_or('\\')),
                        None => return Value::Null,
                    },
                };
                let (v, p) = (self.eval(expr, ev), self.eval(pattern, ev));
                let (Some(text), Some(pat)) = (v.to_text(), p.to_text()) else {
                    return Value::Null;
                };
                // Written apart from the lowering's table on purpose: a
                // mistake there must show up as a difference here.
                let (dialect, ci) = match op {
                    MatchOp::Like => (Dialect::Like, false),
                    MatchOp::ILike => (Dialect::Like, true),
                    MatchOp::SimilarTo => (Dialect::Similar, false),
                    MatchOp::Matches => (Dialect::Regex, false),
                    MatchOp::IMatches => (Dialect::Regex, true),
                };
                let Ok(src) = to_regex(&pat, dialect, esc, ci) else {
                    return Value::Null;
                };
                let Ok(re) = regex::Regex::new(&src) else {
                    return Value::Null;
                };
                Value::Bool(re.is_match(&text) != *negated)
            }
            ExprKind::IsNull { expr, negated } => {
                Value::Bool(self.eval(expr, ev).is_null() != *negated)
            }
            ExprKind::TextSearch { terms, .. } => {
                let terms: Vec<String> = terms.split_whitespace().map(str::to_lowercase).collect();
                Value::Bool(text_search(&terms, ev))
            }
            ExprKind::Call { name, args } => self.call(&name.name, args, ev),
            ExprKind::Star => Value::Null,
            ExprKind::Case {
                operand,
                arms,
                otherwise,
            } => {
                let subject = operand.as_ref().map(|o| self.eval(o, ev));
                for (w, t) in arms {
                    let hit = match &subject {
                        Some(s) => s.compare(&self.eval(w, ev)) == Some(Ordering::Equal),
                        None => self.truth(w, ev) == Some(true),
                    };
                    if hit {
                        return self.eval(t, ev);
                    }
                }
                otherwise.as_ref().map_or(Value::Null, |o| self.eval(o, ev))
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.truth(cond, ev) == Some(true) {
                    self.eval(then, ev)
                } else {
                    otherwise.as_ref().map_or(Value::Null, |o| self.eval(o, ev))
                }
            }
        }
    }

    fn call<E: Event>(&self, name: &str, args: &[Expr], ev: &E) -> Value<'static> {
        let Some(Callable::Scalar(f, _, _)) = functions::lookup(name) else {
            return Value::Null;
        };
        let mut vals: Vec<Value<'static>> = args.iter().map(|a| self.eval(a, ev)).collect();
        match f {
            Func::Now => Value::Int(self.now),
            f if f.reads_reference_data() => {
                crate::eval::reference_call(self.refdata, f, &vals, self.now)
            }
            Func::DateFormat => {
                let zone = match vals.get(2).and_then(|z| z.to_text()) {
                    Some(z) => Zone::parse(&z).unwrap_or(self.zone),
                    None => self.zone,
                };
                match (vals[0].to_i64(), vals[1].to_text()) {
                    (Some(ms), Some(p)) => crate::dateformat::DatePattern::compile(&p)
                        .ok()
                        .and_then(|p| p.format(ms, &zone))
                        .map_or(Value::Null, Value::string),
                    _ => Value::Null,
                }
            }
            Func::InCidr => match (vals[0].to_text().map(|t| Cidr::parse(&t)), vals[1].to_ip()) {
                (Some(Ok(c)), Some(ip)) => Value::Bool(c.contains(ip)),
                _ => Value::Null,
            },
            Func::ParseDateTime => vals[0]
                .to_text()
                .and_then(|t| crate::time::parse_reference(&t, self.now, &self.zone).ok())
                .map_or(Value::Null, Value::Int),
            Func::LogSourceName => {
                let v = functions::call_scalar(f, &mut vals, self.catalog).into_owned();
                let is_field = matches!(&args[0].unnested().kind, ExprKind::Field { name, .. } if self.schema.resolve(name) == Some(ids::LOGSOURCEID));
                if v.is_null() && is_field {
                    ev.get(ids::LOGSOURCENAME).into_owned()
                } else {
                    v
                }
            }
            _ => functions::call_scalar(f, &mut vals, self.catalog).into_owned(),
        }
    }
}
