//! Sigma correlation rules (correlation specification 2.0): a document with
//! a `correlation` section that counts or sequences the matches of other
//! rules, named by id or `name`. This module reads and checks them; which
//! rules they name is resolved by whoever holds the whole rule set, and the
//! windows are run by `portent_engine::correlation`.

use crate::rule::{list, opt_text, text};
use crate::yaml::{Node, Pos};
use crate::Error;

pub use portent_engine::correlation::{Bounds, Kind};

/// An alias of `correlation.aliases`: its name, and per rule (by name) the
/// field that holds it.
pub type Alias = (String, Vec<(String, String)>);

/// One Sigma correlation rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Correlation {
    /// `title`
    pub title: String,
    /// `id`
    pub id: Option<String>,
    /// `name`: how other correlations may name it.
    pub name: Option<String>,
    /// `level`
    pub level: Option<String>,
    /// `author`
    pub author: Option<String>,
    /// `description`
    pub description: Option<String>,
    /// `tags`
    pub tags: Vec<String>,
    /// `references`
    pub references: Vec<String>,
    /// `falsepositives`
    pub falsepositives: Vec<String>,
    /// `correlation.type`
    pub kind: Kind,
    /// `correlation.rules`: ids or names of rules or correlations, in order.
    pub rules: Vec<String>,
    /// `correlation.group-by` (empty: one group for everything).
    pub group_by: Vec<String>,
    /// `correlation.timespan`, in milliseconds.
    pub timespan_ms: i64,
    /// `correlation.condition` (for temporal types, `None` means all rules).
    pub condition: Option<Bounds>,
    /// `correlation.condition.field` of a `value_count`.
    pub field: Option<String>,
    /// `correlation.aliases`.
    pub aliases: Vec<Alias>,
    /// `correlation.generate`: the named rules also alert on their own.
    pub generate: bool,
    /// The file (and document) it came from.
    pub origin: String,
    /// Where the document starts.
    pub pos: Pos,
}

/// `90m` -> 5,400,000 ms. The specification's units, plus `w`, `M` and `y`
/// that pySigma also reads.
pub fn timespan_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let ms = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        'M' => 30 * 86_400_000,
        'y' => 365 * 86_400_000,
        _ => return None,
    };
    (n > 0).then(|| n.checked_mul(ms)).flatten()
}

fn count(n: &Node, key: &str) -> Result<u64, Error> {
    match n {
        Node::Int(i, _) if *i >= 0 => Ok(*i as u64),
        Node::Str(s, p) => s
            .trim()
            .parse()
            .map_err(|_| Error::at(*p, format!("`{key}` must be a whole number, not `{s}`"))),
        other => Err(Error::at(
            other.pos(),
            format!(
                "`{key}` must be a whole number of 0 or more, not {}",
                other.kind()
            ),
        )),
    }
}

fn condition(n: &Node, kind: Kind) -> Result<(Bounds, Option<String>), Error> {
    let Node::Map(entries, pos) = n else {
        return Err(Error::at(
            n.pos(),
            format!(
                "`condition` must be a mapping (`gte: 10`), not {}",
                n.kind()
            ),
        ));
    };
    let mut b = Bounds::default();
    let mut field = None;
    for (k, kp, v) in entries {
        let slot = match k.as_str() {
            "gt" => &mut b.gt,
            "gte" => &mut b.gte,
            "lt" => &mut b.lt,
            "lte" => &mut b.lte,
            "eq" => &mut b.eq,
            "field" => {
                field = Some(text(v, "field")?);
                continue;
            }
            other => {
                return Err(Error::at(
                    *kp,
                    format!(
                    "unknown condition `{other}` (gt, gte, lt, lte, eq, and field for value_count)"
                ),
                ))
            }
        };
        *slot = Some(count(v, k)?);
    }
    if b == Bounds::default() {
        return Err(Error::at(
            *pos,
            "`condition` has no bound (gt, gte, lt, lte or eq)",
        ));
    }
    match (kind, &field) {
        (Kind::ValueCount, None) => Err(Error::at(
            *pos,
            "a value_count needs `field` in its condition: the field whose distinct values are counted",
        )),
        (Kind::ValueCount, Some(_)) | (_, None) => Ok((b, field)),
        (_, Some(_)) => Err(Error::at(
            *pos,
            format!("`field` belongs to value_count, not {}", kind.name()),
        )),
    }
}

