//! Compiled string patterns: a `regex` with the exact semantics, plus a literal
//! shape (exact / prefix / suffix / contains a set of needles) recovered from
//! the regex's HIR, so the hot path can skip the regex engine.

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Most needles a pattern may expand to before we give up on a literal shape.
const MAX_NEEDLES: usize = 256;

/// Where the needles must occur.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The whole value is one of the needles.
    Exact,
    /// The value starts with a needle.
    Prefix,
    /// The value ends with a needle.
    Suffix,
    /// A needle occurs anywhere.
    Contains,
}

/// A literal form of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literals {
    /// Where the needles go.
    pub shape: Shape,
    /// The alternatives.
    pub needles: Vec<String>,
}

impl Literals {
    /// Tests `hay` against the needles; with `ascii_ci`, ASCII letters compare
    /// case-insensitively (valid only when `hay` is ASCII).
    pub fn is_match(&self, hay: &str, ascii_ci: bool) -> bool {
        let eq = |a: &[u8], b: &[u8]| {
            if ascii_ci {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let h = hay.as_bytes();
        self.needles.iter().any(|n| {
            let n = n.as_bytes();
            match self.shape {
                Shape::Exact => eq(h, n),
                Shape::Prefix => h.len() >= n.len() && eq(&h[..n.len()], n),
                Shape::Suffix => h.len() >= n.len() && eq(&h[h.len() - n.len()..], n),
                Shape::Contains => n.is_empty() || h.windows(n.len()).any(|w| eq(w, n)),
            }
        })
    }

    /// True when every needle is unchanged by lower-casing, so `LOWER(x) ~ p`
    /// equals an ASCII case-insensitive match of `p` on an ASCII `x`.
    pub fn lowercase_stable(&self) -> bool {
        self.needles.iter().all(|n| {
            n.chars()
                .all(|c| !c.is_uppercase() && c.to_lowercase().eq([c]))
        })
    }
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The exact semantics. Built when first needed for a pattern with a
    /// literal shape (which answers nearly every test without it): a rule
    /// set of thousands of rules would otherwise hold hundreds of megabytes
    /// of regular expressions it never runs.
    regex: std::sync::OnceLock<Option<Regex>>,
    /// The regex source, for explain.
    pub source: String,
    /// The literal shape, when the pattern has one.
    pub literals: Option<Literals>,
    /// True when the pattern is case-insensitive (ILIKE, IMATCHES).
    pub case_insensitive: bool,
}

impl Pattern {
    /// Compiles an anchored regex produced by `similar::to_regex`.
    pub fn new(regex_source: &str, case_insensitive: bool) -> Result<Pattern, String> {
        // Literal analysis runs on the case-sensitive form: case-insensitive
        // patterns match ASCII haystacks with an ASCII case-insensitive compare.
        let sensitive = regex_source
            .replacen("(?si)", "(?s)", 1)
            .replacen("(?i)", "", 1);
        let literals = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&sensitive)
            .ok()
            .and_then(|hir| literal_shape(&hir));
        let regex = std::sync::OnceLock::new();
        if literals.is_none() {
            // Checked and built now: its errors belong to compiling the rule.
            let _ = regex.set(Some(build(regex_source)?));
        } else {
            // Checked now, built when first needed.
            regex_syntax::ParserBuilder::new()
                .build()
                .parse(regex_source)
                .map_err(|e| e.to_string())?;
        }
        Ok(Pattern {
            regex,
            source: regex_source.to_owned(),
            literals,
            case_insensitive,
        })
    }

    /// The regular expression with the exact semantics.
    pub fn regex(&self) -> Option<&Regex> {
        self.regex.get_or_init(|| build(&self.source).ok()).as_ref()
    }

    fn regex_match(&self, hay: &str) -> bool {
        match (self.regex(), &self.literals) {
            (Some(re), _) => re.is_match(hay),
            // A literal shape that somehow does not build as a regex (its
            // syntax was checked): its literals, with Unicode case folding.
            (None, Some(l)) => l.is_match(&hay.to_lowercase(), self.case_insensitive),
            (None, None) => false,
        }
    }

    /// Tests `hay` with the exact semantics, using the literal fast path when valid.
    pub fn is_match(&self, hay: &str) -> bool {
        match &self.literals {
            Some(l) if !self.case_insensitive => l.is_match(hay, false),
            Some(l) if hay.is_ascii() && l.needles.iter().all(|n| n.is_ascii()) => {
                l.is_match(hay, true)
            }
            _ => self.regex_match(hay),
        }
    }
}

fn build(source: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(source)
        .size_limit(8 << 20)
        .build()
        .map_err(|e| e.to_string())
}

/// Recovers `\A (.*)? literals (.*)? \z` from an anchored HIR.
fn literal_shape(hir: &Hir) -> Option<Literals> {
    let parts = flatten_concat(hir);
    let mut parts: &[&Hir] = &parts;
    match parts.first()?.kind() {
        HirKind::Look(Look::Start) => parts = &parts[1..],
        _ => return None,
    }
    match parts.last()?.kind() {
        HirKind::Look(Look::End) => parts = &parts[..parts.len() - 1],
        _ => return None,
    }
    let lead = parts.first().is_some_and(|h| is_dot_star(h));
    if lead {
        parts = &parts[1..];
    }
    let trail = parts.last().is_some_and(|h| is_dot_star(h));
    if trail {
        parts = &parts[..parts.len() - 1];
    }
    let mut needles = vec![String::new()];
    for p in parts {
        let alts = finite(p)?;
        let mut next = Vec::with_capacity(needles.len() * alts.len());
        for n in &needles {
            for a in &alts {
                next.push(format!("{n}{a}"));
            }
        }
        if next.len() > MAX_NEEDLES {
            return None;
        }
        needles = next;
    }
    needles.sort();
    needles.dedup();
    let shape = match (lead, trail) {
        (false, false) => Shape::Exact,
        (false, true) => Shape::Prefix,
        (true, false) => Shape::Suffix,
        (true, true) => Shape::Contains,
    };
    Some(Literals { shape, needles })
}

fn flatten_concat(hir: &Hir) -> Vec<&Hir> {
    match hir.kind() {
        HirKind::Concat(items) => items.iter().flat_map(flatten_concat).collect(),
        HirKind::Capture(c) => flatten_concat(&c.sub),
        _ => vec![hir],
    }
}

/// `.*` where `.` matches every character, newlines included.
fn is_dot_star(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Repetition(r) if r.min == 0 && r.max.is_none() => match r.sub.kind() {
            HirKind::Class(Class::Unicode(c)) => {
                let r = c.ranges();
                r.len() == 1 && r[0].start() == '\0' && r[0].end() == '\u{10FFFF}'
            }
            HirKind::Class(Class::Bytes(c)) => {
                let r = c.ranges();
                r.len() == 1 && r[0].start() == 0 && r[0].end() == 255
            }
            _ => false,
        },
        _ => false,
    }
}

