//! Time zones for DATEFORMAT and time clauses: an IANA name or a fixed offset.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;

/// A time zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Zone {
    /// An IANA zone such as `Europe/Berlin`.
    Named(Tz),
    /// A fixed offset such as `+02:00`; UTC is `Fixed(+00:00)`.
    Fixed(FixedOffset),
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }

    /// Parses `UTC`, `Z`, an IANA name, or an offset `+hh:mm` / `+hhmm` / `+hh`.
    pub fn parse(s: &str) -> Result<Zone, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc")
            || t.eq_ignore_ascii_case("z")
            || t.eq_ignore_ascii_case("gmt")
        {
            return Ok(Zone::utc());
        }
        if let Some(off) = parse_offset(t) {
            return Ok(Zone::Fixed(off));
        }
        t.parse::<Tz>().map(Zone::Named).map_err(|_| {
            format!("unknown time zone `{t}`: use UTC, an IANA name such as Europe/Berlin, or an offset such as +02:00")
        })
    }

    /// Epoch milliseconds as RFC 3339 in this zone, with milliseconds (the
    /// number itself when it is out of chrono's range).
    pub fn rfc3339(&self, ms: i64) -> String {
        match chrono::DateTime::from_timestamp_millis(ms) {
            Some(t) => t
                .with_timezone(&self.offset_at(ms))
                .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                .to_string(),
            None => ms.to_string(),
        }
    }

    /// The offset in force at the instant `ms` (epoch milliseconds).
    pub fn offset_at(&self, ms: i64) -> FixedOffset {
        match self {
            Zone::Fixed(f) => *f,
            Zone::Named(tz) => match DateTime::<Utc>::from_timestamp_millis(ms) {
                Some(dt) => tz.offset_from_utc_datetime(&dt.naive_utc()).fix(),
                None => Utc.fix(),
            },
        }
    }

    /// The zone's abbreviation at `ms` (`CET`, `UTC`, `+02:00`).
    pub fn abbreviation(&self, ms: i64) -> String {
        match self {
            Zone::Fixed(f) if f.local_minus_utc() == 0 => "UTC".to_owned(),
            Zone::Fixed(f) => f.to_string(),
            Zone::Named(tz) => match DateTime::<Utc>::from_timestamp_millis(ms) {
                Some(dt) => dt.with_timezone(tz).format("%Z").to_string(),
                None => tz.name().to_owned(),
            },
        }
    }

    /// The zone's long name (`Coordinated Universal Time`, `Europe/Berlin`).
    pub fn long_name(&self) -> String {
        match self {
            Zone::Fixed(f) if f.local_minus_utc() == 0 => "Coordinated Universal Time".to_owned(),
            Zone::Fixed(f) => format!("GMT{f}"),
            Zone::Named(tz) => tz.name().to_owned(),
        }
    }

    /// Epoch milliseconds of a wall-clock time in this zone. In a DST gap the
    /// time is moved forward by the gap; in an overlap the earlier instant wins.
    pub fn local_to_millis(&self, naive: NaiveDateTime) -> i64 {
        let resolve = |r: LocalResult<i64>, retry: &dyn Fn() -> i64| match r {
            LocalResult::Single(ms) | LocalResult::Ambiguous(ms, _) => ms,
            LocalResult::None => retry(),
        };
        match self {
            Zone::Fixed(f) => (naive - chrono::Duration::seconds(i64::from(f.local_minus_utc())))
                .and_utc()
                .timestamp_millis(),
            Zone::Named(tz) => {
                let at =
                    |n: NaiveDateTime| tz.from_local_datetime(&n).map(|d| d.timestamp_millis());
                resolve(at(naive), &|| {
                    // Gaps are at most a few hours: step forward until valid.
                    (1..=48)
                        .find_map(|q| match at(naive + chrono::Duration::minutes(15 * q)) {
                            LocalResult::Single(ms) | LocalResult::Ambiguous(ms, _) => {
                                Some(ms - 15 * q * 60_000)
                            }
                            LocalResult::None => None,
                        })
                        .unwrap_or_else(|| naive.and_utc().timestamp_millis())
                })
            }
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Fixed(o) if o.local_minus_utc() == 0 => f.write_str("UTC"),
            Zone::Fixed(o) => write!(f, "{o}"),
            Zone::Named(tz) => f.write_str(tz.name()),
        }
    }
}

/// Parses `+hh:mm`, `+hhmm` or `+hh` (also with `-`).
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zones() {
        assert_eq!(Zone::parse("UTC").unwrap(), Zone::utc());
        assert_eq!(
            Zone::parse("+02:00")
                .unwrap()
                .offset_at(0)
                .local_minus_utc(),
            7200
        );
        assert_eq!(
            Zone::parse("-0530").unwrap().offset_at(0).local_minus_utc(),
            -19800
        );
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        // 2024-07-01 is summer time (+2), 2024-01-01 winter (+1).
        assert_eq!(berlin.offset_at(1_719_792_000_000).local_minus_utc(), 7200);
        assert_eq!(berlin.offset_at(1_704_067_200_000).local_minus_utc(), 3600);
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn dst_gap_does_not_panic() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let gap =
            NaiveDateTime::parse_from_str("2024-03-31 02:30:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let ms = berlin.local_to_millis(gap);
        // 02:30 does not exist; the result is the instant the clock showed 03:30 CEST minus the step.
        assert!(ms > 1_711_846_800_000 - 3_600_000 && ms < 1_711_850_400_000);
    }
}
