//! Time clause values: IBM's START/STOP string formats, epoch milliseconds and
//! `PARSEDATETIME('1 day ago')` references.

use crate::zone::{parse_offset, Zone};
use chrono::NaiveDateTime;

/// A half-open window `[start, end)` of epoch milliseconds over `starttime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Inclusive lower bound.
    pub start: Option<i64>,
    /// Exclusive upper bound.
    pub end: Option<i64>,
}

impl Window {
    /// True when `t` lies in the window.
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }
}

const FORMATS: &[(&str, bool)] = &[
    ("%Y-%m-%d %H:%M:%S", true),
    ("%Y-%m-%d %H:%M", false),
    ("%Y/%m/%d %H:%M:%S", true),
    ("%Y/%m/%d %H:%M", false),
    ("%Y/%m/%d-%H:%M:%S", true),
    ("%Y:%m:%d-%H:%M:%S", true),
    ("%Y-%m-%dT%H:%M:%S", true),
    ("%Y-%m-%dT%H:%M", false),
];

/// A parsed START/STOP string: the instant and whether seconds were given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Epoch milliseconds.
    pub millis: i64,
    /// True when the text had seconds.
    pub has_seconds: bool,
}

/// Parses one of IBM's START/STOP formats (`yyyy-MM-dd HH:mm[:ss]`,
/// `yyyy/MM/dd HH:mm:ss`, `yyyy/MM/dd-HH:mm:ss`, `yyyy:MM:dd-HH:mm:ss`), with an
/// optional trailing zone (`Z`, `z`, `UTC`, `+hh:mm`). Without a zone the text
/// is wall-clock time in `zone`.
pub fn parse_datetime(text: &str, zone: &Zone) -> Result<Parsed, String> {
    let t = text.trim();
    let (body, explicit) = split_zone(t);
    for (fmt, has_seconds) in FORMATS {
        if let Ok(naive) = NaiveDateTime::parse_from_str(body, fmt) {
            let z = explicit.unwrap_or(*zone);
            return Ok(Parsed {
                millis: z.local_to_millis(naive),
                has_seconds: *has_seconds,
            });
        }
    }
    Err(format!(
        "`{text}` is not a date-time; use 'yyyy-MM-dd HH:mm', 'yyyy-MM-dd HH:mm:ss', 'yyyy/MM/dd HH:mm:ss', 'yyyy/MM/dd-HH:mm:ss' or 'yyyy:MM:dd-HH:mm:ss'"
    ))
}

fn split_zone(t: &str) -> (&str, Option<Zone>) {
    for suffix in ["Z", "z", " UTC", " GMT"] {
        if let Some(b) = t.strip_suffix(suffix) {
            return (b.trim_end(), Some(Zone::utc()));
        }
    }
    // A trailing +hh:mm / -hhmm after the time part.
    if let Some(i) = t.rfind(['+', '-']) {
        if t[..i].contains(':') {
            if let Some(off) = parse_offset(&t[i..]) {
                return (t[..i].trim_end(), Some(Zone::Fixed(off)));
            }
        }
    }
    (t, None)
}

/// The instant `PARSEDATETIME(text)` names at `now`: `now`, `n unit(s) ago`
/// (seconds to years), or an absolute date-time as for START.
pub fn parse_reference(text: &str, now: i64, zone: &Zone) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "now" {
        return Ok(now);
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    if let [n, unit, "ago"] = words.as_slice() {
        let n: i64 = n
            .parse()
            .map_err(|_| format!("`{n}` is not a number in `{text}`"))?;
        let unit_ms = match unit.trim_end_matches('s') {
            "second" | "sec" => 1_000,
            "minute" | "min" => 60_000,
            "hour" => 3_600_000,
            "day" => 86_400_000,
            "week" => 7 * 86_400_000,
            "month" => 30 * 86_400_000,
            "year" => 365 * 86_400_000,
            _ => return Err(format!("unknown time unit `{unit}` in `{text}`")),
        };
        return Ok(now.saturating_sub(n.saturating_mul(unit_ms)));
    }
    parse_datetime(text, zone)
        .map(|p| p.millis)
        .map_err(|_| format!("`{text}` is not a time reference; use 'now', 'n hours ago', 'n days ago' or a date-time"))
}

/// IBM's documented minute granularity: START rounds down to the minute; STOP
/// is exclusive at its minute when it falls on one, else at the next minute
/// (`STOP '17:00'` ends at 16:59:59, `STOP '17:00:20'` at 17:00:59).
pub fn minute_window(start: i64, stop: Option<i64>) -> Window {
    let floor = |t: i64| t - t.rem_euclid(60_000);
    let end = stop.map(|s| {
        if s.rem_euclid(60_000) == 0 {
            s
        } else {
            floor(s) + 60_000
        }
    });
    Window {
        start: Some(floor(start)),
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        parse_datetime(s, &Zone::utc()).unwrap().millis
    }

    #[test]
    fn ibm_formats() {
        let base = ms("2014-04-25 15:51:20");
        assert_eq!(ms("2014/04/25 15:51:20"), base);
        assert_eq!(ms("2014/04/25-15:51:20"), base);
        assert_eq!(ms("2014:04:25-15:51:20"), base);
        assert_eq!(ms("2014-04-25 15:51:20Z"), base);
        assert_eq!(ms("2014-04-25 17:51:20+02:00"), base);
        assert_eq!(ms("2014-04-25 15:51"), base - 20_000);
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            parse_datetime("2014-04-25 17:51:20", &berlin)
                .unwrap()
                .millis,
            base
        );
        assert!(parse_datetime("yesterday", &Zone::utc()).is_err());
    }

    #[test]
    fn documented_boundaries() {
        let w = minute_window(ms("2014-04-25 15:51"), Some(ms("2014-04-25 17:00")));
        assert!(w.contains(ms("2014-04-25 15:51:00")));
        assert!(w.contains(ms("2014-04-25 16:59:59")));
        assert!(!w.contains(ms("2014-04-25 17:00:00")));
        let w = minute_window(ms("2014-04-25 15:51:20"), Some(ms("2014-04-25 17:00:20")));
        assert!(w.contains(ms("2014-04-25 15:51:00")));
        assert!(w.contains(ms("2014-04-25 17:00:59")));
        assert!(!w.contains(ms("2014-04-25 17:01:00")));
    }

    #[test]
    fn references() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_reference("now", now, &Zone::utc()), Ok(now));
        assert_eq!(
            parse_reference("1 day ago", now, &Zone::utc()),
            Ok(now - 86_400_000)
        );
        assert_eq!(
            parse_reference("2 Hours ago", now, &Zone::utc()),
            Ok(now - 7_200_000)
        );
        assert!(parse_reference("1 fortnight ago", now, &Zone::utc()).is_err());
    }
}