/// The finite set of strings `h` matches, if small.
fn finite(h: &Hir) -> Option<Vec<String>> {
    match h.kind() {
        HirKind::Empty => Some(vec![String::new()]),
        HirKind::Literal(l) => Some(vec![String::from_utf8(l.0.to_vec()).ok()?]),
        HirKind::Capture(c) => finite(&c.sub),
        HirKind::Class(Class::Unicode(c)) => {
            let mut out = Vec::new();
            for r in c.ranges() {
                let n = (r.end() as u32).checked_sub(r.start() as u32)? as usize + 1;
                if out.len() + n > 8 {
                    return None;
                }
                out.extend((r.start()..=r.end()).map(String::from));
            }
            Some(out)
        }
        HirKind::Concat(items) => {
            let mut acc = vec![String::new()];
            for it in items {
                let alts = finite(it)?;
                let mut next = Vec::new();
                for a in &acc {
                    for b in &alts {
                        next.push(format!("{a}{b}"));
                    }
                }
                if next.len() > MAX_NEEDLES {
                    return None;
                }
                acc = next;
            }
            Some(acc)
        }
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for a in alts {
                out.extend(finite(a)?);
                if out.len() > MAX_NEEDLES {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Repetition(r) if Some(r.min) == r.max && r.min <= 8 => {
            let one = finite(&r.sub)?;
            let mut acc = vec![String::new()];
            for _ in 0..r.min {
                let mut next = Vec::new();
                for a in &acc {
                    for b in &one {
                        next.push(format!("{a}{b}"));
                    }
                }
                if next.len() > MAX_NEEDLES {
                    return None;
                }
                acc = next;
            }
            Some(acc)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similar::{to_regex, Dialect, Escape};

    fn pat(p: &str, d: Dialect, ci: bool) -> Pattern {
        Pattern::new(&to_regex(p, d, Escape::Default, ci).unwrap(), ci).unwrap()
    }

    #[test]
    fn seed_pattern_is_a_needle_set() {
        let p = pat("%(powershell|pwsh|cmd)\\.exe%", Dialect::Similar, false);
        let l = p.literals.clone().unwrap();
        assert_eq!(l.shape, Shape::Contains);
        assert_eq!(l.needles, vec!["cmd.exe", "powershell.exe", "pwsh.exe"]);
        assert!(l.lowercase_stable());
    }

    #[test]
    fn shapes() {
        assert_eq!(
            pat("abc", Dialect::Like, false).literals.unwrap().shape,
            Shape::Exact
        );
        assert_eq!(
            pat("abc%", Dialect::Like, false).literals.unwrap().shape,
            Shape::Prefix
        );
        assert_eq!(
            pat("%abc", Dialect::Like, false).literals.unwrap().shape,
            Shape::Suffix
        );
        assert!(pat("a%b", Dialect::Like, false).literals.is_none());
        assert!(pat("a_b", Dialect::Like, false).literals.is_none());
        // MATCHES `.` does not cross newlines, so `.*x.*` is not "contains".
        assert!(pat(".*x.*", Dialect::Regex, false).literals.is_none());
        assert_eq!(
            pat("(?s).*x.*", Dialect::Regex, false)
                .literals
                .unwrap()
                .shape,
            Shape::Contains
        );
    }

    #[test]
    fn fast_path_agrees_with_regex() {
        let cases = [
            ("%(cmd|pwsh)\\.exe%", Dialect::Similar, false),
            ("%\\cmd.exe", Dialect::Like, false),
            ("%ADMIN%", Dialect::Like, true),
            ("svc%", Dialect::Like, true),
            ("x", Dialect::Like, true),
        ];
        let hays = [
            "",
            "cmd.exe",
            "C:\\cmd.exe",
            "xadminx",
            "SVC_a",
            "x",
            "X",
            "Kelvin \u{212a}",
            "ſvc",
        ];
        for (p, d, ci) in cases {
            let pt = pat(p, d, ci);
            for h in hays {
                assert_eq!(
                    pt.is_match(h),
                    pt.regex().unwrap().is_match(h),
                    "{p} on {h:?}"
                );
            }
        }
    }
}
