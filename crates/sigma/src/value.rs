//! Sigma values and modifiers: wildcards and escapes, and the value
//! transformations (windash, utf16, base64, base64offset) that happen before
//! matching.

use crate::yaml::Pos;
use crate::Error;

/// A value modifier (`field|contains|all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    /// `contains`
    Contains,
    /// `startswith`
    StartsWith,
    /// `endswith`
    EndsWith,
    /// `all`: every value, not any.
    All,
    /// `re`, with its `i`, `m` and `s` flags.
    Re,
    /// `i` after `re`.
    ReI,
    /// `m` after `re`.
    ReM,
    /// `s` after `re`.
    ReS,
    /// `windash`
    Windash,
    /// `cidr`
    Cidr,
    /// `base64`
    Base64,
    /// `base64offset`
    Base64Offset,
    /// `utf16le` / `wide`
    Utf16Le,
    /// `utf16be`
    Utf16Be,
    /// `utf16` (with a byte order mark)
    Utf16,
    /// `exists`
    Exists,
    /// `cased`
    Cased,
    /// `fieldref`
    FieldRef,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `neq`
    Neq,
}

impl Modifier {
    /// The modifier named `name`; an error for unknown or unsupported ones.
    pub fn parse(name: &str, pos: Pos) -> Result<Modifier, Error> {
        Ok(match name {
            "contains" => Modifier::Contains,
            "startswith" => Modifier::StartsWith,
            "endswith" => Modifier::EndsWith,
            "all" => Modifier::All,
            "re" => Modifier::Re,
            "i" => Modifier::ReI,
            "m" => Modifier::ReM,
            "s" => Modifier::ReS,
            "windash" => Modifier::Windash,
            "cidr" => Modifier::Cidr,
            "base64" => Modifier::Base64,
            "base64offset" => Modifier::Base64Offset,
            "utf16le" | "wide" => Modifier::Utf16Le,
            "utf16be" => Modifier::Utf16Be,
            "utf16" => Modifier::Utf16,
            "exists" => Modifier::Exists,
            "cased" => Modifier::Cased,
            "fieldref" => Modifier::FieldRef,
            "gt" => Modifier::Gt,
            "gte" => Modifier::Gte,
            "lt" => Modifier::Lt,
            "lte" => Modifier::Lte,
            "neq" => Modifier::Neq,
            "expand" => {
                return Err(Error::at(
                    pos,
                    "`expand` needs placeholder values from a pipeline, and Portent has none: the rule cannot be used as it is (Sigma spec: unresolved placeholders reject the rule)",
                ))
            }
            "minute" | "hour" | "day" | "week" | "month" | "year" => {
                return Err(Error::at(
                    pos,
                    format!("the time-part modifier `{name}` is not supported yet"),
                ))
            }
            other => {
                return Err(Error::at(pos, format!("unknown value modifier `{other}`")))
            }
        })
    }
}

/// One piece of a Sigma string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `*`: any run of characters.
    Many,
    /// `?`: one character.
    One,
}

/// A Sigma string as pieces: `\*`, `\?` and `\\` are literal; a backslash
/// before anything else is itself (so `C:\Windows` and `C:\\Windows` agree).
pub fn pieces(s: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    text.push(n);
                    chars.next();
                }
                _ => text.push('\\'),
            },
            '*' | '?' => {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(if c == '*' { Piece::Many } else { Piece::One });
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

/// The text of pieces without wildcards (`None` if there are some).
pub fn plain(pieces: &[Piece]) -> Option<String> {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => s.push_str(t),
            _ => return None,
        }
    }
    Some(s)
}

/// Sigma's dash characters (`windash`): hyphen, slash, en dash, em dash, horizontal bar.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Every windash variant of `s`: each dash-like character replaced by each
/// dash, all the same way (as pySigma does).
pub fn windash(s: &str) -> Vec<String> {
    if !s.contains(DASHES) {
        return vec![s.to_owned()];
    }
    let mut out: Vec<String> = Vec::new();
    for d in DASHES {
        let v: String = s
            .chars()
            .map(|c| if DASHES.contains(&c) { d } else { c })
            .collect();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

pub use portent_engine::functions::base64;

/// The three `base64offset` variants of `bytes`: the base64 of the text at
/// each offset in a three-byte group, without the characters that depend on
/// the unknown bytes around it (Sigma's and pySigma's definition).
pub fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    // Characters to drop at the end, by (length + offset) % 3.
    const DROP: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(bytes);
            let enc = base64(&padded);
            let end = enc.len().saturating_sub(DROP[(bytes.len() + i) % 3]);
            enc.get(START[i]..end.max(START[i]))
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// `s` as UTF-16 bytes: little-endian, big-endian, or little-endian with a BOM.
pub fn utf16(s: &str, m: Modifier) -> Vec<u8> {
    let units = s.encode_utf16();
    match m {
        Modifier::Utf16Be => units.flat_map(u16::to_be_bytes).collect(),
        Modifier::Utf16 => [0xff, 0xfe]
            .into_iter()
            .chain(units.flat_map(u16::to_le_bytes))
            .collect(),
        _ => units.flat_map(u16::to_le_bytes).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_escapes_follow_the_spec() {
        use Piece::*;
        assert_eq!(
            pieces("C:\\Windows\\\\*.exe"),
            [Text("C:\\Windows\\".into()), Many, Text(".exe".into())]
        );
        assert_eq!(
            pieces("C:\\Windows\\*.exe"),
            [Text("C:\\Windows*.exe".into())],
            "an escaped star is a star"
        );
        assert_eq!(pieces("C:\\\\Windows"), [Text("C:\\Windows".into())]);
        assert_eq!(pieces("a\\*b"), [Text("a*b".into())]);
        assert_eq!(
            pieces("a\\\\*b"),
            [Text("a\\".into()), Many, Text("b".into())]
        );
        assert_eq!(pieces("a\\\\\\*"), [Text("a\\*".into())]);
        assert_eq!(pieces("x?y"), [Text("x".into()), One, Text("y".into())]);
    }

    #[test]
    fn encodings_match_known_values() {
        assert_eq!(base64(b"ping"), "cGluZw==");
        assert_eq!(base64(b"pin"), "cGlu");
        // pySigma's base64offset of "ping": the three shifted encodings.
        assert_eq!(base64_offsets(b"ping"), ["cGluZ", "Bpbm", "waW5n"]);
        assert_eq!(base64_offsets(b"pin"), ["cGlu", "Bpb", "waW"]);
        assert_eq!(utf16("A", Modifier::Utf16Le), [0x41, 0]);
        assert_eq!(utf16("A", Modifier::Utf16Be), [0, 0x41]);
        assert_eq!(utf16("A", Modifier::Utf16), [0xff, 0xfe, 0x41, 0]);
        assert_eq!(
            windash("-enc x"),
            [
                "-enc x",
                "/enc x",
                "\u{2013}enc x",
                "\u{2014}enc x",
                "\u{2015}enc x"
            ]
        );
        assert_eq!(windash("plain"), ["plain"]);
    }
}
