//! JSON arrays and concatenated JSON values cut into their elements without
//! parsing them: one pass over the bytes that tracks strings, escapes and
//! nesting, so that a file that is one array (on one line or many) is read
//! at the speed of reading lines, with memory for one element at a time,
//! and a broken element costs only itself.

use std::io::BufRead;

/// One element: its bytes, the line it starts on, and its place in its
/// array (`None` for a value outside any array).
pub struct Element<'b> {
    /// The element's text.
    pub bytes: &'b [u8],
    /// The line it starts on, from 1.
    pub line: usize,
    /// Its place in its array, from 1.
    pub index: Option<usize>,
}

/// What went wrong where, for the report.
pub enum Trouble {
    /// An element longer than the limit: skipped, not held.
    TooLong {
        /// The line it starts on.
        line: usize,
        /// Its place in its array.
        index: Option<usize>,
        /// Its length.
        bytes: usize,
    },
    /// Text that is no JSON value; reading stops there.
    Syntax {
        /// The line.
        line: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A read error.
    Io(std::io::Error),
}

/// Cuts `r` into its top-level values, and each top-level array into its
/// elements, handing each to `each`; at most `max` bytes are held for one.
pub fn split<R: BufRead>(
    r: &mut R,
    max: usize,
    each: &mut dyn FnMut(Element<'_>),
    trouble: &mut dyn FnMut(Trouble),
) {
    let mut s = Splitter {
        buf: Vec::new(),
        max,
        long: 0,
        line: 1,
        start: 1,
        depth: 0,
        open: false,
        in_array: false,
        expect: false,
        in_str: false,
        esc: false,
        index: 0,
    };
    loop {
        let chunk = match r.fill_buf() {
            Ok([]) => break,
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return trouble(Trouble::Io(e)),
        };
        let n = chunk.len();
        for &b in chunk {
            if let Err(what) = s.byte(b, each, trouble) {
                return trouble(Trouble::Syntax { line: s.line, what });
            }
        }
        r.consume(n);
    }
    if s.open && s.depth == 0 && !s.in_str && !s.in_array {
        s.finish(each, trouble);
    } else if s.open || s.in_array {
        trouble(Trouble::Syntax {
            line: s.line,
            what: "the text ends inside a value",
        });
    }
}

struct Splitter {
    buf: Vec<u8>,
    max: usize,
    /// Bytes of the current element past `max` (it is being skipped).
    long: usize,
    line: usize,
    /// The line the current element started on.
    start: usize,
    /// Nesting inside the current element.
    depth: usize,
    /// An element is being collected.
    open: bool,
    /// Inside a top-level array.
    in_array: bool,
    /// An element must come next (after `[` or `,`).
    expect: bool,
    in_str: bool,
    esc: bool,
    index: usize,
}

impl Splitter {
    fn push(&mut self, b: u8) {
        if self.long > 0 || self.buf.len() >= self.max {
            self.long += 1;
        } else {
            self.buf.push(b);
        }
    }

    fn finish(&mut self, each: &mut dyn FnMut(Element<'_>), trouble: &mut dyn FnMut(Trouble)) {
        let index = self.in_array.then_some(self.index);
        if self.long > 0 {
            trouble(Trouble::TooLong {
                line: self.start,
                index,
                bytes: self.buf.len() + self.long,
            });
        } else {
            each(Element {
                bytes: &self.buf,
                line: self.start,
                index,
            });
        }
        self.buf.clear();
        self.long = 0;
        self.open = false;
        self.depth = 0;
    }

    fn byte(
        &mut self,
        b: u8,
        each: &mut dyn FnMut(Element<'_>),
        trouble: &mut dyn FnMut(Trouble),
    ) -> Result<(), &'static str> {
        if b == b'\n' {
            self.line += 1;
        }
        if !self.open {
            if b.is_ascii_whitespace() {
                return Ok(());
            }
            if self.in_array {
                match b {
                    b',' if !self.expect => {
                        self.expect = true;
                        return Ok(());
                    }
                    b']' if !self.expect || self.index == 0 => {
                        self.in_array = false;
                        return Ok(());
                    }
                    b',' | b']' => return Err("a missing array element"),
                    _ if !self.expect => return Err("a missing comma between array elements"),
                    _ => {
                        self.expect = false;
                        self.index += 1;
                    }
                }
            } else if b == b'[' {
                self.in_array = true;
                self.expect = true;
                self.index = 0;
                return Ok(());
            }
            self.open = true;
            self.start = self.line;
        }
        if self.in_str {
            self.push(b);
            if self.esc {
                self.esc = false;
            } else if b == b'\\' {
                self.esc = true;
            } else if b == b'"' {
                self.in_str = false;
            }
            return Ok(());
        }
        match b {
            b'"' => {
                self.in_str = true;
                self.push(b);
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.push(b);
            }
            b'}' | b']' if self.depth > 0 => {
                self.depth -= 1;
                self.push(b);
                if self.depth == 0 && !self.in_array {
                    self.finish(each, trouble);
                }
            }
            // The end of an element in an array: a comma or the array's close.
            b',' | b']' if self.depth == 0 && self.in_array => {
                self.finish(each, trouble);
                if b == b']' {
                    self.in_array = false;
                } else {
                    self.expect = true;
                }
            }
            b'}' | b']' | b',' if self.depth == 0 => return Err("an unmatched bracket or comma"),
            // A bare value (a number, true) outside an array ends at white space.
            _ if self.depth == 0 && !self.in_array && b.is_ascii_whitespace() => {
                self.finish(each, trouble);
            }
            _ => self.push(b),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value as J;

    type Cut = (Vec<(J, usize, Option<usize>)>, Vec<String>);

    fn cut(text: &str) -> Cut {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        split(
            &mut text.as_bytes(),
            1 << 20,
            &mut |e| {
                let v = serde_json::from_slice(e.bytes).unwrap_or(J::Null);
                out.push((v, e.line, e.index));
            },
            &mut |t| {
                bad.push(match t {
                    Trouble::TooLong { line, .. } => format!("long at {line}"),
                    Trouble::Syntax { line, what } => format!("{what} at {line}"),
                    Trouble::Io(e) => e.to_string(),
                })
            },
        );
        (out, bad)
    }

    #[test]
    fn arrays_objects_and_scalars_with_places() {
        let (out, bad) =
            cut("[{\"a\": \"x]}\\\"\"},\n 2, \"s,\" ,[1,[2]]]\n{\"b\": {\"c\": [1]}}\n[]\n7\n");
        assert!(bad.is_empty(), "{bad:?}");
        let got: Vec<(String, usize, Option<usize>)> = out
            .iter()
            .map(|(v, l, i)| (v.to_string(), *l, *i))
            .collect();
        assert_eq!(
            got,
            vec![
                (r#"{"a":"x]}\""}"#.into(), 1, Some(1)),
                ("2".into(), 2, Some(2)),
                (r#""s,""#.into(), 2, Some(3)),
                ("[1,[2]]".into(), 2, Some(4)),
                (r#"{"b":{"c":[1]}}"#.into(), 3, None),
                ("7".into(), 5, None),
            ]
        );
    }

    #[test]
    fn broken_text_is_said_where() {
        // Inside an element the splitter does not parse: `1 2` is one
        // element, which the reader then reports as invalid JSON alone.
        let (out, bad) = cut("[1 2, 3]");
        assert!(bad.is_empty(), "{bad:?}");
        let got: Vec<(J, Option<usize>)> = out.into_iter().map(|(v, _, i)| (v, i)).collect();
        assert_eq!(got, vec![(J::Null, Some(1)), (J::from(3), Some(2))]);
        assert_eq!(cut("[1] 2]").1, vec!["an unmatched bracket or comma at 1"]);
        assert_eq!(cut("[1,,2]").1, vec!["a missing array element at 1"]);
        assert_eq!(
            cut("[{\"a\":1}").1,
            vec!["the text ends inside a value at 1"]
        );
        assert_eq!(cut("\n}").1, vec!["an unmatched bracket or comma at 2"]);
    }

    #[test]
    fn an_element_over_the_limit_is_skipped_not_held() {
        let text = format!("[1,\"{}\",3]", "x".repeat(100));
        let mut got = Vec::new();
        let mut long = Vec::new();
        split(
            &mut text.as_bytes(),
            10,
            &mut |e| got.push(String::from_utf8_lossy(e.bytes).into_owned()),
            &mut |t| {
                if let Trouble::TooLong { index, bytes, .. } = t {
                    long.push((index, bytes));
                }
            },
        );
        assert_eq!(got, vec!["1", "3"]);
        assert_eq!(long, vec![(Some(2), 102)]);
    }

    fn json() -> impl Strategy<Value = J> {
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            "[ -~\\n\\t\"\\\\\\[\\]{},é]{0,12}".prop_map(J::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(J::Array),
                proptest::collection::btree_map("[a-z\\[\\],{}\"]{0,4}", inner, 0..4)
                    .prop_map(|m| J::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// However an array is written (compact or pretty), its elements
        /// come out as they went in.
        #[test]
        fn elements_are_the_arrays_elements(items in proptest::collection::vec(json(), 0..6), pretty in any::<bool>()) {
            let doc = J::Array(items.clone());
            let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
            let (out, bad) = cut(&text);
            prop_assert!(bad.is_empty(), "{:?}", bad);
            let got: Vec<J> = out.into_iter().map(|(v, _, _)| v).collect();
            prop_assert_eq!(got, items);
        }
    }
}
