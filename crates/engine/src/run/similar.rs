//! Translating SQL patterns (SIMILAR TO, LIKE) and AQL regexes (MATCHES) into
//! `regex` syntax with the exact matching semantics of their source language.
//!
//! SIMILAR TO follows PostgreSQL (`similar_escape_internal` in `regexp.c`): the
//! pattern must match the whole string, `%` and `_` are wildcards, `| * + ? {m,n}
//! ( ) [...]` are regex operators, `.` `^` `$` are literals, backslash is the
//! default escape character (`ESCAPE ''` disables escaping), and `%` spans
//! newlines. See AQL-NOTES.md §1.9.

/// Which language a pattern is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `LIKE` / `ILIKE`: `%` and `_`, no escape character unless ESCAPE is given.
    Like,
    /// `SIMILAR TO`, PostgreSQL semantics.
    Similar,
    /// `MATCHES` / `IMATCHES`: a regex that must match the whole value
    /// (Java's `String.matches`, as IBM's support note describes).
    Regex,
}

/// The escape character in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// The dialect's default (backslash for SIMILAR TO, none for LIKE).
    Default,
    /// `ESCAPE ''`: no escape character.
    Disabled,
    /// `ESCAPE 'c'`.
    Char(char),
}

/// Translates `pattern` into an anchored `regex` pattern. Errors are messages
/// for the user.
pub fn to_regex(
    pattern: &str,
    dialect: Dialect,
    escape: Escape,
    case_insensitive: bool,
) -> Result<String, String> {
    let flags = match (dialect, case_insensitive) {
        (Dialect::Regex, false) => "",
        (Dialect::Regex, true) => "(?i)",
        (_, false) => "(?s)",
        (_, true) => "(?si)",
    };
    let body = regex_body(pattern, dialect, escape)?;
    Ok(format!("{flags}\\A(?:{body})\\z"))
}

/// The regular expression `pattern` spells, without flags or anchors: what a
/// converter to another language wraps in that language's own form.
pub fn regex_body(pattern: &str, dialect: Dialect, escape: Escape) -> Result<String, String> {
    Ok(match dialect {
        Dialect::Like => like(pattern, escape)?,
        Dialect::Similar => similar(pattern, escape)?,
        Dialect::Regex => pattern.to_owned(),
    })
}

