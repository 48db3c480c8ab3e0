//! Tokens and the keyword table.

use portent_core::Span;

/// A token with its byte span.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is.
    pub span: Span,
}

/// Token kinds. Words carry their keyword, if any; their text is the source slice.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// An identifier or keyword (`SELECT`, `sourceip`, `LOWER`).
    Word(Option<Keyword>),
    /// A double-quoted name (`"Process Name"`), unescaped.
    QuotedIdent(String),
    /// A single-quoted string, unescaped (`''` becomes `'`).
    Str(String),
    /// A decimal integer.
    Int(i64),
    /// A hexadecimal integer (`0xff`).
    HexInt(i64),
    /// A decimal number with a fraction or exponent.
    Float(f64),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `*`
    Star,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `^`
    Caret,
    /// `&`
    Amp,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<>`
    LtGt,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `;`
    Semicolon,
    /// End of input.
    Eof,
}

impl TokenKind {
    /// How the token is described in messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Word(Some(k)) => format!("keyword `{}`", k.as_str()),
            TokenKind::Word(None) => "a name".into(),
            TokenKind::QuotedIdent(s) => format!("quoted name \"{s}\""),
            TokenKind::Str(_) => "a string".into(),
            TokenKind::Int(_) | TokenKind::HexInt(_) | TokenKind::Float(_) => "a number".into(),
            TokenKind::Eof => "the end of the query".into(),
            other => format!("`{}`", other.symbol()),
        }
    }

    /// The punctuation's text.
    pub fn symbol(&self) -> &'static str {
        match self {
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::Comma => ",",
            TokenKind::Star => "*",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Slash => "/",
            TokenKind::Percent => "%",
            TokenKind::Caret => "^",
            TokenKind::Amp => "&",
            TokenKind::Eq => "=",
            TokenKind::EqEq => "==",
            TokenKind::NotEq => "!=",
            TokenKind::LtGt => "<>",
            TokenKind::Lt => "<",
            TokenKind::LtEq => "<=",
            TokenKind::Gt => ">",
            TokenKind::GtEq => ">=",
            TokenKind::Semicolon => ";",
            _ => "",
        }
    }
}

macro_rules! keywords {
    ($( $v:ident = $s:literal ),* $(,)?) => {
        /// AQL keywords, matched case-insensitively.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Keyword { $( $v ),* }

        impl Keyword {
            /// Upper-case spelling.
            pub fn as_str(self) -> &'static str {
                match self { $( Keyword::$v => $s ),* }
            }
        }

        /// Sorted by spelling, for binary search.
        const KEYWORDS: &[(&str, Keyword)] = &[ $( ($s, Keyword::$v) ),* ];
    };
}

keywords! {
    And = "AND",
    As = "AS",
    Asc = "ASC",
    Between = "BETWEEN",
    By = "BY",
    Case = "CASE",
    Collate = "COLLATE",
    Day = "DAY",
    Days = "DAYS",
    Desc = "DESC",
    Else = "ELSE",
    End = "END",
    Escape = "ESCAPE",
    False = "FALSE",
    From = "FROM",
    Group = "GROUP",
    Having = "HAVING",
    Hour = "HOUR",
    Hours = "HOURS",
    If = "IF",
    Ilike = "ILIKE",
    Imatches = "IMATCHES",
    In = "IN",
    Into = "INTO",
    Is = "IS",
    Last = "LAST",
    Like = "LIKE",
    Limit = "LIMIT",
    Matches = "MATCHES",
    Minute = "MINUTE",
    Minutes = "MINUTES",
    Not = "NOT",
    Null = "NULL",
    Or = "OR",
    Order = "ORDER",
    Parameters = "PARAMETERS",
    Search = "SEARCH",
    Second = "SECOND",
    Seconds = "SECONDS",
    Select = "SELECT",
    Similar = "SIMILAR",
    Start = "START",
    Stop = "STOP",
    Text = "TEXT",
    Then = "THEN",
    To = "TO",
    True = "TRUE",
    Week = "WEEK",
    Weeks = "WEEKS",
    When = "WHEN",
    Where = "WHERE",
}

impl Keyword {
    /// The keyword spelled by `word`, in any case.
    pub fn lookup(word: &str) -> Option<Keyword> {
        if word.len() > 10 || !word.is_ascii() {
            return None;
        }
        let mut buf = [0u8; 10];
        let upper = &mut buf[..word.len()];
        upper.copy_from_slice(word.as_bytes());
        upper.make_ascii_uppercase();
        KEYWORDS
            .binary_search_by(|(k, _)| k.as_bytes().cmp(upper))
            .ok()
            .map(|i| KEYWORDS[i].1)
    }

    /// True for words that can never be a bare field or function name, so an
    /// expression ends in front of them.
    pub fn is_reserved(self) -> bool {
        use Keyword::*;
        matches!(
            self,
            And | As
                | Asc
                | Between
                | By
                | Case
                | Desc
                | Else
                | End
                | Escape
                | False
                | From
                | Group
                | Having
                | If
                | Ilike
                | Imatches
                | In
                | Into
                | Is
                | Like
                | Limit
                | Matches
                | Not
                | Null
                | Or
                | Order
                | Parameters
                | Select
                | Similar
                | Then
                | True
                | When
                | Where
        )
    }

    /// The time unit this keyword names, if any.
    pub fn time_unit(self) -> Option<crate::ast::TimeUnit> {
        use crate::ast::TimeUnit;
        match self {
            Keyword::Second | Keyword::Seconds => Some(TimeUnit::Seconds),
            Keyword::Minute | Keyword::Minutes => Some(TimeUnit::Minutes),
            Keyword::Hour | Keyword::Hours => Some(TimeUnit::Hours),
            Keyword::Day | Keyword::Days => Some(TimeUnit::Days),
            Keyword::Week | Keyword::Weeks => Some(TimeUnit::Weeks),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_table_is_sorted() {
        assert!(KEYWORDS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookup_any_case() {
        assert_eq!(Keyword::lookup("select"), Some(Keyword::Select));
        assert_eq!(Keyword::lookup("SiMiLaR"), Some(Keyword::Similar));
        assert_eq!(Keyword::lookup("sourceip"), None);
        assert_eq!(Keyword::lookup("déjà"), None);
    }
}
