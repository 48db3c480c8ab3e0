//! The lowered form queries run as: fields resolved to ids, functions resolved
//! to enums, patterns compiled, syntax sugar gone. AQL (and later Sigma) lower
//! into this one IR.

use crate::dateformat::DatePattern;
use crate::functions::{Agg, Func};
use crate::zone::Zone;
use portent_core::schema::ids;
use portent_core::{FieldId, Value};
use std::net::IpAddr;

/// A lowered expression. Boolean nodes evaluate to TRUE, FALSE or NULL.
#[derive(Clone, Debug, PartialEq)]
pub enum Ir {
    /// A constant.
    Const(Value<'static>),
    /// A field of the event.
    Field(FieldId),
    /// NOW(): the run's clock.
    Now,
    /// NOT x (NULL stays NULL).
    Not(Box<Ir>),
    /// x AND y AND ... (three-valued).
    And(Vec<Ir>),
    /// x OR y OR ... (three-valued).
    Or(Vec<Ir>),
    /// A comparison with AQL's coercions.
    Cmp(CmpOp, Box<Ir>, Box<Ir>),
    /// `x IN (...)` over constants only, integers first for a binary search.
    InConsts {
        /// Tested value.
        expr: Box<Ir>,
        /// Sorted integer constants.
        ints: Vec<i64>,
        /// The other constants.
        others: Vec<Value<'static>>,
        /// NOT IN.
        negated: bool,
    },
    /// `x IN (...)` with computed items.
    In {
        /// Tested value.
        expr: Box<Ir>,
        /// Items.
        list: Vec<Ir>,
        /// NOT IN.
        negated: bool,
    },
    /// A compiled pattern match.
    Match {
        /// The input string.
        input: Box<Ir>,
        /// Index into the plan's patterns.
        pattern: usize,
        /// NOT LIKE / NOT SIMILAR TO ...
        negated: bool,
        /// The input is the argument of a `LOWER()` folded into the match:
        /// ASCII inputs match case-insensitively, others are lower-cased first.
        lowered: bool,
        /// Set by the planner: the shared automaton group and bit.
        group: Option<(usize, u32)>,
    },
    /// A match whose pattern is computed per event.
    DynMatch {
        /// The input string.
        input: Box<Ir>,
        /// The pattern expression.
        pattern: Box<Ir>,
        /// The pattern language.
        dialect: crate::similar::Dialect,
        /// ILIKE, IMATCHES: without case.
        case_insensitive: bool,
        /// Escape character.
        escape: crate::similar::Escape,
        /// NOT form.
        negated: bool,
    },
    /// x IS [NOT] NULL.
    IsNull(Box<Ir>, bool),
    /// TEXT SEARCH: every term occurs, case-insensitively, in the payload (or
    /// in any text field when the event has no payload).
    TextSearch(Vec<String>),
    /// Arithmetic.
    Arith(ArithOp, Box<Ir>, Box<Ir>),
    /// Unary minus.
    Neg(Box<Ir>),
    /// A scalar function.
    Call(Func, Vec<Ir>),
    /// DATEFORMAT with a compiled pattern.
    DateFormat(Box<Ir>, DatePattern, Zone),
    /// INCIDR with a parsed network.
    InCidr(Cidr, Box<Ir>),
    /// CASE (searched when `operand` is None) and IF.
    Case {
        /// Simple-CASE operand.
        operand: Option<Box<Ir>>,
        /// WHEN/THEN arms.
        arms: Vec<(Ir, Ir)>,
        /// ELSE (NULL when absent).
        otherwise: Box<Ir>,
    },
    /// An aggregate result (after GROUP BY).
    AggRef(usize),
    /// A GROUP BY key value (after GROUP BY).
    KeyRef(usize),
    /// A SELECT column value (HAVING / ORDER BY on an alias).
    Column(usize),
}

/// The table a query reads: its events, or only flow records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `FROM events`
    Events,
    /// `FROM flows`
    Flows,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `=` / `==`
    Eq,
    /// `!=` / `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// Applies the operator to an ordering.
    pub fn test(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => o == Equal,
            CmpOp::Ne => o != Equal,
            CmpOp::Lt => o == Less,
            CmpOp::Le => o != Greater,
            CmpOp::Gt => o == Greater,
            CmpOp::Ge => o != Less,
        }
    }

    /// The operator with its operands swapped.
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    /// Text.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (integer division truncates, as Java's long division)
    Div,
    /// `%`
    Mod,
    /// `^` (power, a double)
    Pow,
    /// `&` (bitwise and on integers)
    BitAnd,
}

/// An IP network for INCIDR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::/n` or a bare address.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, p) = s
            .trim()
            .split_once('/')
            .map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = portent_core::value::parse_ip(a)
            .ok_or_else(|| format!("`{a}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    format!(
                        "`/{p}` is not a prefix length for an IPv{} address (0 to {max})",
                        if max == 32 { 4 } else { 6 }
                    )
                })?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }

    /// True when `ip` is inside the network (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let norm = |ip: IpAddr| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (norm(self.addr), norm(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// One aggregate of a grouped query.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    /// Which aggregate.
    pub agg: Agg,
    /// Its argument (None for COUNT(*)).
    pub arg: Option<Ir>,
}

