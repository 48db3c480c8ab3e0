//! Sigma documents into rules: metadata, log source and detection, checked
//! with the line and column of whatever is wrong. A file may hold several
//! documents (`---`), Sigma filters (`filter:`, applied to the rules they
//! name) and collection actions (`action: global` / `reset` / `repeat`).

use crate::value::Modifier;
use crate::yaml::{documents, Node, Pos};
use crate::Error;

/// One `field|modifier|...: values` of a search.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldMatch {
    /// The field (`None`: a keyword list under `'|all'`).
    pub field: Option<String>,
    /// Modifiers, in order.
    pub modifiers: Vec<Modifier>,
    /// The values (any of them, or all with `all`).
    pub values: Vec<Node>,
    /// Where the key is.
    pub pos: Pos,
}

/// A search identifier's body.
#[derive(Clone, Debug, PartialEq)]
pub enum Search {
    /// A map: every field match holds.
    Map(Vec<FieldMatch>),
    /// A list of maps: any of them holds.
    AnyOf(Vec<Vec<FieldMatch>>),
    /// A list of plain values: keywords, any of which occurs in the event.
    Keywords(Vec<Node>),
}

/// A detection: named searches and the condition(s) over them.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Searches by name.
    pub searches: Vec<(String, Pos, Search)>,
    /// Conditions (a list is OR-ed), each with where it is.
    pub conditions: Vec<(String, Pos)>,
}

/// A Sigma log source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `product`
    pub product: Option<String>,
    /// `category`
    pub category: Option<String>,
    /// `service`
    pub service: Option<String>,
}

/// A Sigma detection rule.
#[derive(Clone, Debug, PartialEq)]
pub struct SigmaRule {
    /// `title`
    pub title: String,
    /// `id`
    pub id: Option<String>,
    /// `name`
    pub name: Option<String>,
    /// `status`
    pub status: Option<String>,
    /// `level`
    pub level: Option<String>,
    /// `author` (alerts must carry it: DRL 1.1)
    pub author: Option<String>,
    /// `description`
    pub description: Option<String>,
    /// `tags`
    pub tags: Vec<String>,
    /// `references`
    pub references: Vec<String>,
    /// `falsepositives`
    pub falsepositives: Vec<String>,
    /// `fields`: what an analyst wants to see.
    pub fields: Vec<String>,
    /// `date`
    pub date: Option<String>,
    /// `modified`
    pub modified: Option<String>,
    /// `license`
    pub license: Option<String>,
    /// `logsource`
    pub logsource: LogSource,
    /// `detection`
    pub detection: Detection,
    /// Filters applied to this rule (their detections are AND-ed in).
    pub filters: Vec<(String, Detection)>,
    /// The file (and document) it came from.
    pub origin: String,
    /// Where the document starts.
    pub pos: Pos,
}

/// A document that was not loaded, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    /// The file (and document).
    pub origin: String,
    /// Its title, if it has one.
    pub title: Option<String>,
    /// Its id, if it has one.
    pub id: Option<String>,
    /// Why.
    pub error: Error,
}

/// What a file held.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    /// Rules that loaded.
    pub rules: Vec<SigmaRule>,
    /// Documents that did not.
    pub rejected: Vec<Rejected>,
    /// Filters that name no loaded rule: (origin, title).
    pub unused_filters: Vec<(String, String)>,
    /// Correlation rules, in file order (what they name is not resolved here:
    /// it may be in another file).
    pub correlations: Vec<crate::correlation::Correlation>,
}

pub(crate) fn text(n: &Node, what: &str) -> Result<String, Error> {
    match n {
        Node::Null(p) => Err(Error::at(*p, format!("`{what}` is empty"))),
        Node::Seq(_, p) | Node::Map(_, p) => Err(Error::at(
            *p,
            format!("`{what}` must be a single value, not {}", n.kind()),
        )),
        other => Ok(other.text().unwrap_or_default()),
    }
}

pub(crate) fn opt_text(doc: &Node, key: &str) -> Result<Option<String>, Error> {
    doc.get(key).map(|n| text(n, key)).transpose()
}

pub(crate) fn list(doc: &Node, key: &str) -> Result<Vec<String>, Error> {
    match doc.get(key) {
        None | Some(Node::Null(_)) => Ok(Vec::new()),
        Some(Node::Seq(items, _)) => items.iter().map(|i| text(i, key)).collect(),
        Some(other) => Ok(vec![text(other, key)?]),
    }
}