fn aliases(n: &Node) -> Result<Vec<Alias>, Error> {
    let Node::Map(entries, _) = n else {
        return Err(Error::at(
            n.pos(),
            "`aliases` must map each alias to `rule name: field` pairs",
        ));
    };
    let mut out = Vec::new();
    for (alias, _, per_rule) in entries {
        let Node::Map(pairs, p) = per_rule else {
            return Err(Error::at(
                per_rule.pos(),
                format!("alias `{alias}` must map rule names to field names"),
            ));
        };
        if pairs.is_empty() {
            return Err(Error::at(*p, format!("alias `{alias}` names no rule")));
        }
        let mut fields = Vec::new();
        for (rule, _, field) in pairs {
            fields.push((rule.clone(), text(field, "alias field")?));
        }
        out.push((alias.clone(), fields));
    }
    Ok(out)
}

/// Reads a document whose `correlation` section is `c`.
pub fn correlation(doc: &Node, c: &Node, origin: &str) -> Result<Correlation, Error> {
    let title = match doc.get("title") {
        Some(t) => text(t, "title")?,
        None => return Err(Error::at(doc.pos(), "the correlation has no `title`")),
    };
    if !matches!(c, Node::Map(..)) {
        return Err(Error::at(c.pos(), "`correlation` must be a mapping"));
    }
    let kind = match c.get("type").map(|t| text(t, "type")).transpose()? {
        Some(t) => match t.as_str() {
            "event_count" => Kind::EventCount,
            "value_count" => Kind::ValueCount,
            "temporal" => Kind::Temporal,
            "temporal_ordered" => Kind::TemporalOrdered,
            other => {
                return Err(Error::at(
                    c.get("type").map_or(c.pos(), Node::pos),
                    format!("unknown correlation type `{other}` (event_count, value_count, temporal, temporal_ordered)"),
                ))
            }
        },
        None => return Err(Error::at(c.pos(), "the correlation has no `type`")),
    };
    let rules = list(c, "rules")?;
    if rules.is_empty() {
        return Err(Error::at(
            c.pos(),
            "the correlation names no `rules` (ids or names of the rules it correlates)",
        ));
    }
    let timespan_ms = match c.get("timespan") {
        Some(t) => {
            let s = text(t, "timespan")?;
            timespan_ms(&s).ok_or_else(|| {
                Error::at(
                    t.pos(),
                    format!("`timespan: {s}` is not a number and a unit (30s, 5m, 1h, 7d)"),
                )
            })?
        }
        None => return Err(Error::at(c.pos(), "the correlation has no `timespan`")),
    };
    let (bounds, field) = match c.get("condition") {
        Some(n) => {
            let (b, f) = condition(n, kind)?;
            (Some(b), f)
        }
        None if matches!(kind, Kind::Temporal | Kind::TemporalOrdered) => (None, None),
        None => {
            return Err(Error::at(
                c.pos(),
                format!("a {} needs a `condition` (`gte: 10`)", kind.name()),
            ))
        }
    };
    if kind == Kind::TemporalOrdered {
        if let Some(b) = bounds {
            let n = rules.len() as u64;
            let all = Bounds {
                gte: Some(n),
                ..Bounds::default()
            };
            let exactly = Bounds {
                eq: Some(n),
                ..Bounds::default()
            };
            if b != all && b != exactly {
                return Err(Error::at(
                    c.get("condition").map_or(c.pos(), Node::pos),
                    format!("a temporal_ordered correlation matches when all {n} rules occur in order; a condition other than `gte: {n}` has no defined meaning"),
                ));
            }
        }
    }
    let generate = match c.get("generate").or_else(|| doc.get("generate")) {
        None | Some(Node::Null(_)) => false,
        Some(Node::Bool(b, _)) => *b,
        Some(other) => {
            return Err(Error::at(
                other.pos(),
                format!("`generate` is true or false, not {}", other.kind()),
            ))
        }
    };
    Ok(Correlation {
        title,
        id: opt_text(doc, "id")?,
        name: opt_text(doc, "name")?,
        level: opt_text(doc, "level")?,
        author: opt_text(doc, "author")?,
        description: opt_text(doc, "description")?,
        tags: list(doc, "tags")?,
        references: list(doc, "references")?,
        falsepositives: list(doc, "falsepositives")?,
        kind,
        rules,
        group_by: list(c, "group-by")?,
        timespan_ms,
        condition: bounds,
        field,
        aliases: c
            .get("aliases")
            .map(aliases)
            .transpose()?
            .unwrap_or_default(),
        generate,
        origin: origin.to_owned(),
        pos: doc.pos(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;

    const BRUTE_FORCE: &str = "\
title: Many failed logons, then a success
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
name: multiple_failed_login
correlation:
    type: event_count
    rules: failed_login
    group-by: [User]
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
name: failed_login
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
";

    #[test]
    fn the_specification_example_loads() {
        let l = load(BRUTE_FORCE, "b.yml");
        assert!(l.rejected.is_empty(), "{:?}", l.rejected);
        assert_eq!(l.rules.len(), 1);
        assert_eq!(l.correlations.len(), 2);
        let outer = &l.correlations[0];
        assert_eq!(outer.kind, Kind::TemporalOrdered);
        assert_eq!(outer.rules, ["multiple_failed_login", "successful_login"]);
        assert_eq!(outer.timespan_ms, 600_000);
        assert_eq!(outer.condition, None);
        let inner = &l.correlations[1];
        assert_eq!(inner.rules, ["failed_login"]);
        assert_eq!(inner.group_by, ["User"]);
        assert_eq!(inner.condition.unwrap().gte, Some(10));
        assert!(!inner.generate);
    }

    fn reason(yaml: &str) -> String {
        let l = load(yaml, "x.yml");
        assert!(l.correlations.is_empty(), "{yaml}");
        l.rejected[0].error.to_string()
    }

    #[test]
    fn broken_correlations_say_where_and_why() {
        let head = "title: c\ncorrelation:\n  rules: [a]\n";
        assert!(reason(&format!("{head}  type: count\n  timespan: 1h\n"))
            .contains("unknown correlation type `count`"));
        assert!(
            reason(&format!("{head}  type: event_count\n  timespan: 1h\n"))
                .contains("needs a `condition`")
        );
        assert!(reason(&format!(
            "{head}  type: event_count\n  timespan: 1 hour\n  condition: {{gte: 2}}\n"
        ))
        .starts_with("5:13: `timespan: 1 hour`"));
        assert!(reason(&format!(
            "{head}  type: value_count\n  timespan: 1h\n  condition: {{gte: 2}}\n"
        ))
        .contains("needs `field`"));
        assert!(reason(&format!(
            "{head}  type: event_count\n  timespan: 1h\n  condition: {{more: 2}}\n"
        ))
        .contains("unknown condition `more`"));
        assert!(reason(&format!(
            "{head}  type: temporal_ordered\n  timespan: 1h\n  condition: {{gte: 5}}\n"
        ))
        .contains("in order"));
        assert!(
            reason("title: c\ncorrelation:\n  type: temporal\n  timespan: 1h\n")
                .contains("names no `rules`")
        );
    }

    #[test]
    fn timespans() {
        assert_eq!(timespan_ms("30s"), Some(30_000));
        assert_eq!(timespan_ms("90m"), Some(5_400_000));
        assert_eq!(timespan_ms("2d"), Some(172_800_000));
        assert_eq!(timespan_ms("0s"), None);
        assert_eq!(timespan_ms("m"), None);
        assert_eq!(timespan_ms("5x"), None);
        assert_eq!(timespan_ms("-5m"), None);
    }
}
