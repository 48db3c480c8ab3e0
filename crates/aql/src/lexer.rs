//! The hand-written lexer. It never fails outright: bad characters become
//! errors and lexing carries on, so a query's errors are reported together.

use crate::error::{Error, ErrorKind};
use crate::token::{Keyword, Token, TokenKind};
use portent_core::Span;

/// Splits `src` into tokens (ending with `Eof`) and the errors met on the way.
pub fn tokenize(src: &str) -> (Vec<Token>, Vec<Error>) {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lx.run();
    (lx.tokens, lx.errors)
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<Error>,
}

impl Lexer<'_> {
    fn run(&mut self) {
        loop {
            self.skip_trivia();
            let Some(&b) = self.bytes.get(self.pos) else {
                // The end sits right after the last token, not after trailing
                // newlines: "expected ... found the end" points at the line
                // where the query stops.
                let end = self.tokens.last().map_or(0, |t| t.span.end as usize);
                self.tokens.push(Token {
                    kind: TokenKind::Eof,
                    span: Span::new(end, end),
                });
                return;
            };
            let start = self.pos;
            match b {
                b'\'' => self.string(start),
                b'"' => self.quoted_ident(start),
                b'0'..=b'9' => self.number(start),
                b'.' if self.bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit) => {
                    self.number(start)
                }
                b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => self.word(start),
                _ => self.punct(start, b),
            }
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    fn skip_trivia(&mut self) {
        loop {
            while self
                .bytes
                .get(self.pos)
                .is_some_and(u8::is_ascii_whitespace)
            {
                self.pos += 1;
            }
            if self.src[self.pos..].starts_with("--") {
                while self.bytes.get(self.pos).is_some_and(|b| *b != b'\n') {
                    self.pos += 1;
                }
            } else if self.src[self.pos..].starts_with("/*") {
                let start = self.pos;
                match self.src[self.pos + 2..].find("*/") {
                    Some(i) => self.pos += 2 + i + 2,
                    None => {
                        self.pos = self.src.len();
                        self.errors.push(Error::new(
                            ErrorKind::UnterminatedComment,
                            Span::new(start, start + 2),
                        ));
                    }
                }
            } else {
                return;
            }
        }
    }

    /// Reads a string delimited by `quote`, where a doubled quote is one quote.
    fn delimited(&mut self, start: usize, quote: u8) -> Option<String> {
        let mut out = String::new();
        self.pos += 1;
        let mut run = self.pos;
        loop {
            match self.bytes.get(self.pos) {
                None => return None,
                Some(&b) if b == quote => {
                    out.push_str(&self.src[run..self.pos]);
                    if self.bytes.get(self.pos + 1) == Some(&quote) {
                        out.push(quote as char);
                        self.pos += 2;
                        run = self.pos;
                    } else {
                        self.pos += 1;
                        let _ = start;
                        return Some(out);
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn string(&mut self, start: usize) {
        match self.delimited(start, b'\'') {
            Some(s) => self.push(TokenKind::Str(s), start),
            None => {
                self.errors.push(
                    Error::new(ErrorKind::UnterminatedString, Span::new(start, start + 1))
                        .with_help("close the string with `'`; write `''` for a quote inside it"),
                );
                self.pos = self.src.len();
            }
        }
    }

    fn quoted_ident(&mut self, start: usize) {
        match self.delimited(start, b'"') {
            Some(s) => self.push(TokenKind::QuotedIdent(s), start),
            None => {
                self.errors.push(
                    Error::new(
                        ErrorKind::UnterminatedQuotedName,
                        Span::new(start, start + 1),
                    )
                    .with_help("close the name with `\"`"),
                );
                self.pos = self.src.len();
            }
        }
    }

    fn number(&mut self, start: usize) {
        let b = self.bytes;
        if b[self.pos] == b'0' && matches!(b.get(self.pos + 1), Some(b'x' | b'X')) {
            self.pos += 2;
            let digits = self.pos;
            while b.get(self.pos).is_some_and(u8::is_ascii_hexdigit) {
                self.pos += 1;
            }
            let text = &self.src[digits..self.pos];
            match i64::from_str_radix(text, 16)
                .ok()
                .or_else(|| u64::from_str_radix(text, 16).ok().map(|u| u as i64))
            {
                Some(v) if !text.is_empty() => self.push(TokenKind::HexInt(v), start),
                _ => {
                    self.errors
                        .push(Error::new(ErrorKind::BadNumber, Span::new(start, self.pos)));
                    self.push(TokenKind::Int(0), start);
                }
            }
            return;
        }
        let mut float = false;
        while b.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        if b.get(self.pos) == Some(&b'.') && b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            float = true;
            self.pos += 1;
            while b.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        if matches!(b.get(self.pos), Some(b'e' | b'E')) {
            let mut p = self.pos + 1;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if b.get(p).is_some_and(u8::is_ascii_digit) {
                float = true;
                self.pos = p;
                while b.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
            }
        }
        // An unquoted IP address or version string: say so instead of a puzzling
        // "unexpected `.`" further on.
        if b.get(self.pos) == Some(&b'.') && b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            while b
                .get(self.pos)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'.' || *c == b'/')
            {
                self.pos += 1;
            }
            self.errors.push(
                Error::new(ErrorKind::UnquotedAddress, Span::new(start, self.pos)).with_help(
                    format!(
                        "write addresses as strings: '{}'",
                        &self.src[start..self.pos]
                    ),
                ),
            );
            self.push(TokenKind::Str(self.src[start..self.pos].to_owned()), start);
            return;
        }
        let text = &self.src[start..self.pos];
        let kind = if float {
            text.parse::<f64>().ok().map(TokenKind::Float)
        } else {
            text.parse::<i64>().ok().map(TokenKind::Int)
        };
        match kind {
            Some(k) => self.push(k, start),
            None => {
                self.errors.push(
                    Error::new(ErrorKind::BadNumber, Span::new(start, self.pos))
                        .with_help("integers must fit in 64 bits"),
                );
                self.push(TokenKind::Int(0), start);
            }
        }
    }

    fn word(&mut self, start: usize) {
        while let Some(c) = self.src[self.pos..].chars().next() {
            if c.is_alphanumeric() || c == '_' || c == '$' {
                self.pos += c.len_utf8();
            } else if c == ':' && self.pos > start && self.qualified_at(self.pos) {
                // A namespaced function name (`GEO::LOOKUP`) is one word.
                self.pos += 2;
            } else {
                break;
            }
        }
        if self.pos == start {
            // A non-ASCII character that is not a letter.
            let c = self.src[start..].chars().next().map_or(1, char::len_utf8);
            self.pos += c;
            self.unexpected(start);
            return;
        }
        let kw = Keyword::lookup(&self.src[start..self.pos]);
        self.push(TokenKind::Word(kw), start);
    }

    /// True when `::` and a letter start at `at`.
    fn qualified_at(&self, at: usize) -> bool {
        self.src[at..].starts_with("::")
            && self.src[at + 2..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
    }

    fn punct(&mut self, start: usize, b: u8) {
        let next = self.bytes.get(self.pos + 1).copied();
        let (kind, len) = match (b, next) {
            (b'(', _) => (TokenKind::LParen, 1),
            (b')', _) => (TokenKind::RParen, 1),
            (b',', _) => (TokenKind::Comma, 1),
            (b'*', _) => (TokenKind::Star, 1),
            (b'+', _) => (TokenKind::Plus, 1),
            (b'-', _) => (TokenKind::Minus, 1),
            (b'/', _) => (TokenKind::Slash, 1),
            (b'%', _) => (TokenKind::Percent, 1),
            (b'^', _) => (TokenKind::Caret, 1),
            (b'&', _) => (TokenKind::Amp, 1),
            (b';', _) => (TokenKind::Semicolon, 1),
            (b'=', Some(b'=')) => (TokenKind::EqEq, 2),
            (b'=', _) => (TokenKind::Eq, 1),
            (b'!', Some(b'=')) => (TokenKind::NotEq, 2),
            (b'<', Some(b'>')) => (TokenKind::LtGt, 2),
            (b'<', Some(b'=')) => (TokenKind::LtEq, 2),
            (b'<', _) => (TokenKind::Lt, 1),
            (b'>', Some(b'=')) => (TokenKind::GtEq, 2),
            (b'>', _) => (TokenKind::Gt, 1),
            _ => {
                let c = self.src[start..].chars().next().map_or(1, char::len_utf8);
                self.pos += c;
                self.unexpected(start);
                return;
            }
        };
        self.pos += len;
        self.push(kind, start);
    }

    fn unexpected(&mut self, start: usize) {
        let text = &self.src[start..self.pos];
        let help = match text {
            "\u{2018}" | "\u{2019}" | "\u{201c}" | "\u{201d}" => {
                Some("curly quotes copied from a document must be retyped as ' or \"")
            }
            "`" => Some("AQL quotes names with \" and strings with '"),
            "|" => Some("AQL has no `|` operator; use OR"),
            _ => None,
        };
        let mut e = Error::new(
            ErrorKind::UnexpectedChar(text.to_owned()),
            Span::new(start, self.pos),
        );
        if let Some(h) = help {
            e = e.with_help(h);
        }
        self.errors.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let (t, e) = tokenize(src);
        assert!(e.is_empty(), "{e:?}");
        t.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn a_namespaced_function_name_is_one_word() {
        let (tokens, errors) = tokenize("GEO::LOOKUP(a) geo::distance x::1");
        let words: Vec<&str> = tokens
            .iter()
            .filter(|t| matches!(t.kind, TokenKind::Word(_)))
            .map(|t| {
                &"GEO::LOOKUP(a) geo::distance x::1"[t.span.start as usize..t.span.end as usize]
            })
            .collect();
        assert_eq!(words, ["GEO::LOOKUP", "a", "geo::distance", "x"]);
        // `::` before a digit is not a name: the colons are reported.
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn strings_and_names() {
        assert_eq!(
            kinds(r#"'it''s' "Process ""x"" Name""#),
            vec![
                TokenKind::Str("it's".into()),
                TokenKind::QuotedIdent("Process \"x\" Name".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            kinds("0xff 12 1.5 2e3"),
            vec![
                TokenKind::HexInt(255),
                TokenKind::Int(12),
                TokenKind::Float(1.5),
                TokenKind::Float(2000.0),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn operators_and_comments() {
        assert_eq!(
            kinds("a<>b -- note\n!= /* x */ == <="),
            vec![
                TokenKind::Word(None),
                TokenKind::LtGt,
                TokenKind::Word(None),
                TokenKind::NotEq,
                TokenKind::EqEq,
                TokenKind::LtEq,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn errors_do_not_stop_lexing() {
        let (t, e) = tokenize("a ` b 10.1.2.3 'open");
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].span, Span::new(2, 3));
        assert_eq!(e[1].kind, ErrorKind::UnquotedAddress);
        assert!(t
            .iter()
            .any(|t| t.kind == TokenKind::Str("10.1.2.3".into())));
    }

    #[test]
    fn spans_are_bytes() {
        let (t, _) = tokenize("é = 'ü'");
        assert_eq!(t[0].span, Span::new(0, 2));
        assert_eq!(t[2].span, Span::new(5, 9));
    }
}