fn field_matches(entries: &[(String, Pos, Node)]) -> Result<Vec<FieldMatch>, Error> {
    let mut out = Vec::new();
    for (key, pos, value) in entries {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or("");
        let mut modifiers = Vec::new();
        for m in parts {
            modifiers.push(Modifier::parse(m, *pos)?);
        }
        check_modifiers(&modifiers, *pos)?;
        let values = match value {
            Node::Seq(items, _) => {
                if let Some(m) = items
                    .iter()
                    .find(|i| matches!(i, Node::Map(..) | Node::Seq(..)))
                {
                    return Err(Error::at(
                        m.pos(),
                        format!("a value of `{key}` is {}", m.kind()),
                    ));
                }
                if items.len() > 1 && items.iter().any(|i| matches!(i, Node::Null(_))) {
                    return Err(Error::at(*pos, "`null` cannot be mixed into a list of values (Sigma spec): give it a selection of its own"));
                }
                items.clone()
            }
            Node::Map(_, p) => {
                return Err(Error::at(*p, format!("the value of `{key}` is a mapping")))
            }
            single => vec![single.clone()],
        };
        if values.is_empty() {
            return Err(Error::at(
                *pos,
                format!("`{key}` has an empty list of values"),
            ));
        }
        if modifiers.contains(&Modifier::All) && values.len() < 2 && !field.is_empty() {
            // Harmless, and SigmaHQ's linter warns: keep it.
        }
        out.push(FieldMatch {
            field: (!field.is_empty()).then(|| field.to_owned()),
            modifiers,
            values,
            pos: *pos,
        });
    }
    Ok(out)
}

/// Modifiers that cannot go together, or that need another.
fn check_modifiers(m: &[Modifier], pos: Pos) -> Result<(), Error> {
    use Modifier::*;
    let has = |x| m.contains(&x);
    let count = |xs: &[Modifier]| xs.iter().filter(|x| has(**x)).count();
    if count(&[Contains, StartsWith, EndsWith]) > 1 {
        return Err(Error::at(
            pos,
            "only one of contains, startswith and endswith may be used",
        ));
    }
    if (has(ReI) || has(ReM) || has(ReS)) && !has(Re) {
        return Err(Error::at(
            pos,
            "the regular expression flags i, m and s go with `re`",
        ));
    }
    if has(Re)
        && count(&[
            Contains,
            StartsWith,
            EndsWith,
            Cidr,
            Base64,
            Base64Offset,
            Windash,
        ]) > 0
    {
        return Err(Error::at(
            pos,
            "`re` does not combine with string or encoding modifiers",
        ));
    }
    if has(Cidr) && m.iter().any(|x| !matches!(x, Cidr | All)) {
        return Err(Error::at(pos, "`cidr` stands alone"));
    }
    if has(Exists) && m.len() > 1 {
        return Err(Error::at(pos, "`exists` stands alone"));
    }
    if count(&[Gt, Gte, Lt, Lte]) > 1 || (count(&[Gt, Gte, Lt, Lte]) == 1 && m.len() > 1) {
        return Err(Error::at(
            pos,
            "a numeric comparison (gt, gte, lt, lte) stands alone",
        ));
    }
    if count(&[Utf16Le, Utf16Be, Utf16]) > 0 && !(has(Base64) || has(Base64Offset)) {
        return Err(Error::at(pos, "utf16le, utf16be, utf16 and wide change bytes: follow them with base64 or base64offset"));
    }
    if has(Base64) && has(Base64Offset) {
        return Err(Error::at(pos, "base64 and base64offset do not combine"));
    }
    Ok(())
}

fn search(name: &str, pos: Pos, body: &Node) -> Result<Search, Error> {
    match body {
        Node::Map(entries, _) => {
            if entries.is_empty() {
                return Err(Error::at(pos, format!("search `{name}` is empty")));
            }
            Ok(Search::Map(field_matches(entries)?))
        }
        Node::Seq(items, p) => {
            if items.is_empty() {
                return Err(Error::at(*p, format!("search `{name}` is an empty list")));
            }
            if items.iter().all(|i| matches!(i, Node::Map(..))) {
                let maps = items
                    .iter()
                    .map(|i| match i {
                        Node::Map(e, _) => field_matches(e),
                        _ => Ok(Vec::new()),
                    })
                    .collect::<Result<_, _>>()?;
                return Ok(Search::AnyOf(maps));
            }
            if let Some(bad) = items
                .iter()
                .find(|i| matches!(i, Node::Map(..) | Node::Seq(..)))
            {
                return Err(Error::at(
                    bad.pos(),
                    format!("search `{name}` mixes keywords and maps"),
                ));
            }
            Ok(Search::Keywords(items.clone()))
        }
        Node::Str(..) | Node::Int(..) | Node::Float(..) => Ok(Search::Keywords(vec![body.clone()])),
        other => Err(Error::at(
            other.pos(),
            format!("search `{name}` is {}", other.kind()),
        )),
    }
}

