//! The `condition` of a detection: `and`, `or`, `not`, parentheses, and
//! `1 of` / `any of` / `all of` a name pattern or `them`. A hand-written lexer
//! and recursive descent with byte offsets, so errors point into the string.

use std::fmt;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// A search identifier, at a byte offset in the condition.
    Name(String, usize),
    /// `not x`
    Not(Box<Cond>),
    /// `a and b and ...`
    And(Vec<Cond>),
    /// `a or b or ...`
    Or(Vec<Cond>),
    /// `1 of pattern` (`them` is the pattern `*` without `_` names).
    AnyOf(String, usize),
    /// `all of pattern`
    AllOf(String, usize),
}

/// A condition syntax error: what and at which byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset in the condition.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.at + 1, self.message)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Pipe,
}

fn lex(s: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((Tok::Open, i));
                i += 1;
            }
            b')' => {
                out.push((Tok::Close, i));
                i += 1;
            }
            b'|' => {
                // Sigma 1 aggregation: the parser says so; what follows is not ours to read.
                out.push((Tok::Pipe, i));
                break;
            }
            _ if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'*' | b'-' | b'.' | b'?') => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || matches!(b[i], b'_' | b'*' | b'-' | b'.' | b'?'))
                {
                    i += 1;
                }
                out.push((Tok::Word(s[start..i].to_owned()), start));
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(SyntaxError {
                    at: i,
                    message: format!("unexpected `{ch}`"),
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w), _)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, a)| *a)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            at: self.at(),
            message: message.into(),
        })
    }

    fn keyword(&self, k: &str) -> bool {
        self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(k))
    }

    fn or(&mut self) -> Result<Cond, SyntaxError> {
        let mut terms = vec![self.and()?];
        while self.keyword("or") {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Cond, SyntaxError> {
        let mut terms = vec![self.not()?];
        while self.keyword("and") {
            self.pos += 1;
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::And(terms)
        })
    }

    fn not(&mut self) -> Result<Cond, SyntaxError> {
        if self.keyword("not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > 256 {
                return self.err("condition nested too deep");
            }
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, SyntaxError> {
        match self.toks.get(self.pos).cloned() {
            Some((Tok::Open, _)) => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > 256 {
                    return self.err("condition nested too deep");
                }
                let inner = self.or()?;
                self.depth -= 1;
                match self.toks.get(self.pos) {
                    Some((Tok::Close, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => self.err("expected `)`"),
                }
            }
            Some((Tok::Word(w), at)) => {
                let lower = w.to_ascii_lowercase();
                if matches!(lower.as_str(), "and" | "or" | "of" | "them") {
                    return self.err(format!("expected a search identifier, found `{w}`"));
                }
                let next_is_of = matches!(self.toks.get(self.pos + 1), Some((Tok::Word(n), _)) if n.eq_ignore_ascii_case("of"));
                if next_is_of {
                    self.pos += 2;
                    let Some((Tok::Word(pattern), pat_at)) = self.toks.get(self.pos).cloned()
                    else {
                        return self.err("expected a name pattern or `them` after `of`");
                    };
                    self.pos += 1;
                    let pattern = if pattern.eq_ignore_ascii_case("them") {
                        "them".to_owned()
                    } else {
                        pattern
                    };
                    return match lower.as_str() {
                        "1" | "any" => Ok(Cond::AnyOf(pattern, pat_at)),
                        "all" => Ok(Cond::AllOf(pattern, pat_at)),
                        _ => Err(SyntaxError {
                            at,
                            message: format!("`{w} of` is not supported: use `1 of` or `all of`"),
                        }),
                    };
                }
                self.pos += 1;
                Ok(Cond::Name(w, at))
            }
            Some((Tok::Pipe, _)) => self
                .err("`|` aggregations are Sigma 1 syntax; Sigma 2 puts them in correlation rules"),
            Some((Tok::Close, _)) => self.err("unexpected `)`"),
            None => self.err("the condition ends too early"),
        }
    }
}

/// Parses a condition.
pub fn parse(s: &str) -> Result<Cond, SyntaxError> {
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: s.len(),
        depth: 0,
    };
    let c = p.or()?;
    if p.pos < p.toks.len() {
        return p.err("expected `and`, `or` or the end of the condition");
    }
    Ok(c)
}

/// Whether `name` matches a Sigma name pattern (`*` any run, `?` one char).
pub fn glob(pattern: &str, name: &str) -> bool {
    // Greedy matching with one backtrack point: linear in practice, and never
    // exponential, whatever the pattern.
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_quantifiers() {
        let c = parse("selection and not 1 of filter_main_* or (a and all of them)").unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::And(vec![
                    Cond::Name("selection".into(), 0),
                    Cond::Not(Box::new(Cond::AnyOf("filter_main_*".into(), 23))),
                ]),
                Cond::And(vec![
                    Cond::Name("a".into(), 41),
                    Cond::AllOf("them".into(), 54)
                ]),
            ])
        );
        assert!(glob("filter_main_*", "filter_main_local"));
        assert!(!glob("filter_main_*", "filter_optional"));
        assert!(glob("sel?", "sel1"));
    }

    #[test]
    fn errors_point_into_the_string() {
        let e = parse("selection and").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (13, "the condition ends too early")
        );
        let e = parse("selection | count() > 5").unwrap_err();
        assert_eq!(e.at, 10);
        let e = parse("(a or b").unwrap_err();
        assert_eq!(e.message, "expected `)`");
        let e = parse("a b").unwrap_err();
        assert_eq!(e.at, 2);
        assert!(parse(&"(".repeat(1000)).is_err());
    }
}