fn like(pattern: &str, escape: Escape) -> Result<String, String> {
    let esc = match escape {
        Escape::Char(c) => Some(c),
        Escape::Default | Escape::Disabled => None,
    };
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == esc {
            match chars.next() {
                Some(n) => out.push_str(&regex_syntax::escape(n.encode_utf8(&mut [0; 4]))),
                None => return Err("LIKE pattern ends with the escape character".into()),
            }
        } else if c == '%' {
            out.push_str(".*");
        } else if c == '_' {
            out.push('.');
        } else {
            out.push_str(&regex_syntax::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    Ok(out)
}

fn similar(pattern: &str, escape: Escape) -> Result<String, String> {
    let esc = match escape {
        Escape::Default => Some('\\'),
        Escape::Disabled => None,
        Escape::Char(c) => Some(c),
    };
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut after_escape = false;
    let mut in_class = false;
    // Position inside a bracket expression: 0 right after `[`, 1 after `[^`;
    // a `]` there is a literal, as in POSIX.
    let mut class_pos = 0usize;
    let mut separators = 0;
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if after_escape {
            after_escape = false;
            if c == '"' && !in_class {
                // SUBSTRING's `#"` separators: they split the pattern into
                // three groups but do not change what matches.
                separators += 1;
                if separators > 2 {
                    return Err(
                        "SIMILAR TO pattern has more than two escape-double-quote separators"
                            .into(),
                    );
                }
                out.push_str(")(?:");
            } else if c.is_ascii_alphanumeric() {
                out.push_str(&posix_escape(c)?);
            } else {
                out.push_str(&regex_syntax::escape(c.encode_utf8(&mut [0; 4])));
            }
            continue;
        }
        if Some(c) == esc {
            after_escape = true;
            continue;
        }
        if in_class {
            match c {
                ']' if class_pos > 1 => {
                    in_class = false;
                    out.push(']');
                }
                '^' if class_pos == 0 => {
                    out.push('^');
                    class_pos = 1;
                    continue;
                }
                '[' if chars.get(i) == Some(&':') => {
                    // A POSIX class such as [:alpha:], copied whole.
                    match chars[i..].iter().collect::<String>().find(":]") {
                        Some(end) => {
                            out.push('[');
                            out.extend(&chars[i..i + end + 2]);
                            i += end + 2;
                        }
                        None => out.push_str("\\["),
                    }
                }
                // Characters that are operators inside `regex` classes but
                // literals in POSIX ones.
                '\\' | '[' | ']' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if class_pos <= 1 || chars.get(i) == Some(&']') => out.push_str("\\-"),
                _ => out.push(c),
            }
            class_pos = 2;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_pos = 0;
                out.push('[');
            }
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '(' => out.push_str("(?:"),
            '\\' | '.' | '^' | '$' | ']' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    if after_escape {
        return Err("SIMILAR TO pattern ends with the escape character".into());
    }
    if in_class {
        return Err("unterminated bracket expression `[`".into());
    }
    Ok(out)
}

/// PostgreSQL's escape-letter classes, in `regex` syntax.
fn posix_escape(c: char) -> Result<String, String> {
    Ok(match c {
        'd' | 'D' | 's' | 'S' | 'w' | 'W' => format!("\\{c}"),
        'm' => "\\b{start}".into(),
        'M' => "\\b{end}".into(),
        'y' => "\\b".into(),
        'Y' => "\\B".into(),
        'A' => "\\A".into(),
        'Z' => "\\z".into(),
        'n' => "\\n".into(),
        't' => "\\t".into(),
        'r' => "\\r".into(),
        _ => return Err(format!("unsupported escape `\\{c}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn similar_to(s: &str, p: &str) -> bool {
        similar_esc(s, p, Escape::Default)
    }

    fn similar_esc(s: &str, p: &str, e: Escape) -> bool {
        let re = to_regex(p, Dialect::Similar, e, false).unwrap();
        Regex::new(&re)
            .unwrap_or_else(|err| panic!("{p} -> {re}: {err}"))
            .is_match(s)
    }

    /// PostgreSQL's documented examples (func-matching.sgml) and the cases from
    /// AQL-NOTES.md §1.9.
    #[test]
    fn postgresql_documented_examples() {
        let table = [
            ("abc", "abc", true),
            ("abc", "a", false),
            ("abc", "%(b|d)%", true),
            ("abc", "(b|c)%", false),
            ("-abc-", "%\\mabc\\M%", true),
            ("xabcy", "%\\mabc\\M%", false),
        ];
        for (s, p, want) in table {
            assert_eq!(similar_to(s, p), want, "{s:?} SIMILAR TO {p:?}");
        }
    }

    #[test]
    fn flagship_patterns() {
        let p = "%(powershell|pwsh|cmd)\\.exe%";
        assert!(similar_to("c:\\windows\\system32\\cmd.exe", p));
        assert!(similar_to("xcmd.exe", p));
        assert!(similar_to("cmd.exe.bak", p));
        assert!(similar_to("c:\\windows\\system32\\dsregcmd.exe", p));
        assert!(!similar_to("cmdxexe", p), "the dot is literal once escaped");
        assert!(!similar_to("CMD.EXE", p), "SIMILAR TO is case-sensitive");
        assert!(similar_to("hh.exe", "%(hh)\\.exe%"));
    }

    #[test]
    fn metacharacters() {
        let table = [
            ("a.c", "a.c", true),
            ("abc", "a.c", false),
            ("abc", "a_c", true),
            ("ac", "ab?c", true),
            ("abbbc", "ab+c", true),
            ("ac", "ab*c", true),
            ("abbc", "ab{2}c", true),
            ("abbbc", "ab{1,2}c", false),
            ("abc", "[a-c]+", true),
            ("a]", "a[]]", true),
            ("a-", "a[a-]", true),
            ("^a$", "^a$", true),
            ("a", "^a$", false),
            ("line1\nline2", "%line2", true),
            ("a&&b", "a[&]&b", true),
            ("ab", "[[:alpha:]]+", true),
            ("a|b", "a\\|b", true),
            ("a%", "a\\%", true),
            ("ab", "a\\%", false),
        ];
        for (s, p, want) in table {
            assert_eq!(similar_to(s, p), want, "{s:?} SIMILAR TO {p:?}");
        }
    }

    #[test]
    fn escape_clause() {
        assert!(similar_esc("a_b", "a#_b", Escape::Char('#')));
        assert!(!similar_esc("axb", "a#_b", Escape::Char('#')));
        // With escaping disabled a backslash is an ordinary character.
        assert!(similar_esc("a\\b", "a\\b", Escape::Disabled));
        // SUBSTRING separators do not change matching but scope alternation.
        assert!(similar_esc("bcd", "a|b#\"c#\"d", Escape::Char('#')));
        assert!(!similar_esc("a", "a|b#\"c#\"d", Escape::Char('#')));
        assert!(to_regex("a\\", Dialect::Similar, Escape::Default, false).is_err());
        assert!(to_regex("[ab", Dialect::Similar, Escape::Default, false).is_err());
    }

    #[test]
    fn like_semantics() {
        let m = |s: &str, p: &str, e: Escape, ci: bool| {
            Regex::new(&to_regex(p, Dialect::Like, e, ci).unwrap())
                .unwrap()
                .is_match(s)
        };
        assert!(m(
            "C:\\Windows\\cmd.exe",
            "%\\cmd.exe",
            Escape::Default,
            false
        ));
        assert!(!m("abc", "a", Escape::Default, false));
        assert!(m("a.c(", "a.c(", Escape::Default, false));
        assert!(m("ABC", "a_c", Escape::Default, true));
        assert!(!m("ABC", "a_c", Escape::Default, false));
        assert!(m("50%", "50!%", Escape::Char('!'), false));
        assert!(!m("500", "50!%", Escape::Char('!'), false));
        assert!(m("a\nb", "a%", Escape::Default, false));
    }

    #[test]
    fn matches_is_whole_string() {
        let re = Regex::new(&to_regex("foo.*", Dialect::Regex, Escape::Default, false).unwrap())
            .unwrap();
        assert!(re.is_match("foobar"));
        assert!(!re.is_match("xfoobar"));
        let re =
            Regex::new(&to_regex("a|b", Dialect::Regex, Escape::Default, true).unwrap()).unwrap();
        assert!(re.is_match("B"));
        assert!(!re.is_match("ab"));
    }
}