fn detection(node: &Node, skip: &[&str]) -> Result<Detection, Error> {
    let Node::Map(entries, _) = node else {
        return Err(Error::at(
            node.pos(),
            format!("`detection` must be a mapping, not {}", node.kind()),
        ));
    };
    let mut searches = Vec::new();
    let mut conditions = Vec::new();
    for (key, pos, value) in entries {
        if key == "condition" {
            match value {
                Node::Str(s, p) => conditions.push((s.clone(), *p)),
                Node::Seq(items, _) => {
                    for i in items {
                        match i {
                            Node::Str(s, p) => conditions.push((s.clone(), *p)),
                            other => {
                                return Err(Error::at(other.pos(), "a condition must be text"))
                            }
                        }
                    }
                }
                other => {
                    return Err(Error::at(
                        other.pos(),
                        format!("`condition` must be text, not {}", other.kind()),
                    ))
                }
            }
        } else if key == "timeframe" {
            return Err(Error::at(
                *pos,
                "`timeframe` is Sigma 1 aggregation syntax; Sigma 2 has correlation rules",
            ));
        } else if !skip.contains(&key.as_str()) {
            searches.push((key.clone(), *pos, search(key, *pos, value)?));
        }
    }
    if conditions.is_empty() {
        return Err(Error::at(node.pos(), "`detection` has no `condition`"));
    }
    Ok(Detection {
        searches,
        conditions,
    })
}

fn logsource(doc: &Node) -> Result<LogSource, Error> {
    let Some(ls) = doc.get("logsource") else {
        return Err(Error::at(doc.pos(), "the rule has no `logsource`"));
    };
    if !matches!(ls, Node::Map(..)) {
        return Err(Error::at(ls.pos(), "`logsource` must be a mapping"));
    }
    let get = |k| opt_text(ls, k).map(|v| v.map(|s| s.to_ascii_lowercase()));
    Ok(LogSource {
        product: get("product")?,
        category: get("category")?,
        service: get("service")?,
    })
}

fn rule(doc: &Node, origin: &str) -> Result<SigmaRule, Error> {
    let title = match doc.get("title") {
        Some(t) => text(t, "title")?,
        None => return Err(Error::at(doc.pos(), "the rule has no `title`")),
    };
    let Some(det) = doc.get("detection") else {
        return Err(Error::at(doc.pos(), "the rule has no `detection`"));
    };
    Ok(SigmaRule {
        title,
        id: opt_text(doc, "id")?,
        name: opt_text(doc, "name")?,
        status: opt_text(doc, "status")?,
        level: opt_text(doc, "level")?,
        author: opt_text(doc, "author")?,
        description: opt_text(doc, "description")?,
        tags: list(doc, "tags")?,
        references: list(doc, "references")?,
        falsepositives: list(doc, "falsepositives")?,
        fields: list(doc, "fields")?,
        date: opt_text(doc, "date")?,
        modified: opt_text(doc, "modified")?,
        license: opt_text(doc, "license")?,
        logsource: logsource(doc)?,
        detection: detection(det, &[])?,
        filters: Vec::new(),
        origin: origin.to_owned(),
        pos: doc.pos(),
    })
}

/// `base` with `over`'s entries laid on top, mappings merged deeply.
fn merge(base: &Node, over: &Node) -> Node {
    match (base, over) {
        (Node::Map(b, p), Node::Map(o, _)) => {
            let mut out = b.clone();
            for (k, kp, v) in o {
                match out.iter_mut().find(|(bk, _, _)| bk == k) {
                    Some(slot) => slot.2 = merge(&slot.2, v),
                    None => out.push((k.clone(), *kp, v.clone())),
                }
            }
            Node::Map(out, *p)
        }
        (_, o) => o.clone(),
    }
}

