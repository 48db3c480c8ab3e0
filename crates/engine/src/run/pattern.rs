//! Compiled string patterns: a `regex` with the exact semantics, plus a literal
//! shape (exact / prefix / suffix / contains a set of needles) recovered from
//! the regex's HIR, so the hot path can skip the regex engine.

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Most needles a pattern may expand to before we give up on a literal shape.
const MAX_NEEDLES: usize = 256;

/// Where the needles must occur.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// True when every needle of the literal shape [`folds_simply`] (worked
    /// out once: the hot path asks on every test).
    ascii_needles: bool,
    /// For a pattern with no literal shape: strings one of which every match
    /// contains (compared as the pattern compares, so ASCII
    /// case-insensitively for a case-insensitive one). A text holding none
    /// cannot match, whatever the regex says.
    pub required: Option<Vec<String>>,
}

impl Pattern {
    /// Compiles an anchored regex produced by `similar::to_regex`.
    pub fn new(regex_source: &str, case_insensitive: bool) -> Result<Pattern, String> {
        // Literal analysis runs on the case-sensitive form: case-insensitive
        // patterns match ASCII haystacks with an ASCII case-insensitive compare.
        // Only the flag `to_regex` puts in front is dropped: a `(?i)` inside
        // a user's regex stays, and its classes keep their case.
        let sensitive = match case_insensitive {
            true if regex_source.starts_with("(?si)") => format!("(?s){}", &regex_source[5..]),
            true if regex_source.starts_with("(?i)") => regex_source[4..].to_owned(),
            _ => regex_source.to_owned(),
        };
        // A case-insensitive pattern whose regex turns the flag off inside
        // is not a case-insensitive compare of its literals.
        let hir = (!(case_insensitive && clears_a_flag(&sensitive)))
            .then(|| {
                regex_syntax::ParserBuilder::new()
                    .build()
                    .parse(&sensitive)
                    .ok()
            })
            .flatten();
        let literals = hir.as_ref().and_then(literal_shape);
        let required = match (&literals, &hir) {
            (None, Some(hir)) => required_literals(hir),
            _ => None,
        };
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
        let ascii_needles = literals
            .as_ref()
            .is_some_and(|l| l.needles.iter().all(|n| folds_simply(n)));
        Ok(Pattern {
            regex,
            source: regex_source.to_owned(),
            literals,
            case_insensitive,
            ascii_needles,
            required,
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
            // ASCII needles compare with ASCII bytes only, and no character
            // but two folds to an ASCII letter (crate::shared's test).
            Some(l)
                if self.ascii_needles
                    && (hay.is_ascii() || !hay.contains(crate::shared::FOLDS_TO_ASCII)) =>
            {
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

/// True when case-insensitive matching of `needle` is an ASCII
/// case-insensitive compare of bytes: each character is ASCII or has no other
/// case (a dash, an emoji), so only its own bytes match it.
pub fn folds_simply(needle: &str) -> bool {
    use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
    needle.chars().all(|c| {
        if c.is_ascii() {
            return true;
        }
        let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
        class.try_case_fold_simple().is_ok()
            && class.ranges().len() == 1
            && class.ranges()[0].end() == c
            && class.ranges()[0].start() == c
    })
}

/// True when `source` has a flag group that clears a flag (`(?-i)`, `(?s-i:`).
fn clears_a_flag(source: &str) -> bool {
    source.match_indices("(?").any(|(at, _)| {
        source[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .any(|c| c == '-')
    })
}

/// Strings one of which every match of `hir` contains, if it has such a set
/// of non-empty strings: the longest-needled of its concatenation's runs of
/// finite parts, or one such set for each alternative.
fn required_literals(hir: &Hir) -> Option<Vec<String>> {
    if let HirKind::Alternation(alts) = hir.kind() {
        let mut all = Vec::new();
        for a in alts {
            all.extend(required_literals(a)?);
            if all.len() > MAX_NEEDLES {
                return None;
            }
        }
        all.sort();
        all.dedup();
        return Some(all);
    }
    let parts = flatten_concat(hir);
    let shortest = |set: &Vec<String>| set.iter().map(String::len).min().unwrap_or(0);
    let mut best: Option<Vec<String>> = None;
    let mut consider = |set: Vec<String>| {
        if !set.is_empty()
            && shortest(&set) > 0
            && best.as_ref().is_none_or(|b| shortest(&set) > shortest(b))
        {
            best = Some(set);
        }
    };
    // A run of consecutive finite parts is one set of longer strings.
    let mut run: Option<Vec<String>> = None;
    for p in &parts {
        match finite(p) {
            Some(alts) => {
                let joined = match run.take() {
                    None => Some(alts),
                    Some(acc) if acc.len() * alts.len() <= MAX_NEEDLES => Some(
                        acc.iter()
                            .flat_map(|a| alts.iter().map(move |b| format!("{a}{b}")))
                            .collect(),
                    ),
                    Some(acc) => {
                        consider(acc);
                        Some(alts)
                    }
                };
                run = joined;
            }
            None => {
                if let Some(acc) = run.take() {
                    consider(acc);
                }
                let inner = match p.kind() {
                    HirKind::Alternation(_) => required_literals(p),
                    HirKind::Repetition(r) if r.min >= 1 => required_literals(&r.sub),
                    _ => None,
                };
                if let Some(set) = inner {
                    consider(set);
                }
            }
        }
    }
    if let Some(acc) = run {
        consider(acc);
    }
    best.map(|mut b| {
        b.sort();
        b.dedup();
        b
    })
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
    fn a_flag_inside_a_users_regex_keeps_its_meaning() {
        // Sigma's `|re` with an inline `(?i)`, as SigmaHQ's Invoke-Obfuscation
        // rules write it: the literal "abc" is not a case-sensitive needle.
        let p = pat(".*(?i)abc.*", Dialect::Regex, false);
        assert!(p.is_match("xxABCxx"));
        assert!(p.required.is_none() || p.required.as_ref().unwrap().len() > 1);
        // Turned off inside a case-insensitive regex: not a case-insensitive needle.
        let p = pat(".*(?-i)abc.*", Dialect::Regex, true);
        assert!(!p.is_match("xxABCxx"));
        assert!(p.is_match("xxabcxx"));
        assert!(p.literals.is_none());
    }

    #[test]
    fn patterns_without_a_literal_shape_name_what_every_match_contains() {
        let req = |p: &str, d: Dialect| pat(p, d, true).required;
        assert_eq!(
            req("%whoami%>%", Dialect::Like),
            Some(vec!["whoami".into()])
        );
        assert_eq!(
            req("a[0-9]+bcd.*", Dialect::Regex),
            Some(vec!["bcd".into()])
        );
        assert_eq!(
            req(".*x(ab|cd)y[0-9].*", Dialect::Regex),
            Some(vec!["xaby".into(), "xcdy".into()])
        );
        assert_eq!(
            req("(.*foo[0-9]|bar.+)", Dialect::Regex),
            Some(vec!["bar".into(), "foo".into()])
        );
        // One alternative with nothing required: nothing is.
        assert_eq!(req("(.*foo[0-9]|[0-9]+)", Dialect::Regex), None);
        assert_eq!(req("[a-z]+[0-9]", Dialect::Regex), None);
        // A literal shape needs no required strings.
        assert_eq!(req("%abc%", Dialect::Like), None);
    }

    #[test]
    fn caseless_characters_fold_simply() {
        assert!(folds_simply("–encode"));
        assert!(folds_simply("🧔🏾‍♀️ x"));
        assert!(!folds_simply("é"));
        assert!(!folds_simply("ß"), "ẞ is its capital");
        // And a case-insensitive literal pattern with such needles answers
        // non-ASCII text as its regex does.
        let p = pat("%–ENC%", Dialect::Like, true);
        assert!(p.is_match("powershell –enc x"));
        assert!(!p.is_match("powershell -enc x"));
        let p = pat("%kille%", Dialect::Like, true);
        assert!(p.is_match("\u{212A}ILLED"), "the Kelvin sign is a k");
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

    proptest::proptest! {
        /// Whatever the pattern and text, a match contains one of the
        /// required strings (compared as the pattern compares).
        #[test]
        fn a_match_holds_a_required_string(
            like in "[ab%_]{1,8}",
            regex in "[ab.*+|()]{1,10}",
            hay in "[abAB\\u{e9}]{0,12}",
            ci in proptest::bool::ANY,
        ) {
            let mut pats = vec![pat(&like, Dialect::Like, ci)];
            if let Ok(src) = to_regex(&regex, Dialect::Regex, Escape::Default, ci) {
                if let Ok(p) = Pattern::new(&src, ci) {
                    pats.push(p);
                }
            }
            for p in pats {
                if let (Some(req), true) = (&p.required, p.is_match(&hay)) {
                    let found = req.iter().any(|n| {
                        if ci {
                            hay.to_lowercase().contains(&n.to_lowercase())
                        } else {
                            hay.contains(n.as_str())
                        }
                    });
                    proptest::prop_assert!(found, "{} matched {hay:?} without {req:?}", p.source);
                }
            }
        }
    }
}