impl Ir {
    /// Calls `f` on this node and every child.
    pub fn walk(&self, f: &mut dyn FnMut(&Ir)) {
        f(self);
        match self {
            Ir::Const(_)
            | Ir::Field(_)
            | Ir::Now
            | Ir::TextSearch(_)
            | Ir::AggRef(_)
            | Ir::KeyRef(_)
            | Ir::Column(_) => {}
            Ir::Not(x)
            | Ir::Neg(x)
            | Ir::IsNull(x, _)
            | Ir::DateFormat(x, _, _)
            | Ir::InCidr(_, x) => x.walk(f),
            Ir::And(xs) | Ir::Or(xs) | Ir::Call(_, xs) => xs.iter().for_each(|x| x.walk(f)),
            Ir::Cmp(_, a, b) | Ir::Arith(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Ir::InConsts { expr, .. } => expr.walk(f),
            Ir::In { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|x| x.walk(f));
            }
            Ir::Match { input, .. } => input.walk(f),
            Ir::DynMatch { input, pattern, .. } => {
                input.walk(f);
                pattern.walk(f);
            }
            Ir::Case {
                operand,
                arms,
                otherwise,
            } => {
                if let Some(o) = operand {
                    o.walk(f);
                }
                for (w, t) in arms {
                    w.walk(f);
                    t.walk(f);
                }
                otherwise.walk(f);
            }
        }
    }

    /// Fields this expression reads, those its functions read behind the
    /// scenes included (a copy of an event with only these gives the same
    /// value: the scan relies on it).
    pub fn fields(&self) -> Vec<FieldId> {
        let mut out = Vec::new();
        self.walk(&mut |n| match n {
            Ir::Field(id) => out.push(*id),
            // Offline, an event names its log source itself (see eval).
            Ir::Call(Func::LogSourceName, _) => out.push(ids::LOGSOURCENAME),
            Ir::TextSearch(_) => out.push(ids::PAYLOAD),
            _ => {}
        });
        out.sort();
        out.dedup();
        out
    }

    /// True when the value does not depend on the event.
    pub fn is_event_free(&self) -> bool {
        let mut free = true;
        self.walk(&mut |n| {
            if matches!(
                n,
                Ir::Field(_) | Ir::TextSearch(_) | Ir::AggRef(_) | Ir::KeyRef(_) | Ir::Column(_)
            ) {
                free = false;
            }
        });
        free
    }

    /// A rough cost, for ordering AND/OR operands cheapest first (and, among equally
    /// cheap tests, the likelier to decide first).
    pub fn cost(&self) -> u32 {
        match self {
            Ir::Const(_)
            | Ir::Field(_)
            | Ir::Now
            | Ir::AggRef(_)
            | Ir::KeyRef(_)
            | Ir::Column(_) => 1,
            Ir::Cmp(_, a, b) => {
                2 + a.cost() + b.cost() + u32::from(low_selectivity(a) || low_selectivity(b))
            }
            Ir::Arith(_, a, b) => 2 + a.cost() + b.cost(),
            // Tests on a log source's type or category pass for nearly every event of
            // a hunt (all Windows logs are type 12); putting them after equally cheap
            // tests on ports or ids lets most events leave at the first test.
            Ir::InConsts { expr, .. } => 3 + expr.cost() + u32::from(low_selectivity(expr)),
            Ir::IsNull(x, _) | Ir::Not(x) | Ir::Neg(x) => 1 + x.cost(),
            Ir::In { expr, list, .. } => 2 + expr.cost() + list.iter().map(Ir::cost).sum::<u32>(),
            Ir::And(xs) | Ir::Or(xs) => xs.iter().map(Ir::cost).sum(),
            Ir::Match { input, group, .. } => input.cost() + if group.is_some() { 20 } else { 40 },
            Ir::DynMatch { .. } => 500,
            Ir::TextSearch(_) => 200,
            Ir::Call(_, xs) => 10 + xs.iter().map(Ir::cost).sum::<u32>(),
            Ir::DateFormat(x, _, _) => 50 + x.cost(),
            Ir::InCidr(_, x) => 5 + x.cost(),
            Ir::Case {
                operand,
                arms,
                otherwise,
            } => {
                operand.as_ref().map_or(0, |o| o.cost())
                    + arms.iter().map(|(w, t)| w.cost() + t.cost()).sum::<u32>()
                    + otherwise.cost()
            }
        }
    }
}

/// Fields whose tests rarely reject an event in a hunt: a few values cover most events.
fn low_selectivity(ir: &Ir) -> bool {
    use portent_core::schema::ids;
    matches!(ir, Ir::Field(f) if [
        ids::DEVICETYPE,
        ids::LOGSOURCEID,
        ids::CATEGORY,
        ids::HIGHLEVELCATEGORY,
        ids::EVENTCOUNT,
        ids::DOMAINID,
    ]
    .contains(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.9.9.9".parse().unwrap()));
        let v6 = Cidr::parse("fd::/16").unwrap();
        assert!(v6.contains("fd:0:1::5".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope/8").is_err());
    }
}
