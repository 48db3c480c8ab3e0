//! Parsing times with Java SimpleDateFormat patterns (LEEF's `devTimeFormat`).

use chrono::{DateTime, NaiveDateTime};
use portent_core::Zone;

/// Translates a SimpleDateFormat pattern into a chrono format string.
/// `None` for letters chrono cannot parse (`z` zone names, week fields).
pub fn to_chrono(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a quote.
            i += 1;
            if i < chars.len() && chars[i] == '\'' {
                out.push('\'');
                i += 1;
                continue;
            }
            while i < chars.len() && chars[i] != '\'' {
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let piece = match (c, n) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', _) => "%d",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', _) => "%3f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z', _) => "%z",
            ('X', _) => "%:z",
            _ => return None,
        };
        out.push_str(piece);
        i += n;
    }
    Some(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Epoch ms of `text` read with the SimpleDateFormat `pattern`; zone-less
/// patterns are read in `zone`.
pub fn parse(text: &str, pattern: &str, zone: &Zone) -> Option<i64> {
    let f = to_chrono(pattern)?;
    let text = text.trim();
    if f.contains("%z") || f.contains("%:z") {
        return DateTime::parse_from_str(text, &f)
            .ok()
            .map(|t| t.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(text, &f)
        .ok()
        .map(|t| zone.local_to_millis(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_and_metron_samples() {
        let utc = Zone::utc();
        assert_eq!(
            parse("2019-04-24-15.31.58.000", "yyyy-MM-dd-HH.mm.ss.SSS", &utc),
            Some(1_556_119_918_000)
        );
        assert_eq!(
            parse("Apr 24 2019 15:31:58", "MMM dd yyyy HH:mm:ss", &utc),
            Some(1_556_119_918_000)
        );
        assert_eq!(
            parse("2019-04-24T15:31:58+0200", "yyyy-MM-dd'T'HH:mm:ssZ", &utc),
            Some(1_556_112_718_000)
        );
        assert_eq!(parse("x", "yyyy zzz", &utc), None);
    }
}
