//! Tuning: exceptions that quiet known false positives without editing rules.
//! A TOML file lists exceptions; each names its rules (or all), conditions on
//! event fields that must all hold, an optional time-of-day / day-of-week
//! window, and its governance: id, reason, owner, created and expiry dates. An
//! expired exception stops suppressing and says so. Every suppressed hit is
//! counted against the exception that suppressed it. Schema: docs/TUNING.md.

use crate::ir::Cidr;
use chrono::{Datelike, NaiveDate, Timelike};
use portent_core::schema::{ids, FieldKind};
use portent_core::{Diagnostic, Event, FieldId, Schema, Span, Value, Zone};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A loaded tuning file.
#[derive(Debug, Default)]
pub struct Tuning {
    /// The exceptions, in file order.
    pub exceptions: Vec<Exception>,
}

/// One exception.
#[derive(Debug)]
pub struct Exception {
    /// Stable id (counted and reported by it).
    pub id: String,
    /// Why it exists.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// When it was made.
    pub created: NaiveDate,
    /// When it stops suppressing.
    pub expires: Option<NaiveDate>,
    /// Rule ids it applies to; empty means every rule.
    pub rules: Vec<String>,
    /// Conditions that must all hold.
    pub conditions: Vec<Condition>,
    /// When in the week and day it applies, in the tuning zone.
    pub when: Option<When>,
    /// Expired as of the day the file was loaded: kept for reporting, never applied.
    pub expired: bool,
}

/// A test on one field.
#[derive(Debug)]
pub struct Condition {
    /// The field, as written.
    pub name: String,
    /// Its id.
    pub field: FieldId,
    /// The test.
    pub test: Test,
    /// Negated (`not = true`).
    pub negated: bool,
}

/// What a condition checks.
#[derive(Debug)]
pub enum Test {
    /// Equal to one of these, ignoring case (Windows paths and names).
    Exact(Vec<String>),
    /// Whole-value globs (`*`, `?`), ignoring case.
    Wildcard(Vec<String>, Regex),
    /// A regular expression found anywhere in the value (anchor it to match whole).
    Regex(Regex),
    /// An address inside one of these networks.
    Cidr(Vec<Cidr>),
    /// A number inside one of these inclusive ranges.
    Ports(Vec<(i64, i64)>),
    /// An address of one of these classes (`private`, `public`, ...).
    Class(Vec<String>),
}

/// A recurring window.
#[derive(Debug, Clone, Copy)]
pub struct When {
    /// Minutes after midnight: start (inclusive) and end (exclusive); start > end wraps midnight.
    pub minutes: Option<(u32, u32)>,
    /// Bit 0 = Monday ... bit 6 = Sunday.
    pub days: u8,
}