/// Loads every document of a Sigma YAML text; `origin` names it in messages.
pub fn load(source: &str, origin: &str) -> Loaded {
    let mut out = Loaded::default();
    let docs = match documents(source) {
        Ok(d) => d,
        Err(error) => {
            out.rejected.push(Rejected {
                origin: origin.to_owned(),
                title: None,
                id: None,
                error,
            });
            return out;
        }
    };
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    let mut filters: Vec<(String, String, Vec<String>, Detection)> = Vec::new();
    let several = docs.len() > 1;
    for (i, doc) in docs.iter().enumerate() {
        let here = if several {
            format!("{origin} (document {})", i + 1)
        } else {
            origin.to_owned()
        };
        let reject = |out: &mut Loaded, error: Error| {
            out.rejected.push(Rejected {
                origin: here.clone(),
                title: doc.get("title").and_then(Node::text),
                id: doc.get("id").and_then(Node::text),
                error,
            })
        };
        if !matches!(doc, Node::Map(..)) {
            if matches!(doc, Node::Null(_)) {
                continue;
            }
            reject(
                &mut out,
                Error::at(
                    doc.pos(),
                    format!("a rule must be a mapping, not {}", doc.kind()),
                ),
            );
            continue;
        }
        match doc.get("action").and_then(Node::text).as_deref() {
            Some("global") => {
                global = Some(doc.clone());
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let Some(prev) = &previous else {
                    reject(
                        &mut out,
                        Error::at(doc.pos(), "`action: repeat` with no document before it"),
                    );
                    continue;
                };
                let merged = merge(prev, doc);
                previous = Some(merged.clone());
                match rule(&merged, &here) {
                    Ok(r) => out.rules.push(r),
                    Err(e) => reject(&mut out, e),
                }
                continue;
            }
            Some(other) => {
                reject(
                    &mut out,
                    Error::at(doc.pos(), format!("unknown collection action `{other}`")),
                );
                continue;
            }
            None => {}
        }
        let doc = match &global {
            Some(g) => merge(g, doc),
            None => doc.clone(),
        };
        if let Some(c) = doc.get("correlation") {
            match crate::correlation::correlation(&doc, c, &here) {
                Ok(c) => out.correlations.push(c),
                Err(e) => reject(&mut out, e),
            }
            continue;
        }
        if let Some(f) = doc.get("filter") {
            let title = doc.get("title").and_then(Node::text).unwrap_or_default();
            let rules = match f.get("rules") {
                Some(n @ Node::Seq(..)) => list(
                    &Node::Map(vec![("r".into(), n.pos(), n.clone())], n.pos()),
                    "r",
                ),
                Some(n) => text(n, "rules").map(|s| vec![s]),
                None => Err(Error::at(
                    f.pos(),
                    "a filter needs `rules`: the ids or names of the rules it applies to",
                )),
            };
            match rules.and_then(|r| detection(f, &["rules"]).map(|d| (r, d))) {
                Ok((r, d)) => filters.push((here.clone(), title, r, d)),
                Err(e) => reject(&mut out, e),
            }
            continue;
        }
        previous = Some(doc.clone());
        match rule(&doc, &here) {
            Ok(r) => out.rules.push(r),
            Err(e) => reject(&mut out, e),
        }
    }
    for (origin, title, targets, det) in filters {
        let mut used = false;
        for r in &mut out.rules {
            if targets
                .iter()
                .any(|t| Some(t) == r.id.as_ref() || Some(t) == r.name.as_ref())
            {
                r.filters.push((title.clone(), det.clone()));
                used = true;
            }
        }
        if !used {
            out.unused_filters.push((origin, title));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_loads_with_its_metadata() {
        let l = load(
            "title: T\nid: 1\nauthor: A, B\nlevel: high\ntags: [attack.t1105]\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\certutil.exe'\n  condition: sel\n",
            "r.yml",
        );
        assert!(l.rejected.is_empty(), "{:?}", l.rejected);
        let r = &l.rules[0];
        assert_eq!(
            (r.title.as_str(), r.author.as_deref(), r.level.as_deref()),
            ("T", Some("A, B"), Some("high"))
        );
        assert_eq!(r.tags, ["attack.t1105"]);
        let Search::Map(m) = &r.detection.searches[0].2 else {
            panic!()
        };
        assert_eq!(m[0].field.as_deref(), Some("Image"));
        assert_eq!(m[0].modifiers, [Modifier::EndsWith]);
    }

    #[test]
    fn errors_name_the_place() {
        let l = load("title: T\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswithh: x\n  condition: sel\n", "r.yml");
        let e = &l.rejected[0].error;
        assert_eq!((e.pos.line, e.pos.col), (5, 5));
        assert!(
            e.message.contains("unknown value modifier `endswithh`"),
            "{e}"
        );
        let l = load("title: T\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|expand: '%x%'\n  condition: sel\n", "r.yml");
        assert!(l.rejected[0].error.message.contains("placeholder"));
        let l = load("title: T\nlogsource: {product: windows}\ndetection:\n  sel:\n    a: [1, null]\n  condition: sel\n", "r.yml");
        assert!(l.rejected[0].error.message.contains("null"));
    }

    #[test]
    fn collections_and_filters() {
        let text = "action: global\nlogsource: {product: windows, category: process_creation}\nauthor: G\n---\ntitle: One\nid: r1\ndetection: {s: {Image: a}, condition: s}\n---\ntitle: F\nlogsource: {product: windows}\nfilter:\n  rules: [r1]\n  sel: {User: admin}\n  condition: not sel\n";
        let l = load(text, "c.yml");
        assert!(l.rejected.is_empty(), "{:?}", l.rejected);
        assert_eq!(l.rules.len(), 1);
        assert_eq!(l.rules[0].author.as_deref(), Some("G"));
        assert_eq!(l.rules[0].filters.len(), 1);
        let l = load("title: C\ncorrelation: {type: event_count}\n", "c.yml");
        assert!(l.rejected[0].error.message.contains("names no `rules`"));
    }
}
