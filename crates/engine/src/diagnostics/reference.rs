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

/// Runs `test` with the regex of `src` (`None` when it does not compile).
/// Compiled once per thread and pattern: `validate` explains why thousands
/// of rules missed each of its events, and compiling the same patterns again
/// for every event was seven tenths of its time. Caching a pure function's
/// result changes no answer.
fn compiled<T>(src: &str, test: impl FnOnce(&regex::Regex) -> T) -> Option<T> {
    /// Past this many patterns the cache starts over (memory stays bounded).
    const MAX: usize = 8192;
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, Option<regex::Regex>>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(src) {
            if cache.len() >= MAX {
                cache.clear();
            }
            cache.insert(src.to_owned(), regex::Regex::new(src).ok());
        }
        cache.get(src).and_then(Option::as_ref).map(test)
    })
}

/// LIKE (`%` any run of characters, newlines too; `_` one character;
/// `escape` makes the next character literal), matched over characters
/// without a regex: `None` for a pattern that ends with the escape. Case
/// folds per character when `ci` (a character whose lower or upper case is
/// one other character matches that one), as a regex's `(?i)` does.
fn like_matches(text: &str, pattern: &str, escape: Option<char>, ci: bool) -> Option<bool> {
    enum Tok {
        Lit(char),
        One,
        Many,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            c if Some(c) == escape => Tok::Lit(chars.next()?),
            '%' => Tok::Many,
            '_' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    let same = |a: char, b: char| a == b || ci && fold_eq(a, b);
    let text: Vec<char> = text.chars().collect();
    // Greedy, going back to the last `%` on a mismatch: linear for the
    // patterns rules hold, never exponential.
    let (mut t, mut p) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Many) => {
                back = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Lit(c)) if same(*c, text[t]) => {
                t += 1;
                p += 1;
            }
            _ => match back {
                Some((bp, bt)) => {
                    back = Some((bp, bt + 1));
                    p = bp + 1;
                    t = bt + 1;
                }
                None => return Some(false),
            },
        }
    }
    Some(toks[p..].iter().all(|k| matches!(k, Tok::Many)))
}

/// True when `a` and `b` are one character in different case: the lower or
/// upper case of each is the same single character.
fn fold_eq(a: char, b: char) -> bool {
    fn one(mut m: impl Iterator<Item = char>) -> Option<char> {
        let c = m.next()?;
        m.next().is_none().then_some(c)
    }
    let lower = one(a.to_lowercase()).filter(|x| Some(*x) == one(b.to_lowercase()));
    let upper = one(a.to_uppercase()).filter(|x| Some(*x) == one(b.to_uppercase()));
    lower.is_some() || upper.is_some()
}

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
                // Written apart from the engine's translation on purpose (LIKE
                // matched directly, MATCHES anchored here): a mistake there
                // must show up as a difference here. SIMILAR TO still goes
                // through the engine's translation to a regex.
                let found = match op {
                    MatchOp::Like | MatchOp::ILike => {
                        let esc = match esc {
                            Escape::Char(c) => Some(c),
                            Escape::Default | Escape::Disabled => None,
                        };
                        like_matches(&text, &pat, esc, *op == MatchOp::ILike)
                    }
                    MatchOp::Matches | MatchOp::IMatches => {
                        let flags = if *op == MatchOp::IMatches { "(?i)" } else { "" };
                        compiled(&format!("{flags}\\A(?:{pat})\\z"), |re| re.is_match(&text))
                    }
                    MatchOp::SimilarTo => to_regex(&pat, Dialect::Similar, esc, false)
                        .ok()
                        .and_then(|src| compiled(&src, |re| re.is_match(&text))),
                };
                match found {
                    Some(found) => Value::Bool(found != *negated),
                    None => Value::Null,
                }
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

#[cfg(test)]
mod tests {
    use super::like_matches;
    use crate::similar::{to_regex, Dialect, Escape};
    use proptest::prelude::*;

    proptest! {
        /// The direct matcher and the engine's translation to a regex agree
        /// on LIKE, with and without case and an escape character.
        #[test]
        fn like_matches_as_the_engines_regex_does(
            text in "[aAbB%_!\\n\u{212A}k\u{130}i]{0,8}",
            pattern in "[aAbB%_!k]{0,6}",
            ci in any::<bool>(),
            escaped in any::<bool>(),
        ) {
            let escape = escaped.then_some('!');
            let engine = to_regex(
                &pattern,
                Dialect::Like,
                escape.map_or(Escape::Default, Escape::Char),
                ci,
            )
            .ok()
            .map(|src| regex::Regex::new(&src).unwrap().is_match(&text));
            prop_assert_eq!(like_matches(&text, &pattern, escape, ci), engine);
        }
    }

    #[test]
    fn like_matches_by_hand() {
        let yes = |t, p| like_matches(t, p, None, false) == Some(true);
        assert!(yes("cmd.exe", "cmd.exe"));
        assert!(yes("cmd.exe", "%.exe"));
        assert!(yes("cmd.exe", "c_d%"));
        assert!(yes("", "%"));
        assert!(yes("a\nb", "a%b"));
        assert!(yes("aXbXc", "%X%X%"));
        assert!(yes("abcabd", "%abd"));
        assert!(!yes("cmd.exe", "%.ex"));
        assert!(!yes("cmd", "cmd_"));
        assert!(!yes("", "_"));
        assert!(!yes("CMD.EXE", "%.exe"));
        assert_eq!(like_matches("CMD.EXE", "%.exe", None, true), Some(true));
        // The escape makes `%` and `_` literal; a pattern cannot end with it.
        assert_eq!(like_matches("50%", "50!%", Some('!'), false), Some(true));
        assert_eq!(like_matches("500", "50!%", Some('!'), false), Some(false));
        assert_eq!(like_matches("a_b", "a\\_b", Some('\\'), false), Some(true));
        assert_eq!(like_matches("x", "x!", Some('!'), false), None);
        // Case folds as one character to one: the Kelvin sign is a k,
        // U+0130 is not an i (its lower case is two characters).
        assert_eq!(like_matches("\u{212A}", "k", None, true), Some(true));
        assert_eq!(like_matches("\u{130}", "i", None, true), Some(false));
        assert_eq!(like_matches("ПРОЦЕСС", "%процесс", None, true), Some(true));
    }
}