const CLASSES: &[&str] = &[
    "loopback",
    "link-local",
    "metadata",
    "private",
    "multicast",
    "unspecified",
    "public",
];
const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default, rename = "exception")]
    exceptions: Vec<RawException>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    id: Spanned<String>,
    reason: Spanned<String>,
    owner: Spanned<String>,
    created: Spanned<String>,
    expires: Option<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(rename = "match")]
    conditions: Spanned<BTreeMap<Spanned<String>, Spanned<RawCondition>>>,
    when: Option<Spanned<RawWhen>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCondition {
    One(String),
    Number(i64),
    Many(Vec<String>),
    Table(RawTest),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTest {
    exact: Option<OneOrMany>,
    wildcard: Option<OneOrMany>,
    regex: Option<String>,
    cidr: Option<OneOrMany>,
    ports: Option<PortSpec>,
    class: Option<OneOrMany>,
    #[serde(default)]
    not: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PortSpec {
    One(i64),
    Text(String),
    Many(Vec<i64>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    hours: Option<String>,
    #[serde(default)]
    days: Vec<String>,
}

fn err(code: &'static str, span: std::ops::Range<usize>, message: String) -> Diagnostic {
    Diagnostic::error(code, Span::new(span.start, span.end), message)
}

impl Tuning {
    /// Parses a tuning file. `today` decides which exceptions have expired.
    /// Every error is returned, each with its place in the text.
    pub fn parse(text: &str, schema: &Schema, today: NaiveDate) -> Result<Tuning, Vec<Diagnostic>> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            vec![err("T0001", span, e.message().to_owned())]
        })?;
        let mut errors = Vec::new();
        let mut exceptions = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in raw.exceptions {
            if !seen.insert(r.id.get_ref().clone()) {
                errors.push(err(
                    "T0002",
                    r.id.span(),
                    format!("duplicate exception id `{}`", r.id.get_ref()),
                ));
            }
            for (field, text) in [("reason", &r.reason), ("owner", &r.owner)] {
                if text.get_ref().trim().is_empty() {
                    errors.push(err(
                        "T0003",
                        text.span(),
                        format!("`{field}` must say something: exceptions are governed"),
                    ));
                }
            }
            let date = |s: &Spanned<String>, errors: &mut Vec<Diagnostic>| {
                match NaiveDate::parse_from_str(s.get_ref(), "%Y-%m-%d") {
                    Ok(d) => Some(d),
                    Err(_) => {
                        errors.push(err(
                            "T0004",
                            s.span(),
                            format!("`{}` is not a date (YYYY-MM-DD)", s.get_ref()),
                        ));
                        None
                    }
                }
            };
            let created = date(&r.created, &mut errors);
            let expires = r.expires.as_ref().and_then(|e| date(e, &mut errors));
            let mut conditions = Vec::new();
            if r.conditions.get_ref().is_empty() {
                errors.push(err(
                    "T0005",
                    r.conditions.span(),
                    "an exception needs at least one condition in `match`".into(),
                ));
            }
            for (name, cond) in r.conditions.into_inner() {
                let field = match schema.resolve(name.get_ref()) {
                    Some(id) if schema.def(id).is_some_and(|d| d.kind != FieldKind::Dynamic) => id,
                    _ => {
                        let near = schema
                            .names()
                            .map(|n| {
                                (
                                    crate::functions::edit_distance(
                                        &n.to_ascii_lowercase(),
                                        &name.get_ref().to_ascii_lowercase(),
                                    ),
                                    n,
                                )
                            })
                            .filter(|(d, _)| *d <= 3)
                            .min()
                            .map(|(_, n)| format!("; did you mean `{n}`?"))
                            .unwrap_or_default();
                        errors.push(err(
                            "T0006",
                            name.span(),
                            format!("unknown field `{}`{near}", name.get_ref()),
                        ));
                        continue;
                    }
                };
                let span = cond.span();
                match test_of(cond.into_inner(), span, &mut errors) {
                    Some((test, negated)) => conditions.push(Condition {
                        name: name.get_ref().clone(),
                        field,
                        test,
                        negated,
                    }),
                    None => continue,
                }
            }
            let when = r.when.and_then(|w| {
                let span = w.span();
                when_of(w.into_inner(), span, &mut errors)
            });
            if let (Some(created), Some(expires)) = (created, expires) {
                if expires < created {
                    errors.push(err(
                        "T0007",
                        r.expires.as_ref().map_or(0..0, |e| e.span()),
                        "expires before it was created".into(),
                    ));
                }
            }
            exceptions.push(Exception {
                id: r.id.into_inner(),
                reason: r.reason.into_inner(),
                owner: r.owner.into_inner(),
                created: created.unwrap_or(today),
                expires,
                rules: r.rules.into_iter().map(Spanned::into_inner).collect(),
                conditions,
                when,
                expired: expires.is_some_and(|e| e < today),
            });
        }
        if errors.is_empty() {
            Ok(Tuning { exceptions })
        } else {
            Err(errors)
        }
    }

    /// The active exceptions that apply to `rule`.
    pub fn for_rule<'t, 'r>(
        &'t self,
        rule: &'r str,
    ) -> impl Iterator<Item = (usize, &'t Exception)> + use<'t, 'r> {
        self.exceptions.iter().enumerate().filter(move |(_, e)| {
            !e.expired && (e.rules.is_empty() || e.rules.iter().any(|r| r == rule || r == "*"))
        })
    }
}

