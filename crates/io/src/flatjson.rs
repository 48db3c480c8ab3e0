//! A single pass over a JSON document that hands each wanted leaf to a callback
//! with its path, borrowing strings from the input where it can and skipping
//! unwanted subtrees without building them. Reading EVTX records this way,
//! instead of into `serde_json::Value`, avoids a map and an allocation per key.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as J;
use std::borrow::Cow;
use std::fmt;

/// A leaf value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// null
    Null,
    /// true / false
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// Text, borrowed when it had no escapes.
    Str(Cow<'a, str>),
    /// An array, kept whole.
    Array(J),
}

impl Scalar<'_> {
    /// As a JSON value (owned).
    pub fn into_json(self) -> J {
        match self {
            Scalar::Null => J::Null,
            Scalar::Bool(b) => J::Bool(b),
            Scalar::Int(i) => J::from(i),
            Scalar::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            Scalar::Str(s) => J::String(s.into_owned()),
            Scalar::Array(a) => a,
        }
    }
}

/// Decides, from the path of the parent keys and a key, whether to descend.
pub type Want<'w, 'de> = dyn FnMut(&[Cow<'de, str>], &str) -> bool + 'w;
/// Receives a leaf: the full path (parents and its own key) and the value.
pub type Leaf<'w, 'de> = dyn FnMut(&[Cow<'de, str>], Scalar<'de>) + 'w;

/// Walks `json`, calling `leaf` for every scalar under wanted keys.
pub fn walk<'de>(
    json: &'de [u8],
    want: &mut Want<'_, 'de>,
    leaf: &mut Leaf<'_, 'de>,
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let mut w = Walker {
        path: Vec::with_capacity(8),
        want,
        leaf,
    };
    (&mut w).deserialize(&mut de)?;
    de.end()
}

struct Walker<'w, 'de> {
    path: Vec<Cow<'de, str>>,
    want: &'w mut Want<'w, 'de>,
    leaf: &'w mut Leaf<'w, 'de>,
}

impl<'de> DeserializeSeed<'de> for &mut Walker<'_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

impl<'de> Visitor<'de> for &mut Walker<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            if !(self.want)(&self.path, &key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            self.path.push(key);
            map.next_value_seed(&mut *self)?;
            self.path.pop();
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<J>()? {
            items.push(v);
        }
        (self.leaf)(&self.path, Scalar::Array(J::Array(items)));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        (self.leaf)(&self.path, Scalar::Null);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        (self.leaf)(&self.path, Scalar::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        (self.leaf)(&self.path, Scalar::Int(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let s = i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int);
        (self.leaf)(&self.path, s);
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        (self.leaf)(&self.path, Scalar::Float(v));
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        (self.leaf)(&self.path, Scalar::Str(Cow::Borrowed(v)));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        (self.leaf)(&self.path, Scalar::Str(Cow::Owned(v.to_owned())));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_with_paths_and_skipped_subtrees() {
        let doc = br#"{"a":{"b":1,"skip":{"deep":[1,2]},"c":"x\ty","d":[1,"z"]},"e":null,"f":true,"g":2.5}"#;
        let mut seen = Vec::new();
        walk(doc, &mut |_, k| k != "skip", &mut |p, v| {
            seen.push((p.join("."), v));
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                ("a.b".into(), Scalar::Int(1)),
                ("a.c".into(), Scalar::Str("x\ty".into())),
                ("a.d".into(), Scalar::Array(serde_json::json!([1, "z"]))),
                ("e".into(), Scalar::Null),
                ("f".into(), Scalar::Bool(true)),
                ("g".into(), Scalar::Float(2.5)),
            ]
        );
        assert!(walk(b"{\"a\":", &mut |_, _| true, &mut |_, _| {}).is_err());
    }
}
