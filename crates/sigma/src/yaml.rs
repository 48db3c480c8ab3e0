//! YAML documents as a small tree with the line and column of every node,
//! read with `saphyr` (a maintained YAML 1.2 parser that keeps positions), so
//! that every error in a rule can point at its place.

use crate::Error;
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// Where a node starts: 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// A YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `null`, `~` or nothing.
    Null(Pos),
    /// `true` / `false`.
    Bool(bool, Pos),
    /// An integer.
    Int(i64, Pos),
    /// A float.
    Float(f64, Pos),
    /// A string.
    Str(String, Pos),
    /// A sequence.
    Seq(Vec<Node>, Pos),
    /// A mapping, in document order.
    Map(Vec<(String, Pos, Node)>, Pos),
}

impl Node {
    /// Where the node starts.
    pub fn pos(&self) -> Pos {
        match self {
            Node::Null(p)
            | Node::Bool(_, p)
            | Node::Int(_, p)
            | Node::Float(_, p)
            | Node::Str(_, p)
            | Node::Seq(_, p)
            | Node::Map(_, p) => *p,
        }
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries, _) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    /// A scalar as text (`null` is `None`).
    pub fn text(&self) -> Option<String> {
        match self {
            Node::Str(s, _) => Some(s.clone()),
            Node::Int(i, _) => Some(i.to_string()),
            Node::Float(f, _) => Some(f.to_string()),
            Node::Bool(b, _) => Some(b.to_string()),
            _ => None,
        }
    }

    /// What kind of node, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null(_) => "null",
            Node::Bool(..) => "a boolean",
            Node::Int(..) | Node::Float(..) => "a number",
            Node::Str(..) => "a string",
            Node::Seq(..) => "a list",
            Node::Map(..) => "a mapping",
        }
    }
}

fn pos(y: &MarkedYaml<'_>) -> Pos {
    Pos {
        line: y.span.start.line(),
        col: y.span.start.col() + 1,
    }
}

fn convert(y: &MarkedYaml<'_>, depth: usize) -> Result<Node, Error> {
    let p = pos(y);
    if depth > 64 {
        return Err(Error::at(p, "YAML nested more than 64 deep"));
    }
    Ok(match &y.data {
        YamlData::Value(Scalar::Null) => Node::Null(p),
        YamlData::Value(Scalar::Boolean(b)) => Node::Bool(*b, p),
        YamlData::Value(Scalar::Integer(i)) => Node::Int(*i, p),
        YamlData::Value(Scalar::FloatingPoint(f)) => Node::Float(f.into_inner(), p),
        YamlData::Value(Scalar::String(s)) => Node::Str(s.to_string(), p),
        YamlData::Representation(s, _, _) => Node::Str(s.to_string(), p),
        YamlData::Sequence(items) => Node::Seq(
            items
                .iter()
                .map(|i| convert(i, depth + 1))
                .collect::<Result<_, _>>()?,
            p,
        ),
        YamlData::Mapping(map) => {
            let mut entries = Vec::new();
            for (k, v) in map {
                let key = match &k.data {
                    YamlData::Value(s) => match s {
                        Scalar::String(s) => s.to_string(),
                        Scalar::Integer(i) => i.to_string(),
                        Scalar::Boolean(b) => b.to_string(),
                        Scalar::FloatingPoint(f) => f.to_string(),
                        Scalar::Null => "null".into(),
                    },
                    YamlData::Representation(s, _, _) => s.to_string(),
                    _ => return Err(Error::at(pos(k), "a mapping key must be a plain value")),
                };
                entries.push((key, pos(k), convert(v, depth + 1)?));
            }
            Node::Map(entries, p)
        }
        YamlData::Tagged(_, inner) => convert(inner, depth + 1)?,
        YamlData::Alias(_) => return Err(Error::at(p, "YAML aliases are not supported in rules")),
        YamlData::BadValue => return Err(Error::at(p, "not a valid YAML value")),
    })
}

/// Every document of a YAML text.
pub fn documents(text: &str) -> Result<Vec<Node>, Error> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let m = e.marker();
        Error::at(
            Pos {
                line: m.line(),
                col: m.col() + 1,
            },
            format!("not valid YAML: {}", e.info()),
        )
    })?;
    docs.iter().map(|d| convert(d, 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_kept_and_documents_split() {
        let docs = documents(
            "title: a\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n---\ntitle: b\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let sel = docs[0].get("detection").unwrap().get("sel").unwrap();
        let Node::Map(entries, _) = sel else { panic!() };
        assert_eq!(entries[0].0, "Image|endswith");
        assert_eq!(entries[0].1, Pos { line: 4, col: 5 });
        assert_eq!(
            entries[0].2,
            Node::Str("\\x.exe".into(), Pos { line: 4, col: 21 })
        );
        let err = documents("a: [1, 2\n").unwrap_err();
        assert!(err.message.starts_with("not valid YAML"), "{err:?}");
    }
}