fn test_of(
    c: RawCondition,
    span: std::ops::Range<usize>,
    errors: &mut Vec<Diagnostic>,
) -> Option<(Test, bool)> {
    let t = match c {
        RawCondition::One(s) => return Some((Test::Exact(vec![s]), false)),
        RawCondition::Many(v) => return Some((Test::Exact(v), false)),
        RawCondition::Number(n) => return Some((Test::Ports(vec![(n, n)]), false)),
        RawCondition::Table(t) => t,
    };
    let given = [
        t.exact.is_some(),
        t.wildcard.is_some(),
        t.regex.is_some(),
        t.cidr.is_some(),
        t.ports.is_some(),
        t.class.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        errors.push(err(
            "T0008",
            span,
            "give exactly one of exact, wildcard, regex, cidr, ports, class".into(),
        ));
        return None;
    }
    let test = if let Some(v) = t.exact {
        Test::Exact(v.into_vec())
    } else if let Some(v) = t.wildcard {
        let globs = v.into_vec();
        let alternatives: Vec<String> = globs
            .iter()
            .map(|g| {
                g.chars()
                    .map(|c| match c {
                        '*' => ".*".to_owned(),
                        '?' => ".".to_owned(),
                        c => regex::escape(&c.to_string()),
                    })
                    .collect::<String>()
            })
            .collect();
        let re = RegexBuilder::new(&format!("^(?:{})$", alternatives.join("|")))
            .case_insensitive(true)
            .dot_matches_new_line(true)
            .build()
            .ok()?;
        Test::Wildcard(globs, re)
    } else if let Some(r) = t.regex {
        match RegexBuilder::new(&r).size_limit(1 << 20).build() {
            Ok(re) => Test::Regex(re),
            Err(e) => {
                errors.push(err("T0009", span, format!("bad regex: {e}")));
                return None;
            }
        }
    } else if let Some(v) = t.cidr {
        let mut nets = Vec::new();
        for n in v.into_vec() {
            match Cidr::parse(&n) {
                Ok(c) => nets.push(c),
                Err(e) => {
                    errors.push(err("T0010", span.clone(), format!("bad CIDR `{n}`: {e}")));
                    return None;
                }
            }
        }
        Test::Cidr(nets)
    } else if let Some(p) = t.ports {
        match ports_of(p) {
            Ok(r) => Test::Ports(r),
            Err(m) => {
                errors.push(err("T0011", span, m));
                return None;
            }
        }
    } else if let Some(v) = t.class {
        let classes = v.into_vec();
        if let Some(bad) = classes.iter().find(|c| !CLASSES.contains(&c.as_str())) {
            errors.push(err(
                "T0012",
                span,
                format!(
                    "unknown address class `{bad}` (one of {})",
                    CLASSES.join(", ")
                ),
            ));
            return None;
        }
        Test::Class(classes)
    } else {
        return None;
    };
    Some((test, t.not))
}

fn ports_of(p: PortSpec) -> Result<Vec<(i64, i64)>, String> {
    match p {
        PortSpec::One(n) => Ok(vec![(n, n)]),
        PortSpec::Many(v) => Ok(v.into_iter().map(|n| (n, n)).collect()),
        PortSpec::Text(t) => t
            .split(',')
            .map(|part| {
                let part = part.trim();
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                    (Ok(a), Ok(b)) if a <= b && (0..=65535).contains(&a) && b <= 65535 => {
                        Ok((a, b))
                    }
                    _ => Err(format!("bad port or range `{part}` (80, 8000-8100)")),
                }
            })
            .collect(),
    }
}

fn when_of(w: RawWhen, span: std::ops::Range<usize>, errors: &mut Vec<Diagnostic>) -> Option<When> {
    let minutes = match &w.hours {
        None => None,
        Some(h) => {
            let parse = |t: &str| -> Option<u32> {
                let (hh, mm) = t.trim().split_once(':')?;
                let (hh, mm): (u32, u32) = (hh.parse().ok()?, mm.parse().ok()?);
                (hh <= 24 && mm < 60 && hh * 60 + mm <= 1440).then_some(hh * 60 + mm)
            };
            match h
                .split_once('-')
                .and_then(|(a, b)| Some((parse(a)?, parse(b)?)))
            {
                Some(r) => Some(r),
                None => {
                    errors.push(err("T0013", span, format!("bad hours `{h}` (HH:MM-HH:MM)")));
                    return None;
                }
            }
        }
    };
    let mut days = 0u8;
    for d in &w.days {
        match DAYS
            .iter()
            .position(|x| x.eq_ignore_ascii_case(&d[..d.len().min(3)]))
        {
            Some(i) if d.len() >= 3 => days |= 1 << i,
            _ => {
                errors.push(err(
                    "T0014",
                    span,
                    format!("bad day `{d}` (mon, tue, ... sun)"),
                ));
                return None;
            }
        }
    }
    Some(When {
        minutes,
        days: if days == 0 { 0x7f } else { days },
    })
}

impl Exception {
    /// True when every condition holds for `ev` and its time is inside the window.
    pub fn matches<E: Event + ?Sized>(&self, ev: &E, zone: &Zone) -> bool {
        if let Some(w) = &self.when {
            let Some(ms) = ev.get(ids::STARTTIME).to_i64() else {
                return false;
            };
            let offset = zone.offset_at(ms);
            let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
                return false;
            };
            let local = t.with_timezone(&offset);
            if w.days & (1 << local.weekday().num_days_from_monday()) == 0 {
                return false;
            }
            if let Some((a, b)) = w.minutes {
                let m = local.hour() * 60 + local.minute();
                let inside = if a <= b {
                    a <= m && m < b
                } else {
                    m >= a || m < b
                };
                if !inside {
                    return false;
                }
            }
        }
        self.conditions.iter().all(|c| c.holds(&ev.get(c.field)))
    }
}

impl Condition {
    fn holds(&self, v: &Value<'_>) -> bool {
        if v.is_null() {
            // A missing field satisfies no condition, negated or not: an exception
            // never widens to events that lack what it names.
            return false;
        }
        let r = match &self.test {
            Test::Exact(vs) => v
                .to_text()
                .is_some_and(|t| vs.iter().any(|x| x.eq_ignore_ascii_case(&t))),
            Test::Wildcard(_, re) => v.to_text().is_some_and(|t| re.is_match(&t)),
            Test::Regex(re) => v.to_text().is_some_and(|t| re.is_match(&t)),
            Test::Cidr(nets) => v
                .to_ip()
                .is_some_and(|ip| nets.iter().any(|n| n.contains(ip))),
            Test::Ports(ranges) => v
                .to_i64()
                .is_some_and(|p| ranges.iter().any(|(a, b)| *a <= p && p <= *b)),
            Test::Class(cs) => match v.to_ip() {
                Some(ip) => cs.iter().any(|c| c == portent_core::value::ip_class(ip)),
                None => v
                    .to_text()
                    .is_some_and(|t| cs.iter().any(|c| c.eq_ignore_ascii_case(&t))),
            },
        };
        r != self.negated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Record;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 10).unwrap()
    }

    const FILE: &str = r#"
[[exception]]
id = "maint-ps"
reason = "Nightly maintenance script calls the internal API"
owner = "it-ops@example.com"
created = "2025-12-01"
expires = "2026-06-01"
rules = ["t1043-commonly-used-port"]
[exception.match]
"Process Name" = { wildcard = '*\powershell.exe' }
destinationip = { cidr = ["10.0.0.0/8", "192.168.0.0/16"] }
destinationport = { ports = "443, 53" }
[exception.when]
hours = "01:00-04:00"
days = ["sat", "sun"]

[[exception]]
id = "old"
reason = "expired"
owner = "x"
created = "2025-01-01"
expires = "2025-02-01"
[exception.match]
username = "svc_backup"
"#;

    fn event(path: &str, ip: &str, port: i64, time: i64) -> Record<'static> {
        let mut r = Record::new();
        r.set(ids::PROCESS_NAME, Value::string(path.to_owned()));
        r.set(ids::DESTINATIONIP, Value::Ip(ip.parse().unwrap()));
        r.set(ids::DESTINATIONPORT, Value::Int(port));
        r.set(ids::STARTTIME, Value::Int(time));
        r.set(ids::USERNAME, Value::str("svc_backup"));
        r
    }

    #[test]
    fn conditions_windows_and_expiry() {
        let t = Tuning::parse(FILE, &Schema::qradar(), today()).unwrap();
        assert_eq!(t.exceptions.len(), 2);
        assert!(t.exceptions[1].expired);
        let active: Vec<&str> = t
            .for_rule("t1043-commonly-used-port")
            .map(|(_, e)| e.id.as_str())
            .collect();
        assert_eq!(active, ["maint-ps"]);
        assert_eq!(t.for_rule("other").count(), 0);
        let e = &t.exceptions[0];
        let utc = Zone::utc();
        // Saturday 2026-01-10 02:30 UTC.
        let sat_night = 1_768_012_200_000;
        assert!(e.matches(
            &event(
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\POWERSHELL.EXE",
                "10.1.2.3",
                443,
                sat_night
            ),
            &utc
        ));
        assert!(
            !e.matches(
                &event("C:\\x\\powershell.exe", "8.8.8.8", 443, sat_night),
                &utc
            ),
            "public address"
        );
        assert!(
            !e.matches(
                &event("C:\\x\\powershell.exe", "10.1.2.3", 80, sat_night),
                &utc
            ),
            "port"
        );
        assert!(
            !e.matches(
                &event(
                    "C:\\x\\powershell.exe",
                    "10.1.2.3",
                    443,
                    sat_night + 3 * 3_600_000
                ),
                &utc
            ),
            "after 04:00"
        );
        assert!(
            !e.matches(
                &event(
                    "C:\\x\\powershell.exe",
                    "10.1.2.3",
                    443,
                    sat_night - 5 * 86_400_000
                ),
                &utc
            ),
            "Monday"
        );
        assert!(
            !e.matches(&Record::new(), &utc),
            "missing fields never match"
        );
    }

    #[test]
    fn bad_entries_are_errors_with_places() {
        let bad = "[[exception]]\nid = \"a\"\nreason = \"r\"\nowner = \"o\"\ncreated = \"2025-13-01\"\n[exception.match]\n\"Proces Name\" = \"x\"\ndestinationip = { cidr = \"10.0.0.0/33\" }\nsourceport = { regex = \"(\" }\nusername = { exact = \"a\", regex = \"b\" }\n";
        let errs = Tuning::parse(bad, &Schema::qradar(), today()).unwrap_err();
        let text: Vec<String> = errs.iter().map(|d| d.render("t.toml", bad)).collect();
        let all = text.join("\n");
        assert!(all.contains("not a date"), "{all}");
        assert!(
            all.contains("unknown field `Proces Name`; did you mean `Process Name`?"),
            "{all}"
        );
        assert!(all.contains("t.toml:7:1"), "{all}");
        assert!(all.contains("bad CIDR"), "{all}");
        assert!(all.contains("bad regex"), "{all}");
        assert!(all.contains("exactly one of"), "{all}");
        let syntax = Tuning::parse("[[exception]\nid=", &Schema::qradar(), today()).unwrap_err();
        assert!(syntax[0]
            .render("t.toml", "[[exception]\nid=")
            .contains("t.toml:1:"));
    }

    #[test]
    fn classes() {
        let f = "[[exception]]\nid = \"a\"\nreason = \"r\"\nowner = \"o\"\ncreated = \"2025-01-01\"\n[exception.match]\ndestinationip = { class = [\"private\", \"loopback\"] }\n";
        let t = Tuning::parse(f, &Schema::qradar(), today()).unwrap();
        let e = &t.exceptions[0];
        assert!(e.matches(&event("x", "127.0.0.1", 1, 0), &Zone::utc()));
        assert!(!e.matches(&event("x", "1.1.1.1", 1, 0), &Zone::utc()));
    }
}
