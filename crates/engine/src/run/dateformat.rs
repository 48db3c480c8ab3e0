//! `DATEFORMAT(ms, pattern)`: Java `SimpleDateFormat` pattern letters, compiled
//! once into tokens and rendered in a configurable zone (UTC by default).

use crate::zone::Zone;
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use std::fmt::Write;

/// A compiled date pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct DatePattern {
    tokens: Vec<Tok>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Text(String),
    Field(char, usize),
}

const LETTERS: &str = "GyYMLwWDdFEuaHkKhmsSzZX";

impl DatePattern {
    /// Compiles a pattern; unknown unquoted letters are errors, as in Java.
    pub fn compile(pattern: &str) -> Result<DatePattern, String> {
        let mut tokens = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut text = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    text.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated quote in date pattern".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            text.push(*ch);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !LETTERS.contains(c) {
                    return Err(format!(
                        "illegal pattern letter `{c}`; quote literal text with '...'"
                    ));
                }
                if !text.is_empty() {
                    tokens.push(Tok::Text(std::mem::take(&mut text)));
                }
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                tokens.push(Tok::Field(c, n));
                i += n;
            } else {
                text.push(c);
                i += 1;
            }
        }
        if !text.is_empty() {
            tokens.push(Tok::Text(text));
        }
        Ok(DatePattern { tokens })
    }

    /// Formats epoch milliseconds in `zone`; `None` for out-of-range instants.
    pub fn format(&self, ms: i64, zone: &Zone) -> Option<String> {
        let offset = zone.offset_at(ms);
        let utc = DateTime::<Utc>::from_timestamp_millis(ms)?;
        let dt = utc.with_timezone(&offset);
        let mut out = String::with_capacity(24);
        for t in &self.tokens {
            match t {
                Tok::Text(s) => out.push_str(s),
                Tok::Field(c, n) => field(&mut out, *c, *n, &dt, ms, zone),
            }
        }
        Some(out)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        let _ = write!(out, "-{:0width$}", -v, width = width.saturating_sub(1));
    } else {
        let _ = write!(out, "{v:0width$}");
    }
}

/// Java's default (US) week rules: weeks start on Sunday, week 1 holds January 1.
fn us_week(date: NaiveDate) -> (i32, u32) {
    let start_of_week =
        date - chrono::Duration::days(i64::from(date.weekday().num_days_from_sunday()));
    let next_jan1 = NaiveDate::from_ymd_opt(date.year() + 1, 1, 1);
    if next_jan1.is_some_and(|j| start_of_week + chrono::Duration::days(6) >= j) {
        return (date.year() + 1, 1);
    }
    let jan1 = NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date);
    let offset = jan1.weekday().num_days_from_sunday();
    (date.year(), (date.ordinal0() + offset) / 7 + 1)
}

fn field(
    out: &mut String,
    c: char,
    n: usize,
    dt: &DateTime<chrono::FixedOffset>,
    ms: i64,
    zone: &Zone,
) {
    let date = dt.date_naive();
    match c {
        'G' => out.push_str(if dt.year() > 0 { "AD" } else { "BC" }),
        'y' | 'Y' => {
            let year = if c == 'Y' { us_week(date).0 } else { dt.year() };
            if n == 2 {
                pad(out, i64::from(year.rem_euclid(100)), 2)
            } else {
                pad(out, i64::from(year), n)
            }
        }
        'M' | 'L' => match n {
            1 | 2 => pad(out, i64::from(dt.month()), n),
            3 => out.push_str(&MONTHS[dt.month0() as usize][..3]),
            _ => out.push_str(MONTHS[dt.month0() as usize]),
        },
        'w' => pad(out, i64::from(us_week(date).1), n),
        'W' => {
            let first = date.with_day(1).unwrap_or(date);
            let offset = first.weekday().num_days_from_sunday();
            pad(out, i64::from((date.day0() + offset) / 7 + 1), n)
        }
        'D' => pad(out, i64::from(dt.ordinal()), n),
        'd' => pad(out, i64::from(dt.day()), n),
        'F' => pad(out, i64::from(dt.day0() / 7 + 1), n),
        'E' => {
            let name = DAYS[dt.weekday().num_days_from_monday() as usize];
            out.push_str(if n >= 4 { name } else { &name[..3] })
        }
        'u' => pad(out, i64::from(dt.weekday().number_from_monday()), n),
        'a' => out.push_str(if dt.hour() < 12 { "AM" } else { "PM" }),
        'H' => pad(out, i64::from(dt.hour()), n),
        'k' => pad(
            out,
            i64::from(if dt.hour() == 0 { 24 } else { dt.hour() }),
            n,
        ),
        'K' => pad(out, i64::from(dt.hour() % 12), n),
        'h' => pad(
            out,
            i64::from(if dt.hour() % 12 == 0 {
                12
            } else {
                dt.hour() % 12
            }),
            n,
        ),
        'm' => pad(out, i64::from(dt.minute()), n),
        's' => pad(out, i64::from(dt.second()), n),
        'S' => pad(out, i64::from(dt.timestamp_subsec_millis()), n),
        'z' => out.push_str(&if n >= 4 {
            zone.long_name()
        } else {
            zone.abbreviation(ms)
        }),
        'Z' | 'X' => {
            let secs = dt.offset().local_minus_utc();
            if c == 'X' && secs == 0 {
                out.push('Z');
                return;
            }
            let sign = if secs < 0 { '-' } else { '+' };
            let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
            let _ = match (c, n) {
                ('X', 1) => write!(out, "{sign}{h:02}"),
                ('X', 2) => write!(out, "{sign}{h:02}{m:02}"),
                ('X', _) => write!(out, "{sign}{h:02}:{m:02}"),
                _ => write!(out, "{sign}{h:02}{m:02}"),
            };
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_466_431_509_123; // 2016-06-20 14:05:09.123 UTC, a Monday

    fn f(p: &str, zone: &str) -> String {
        DatePattern::compile(p)
            .unwrap()
            .format(T, &Zone::parse(zone).unwrap())
            .unwrap()
    }

    #[test]
    fn flagship_pattern() {
        assert_eq!(f("yyyy-MM-dd HH:mm:ss", "UTC"), "2016-06-20 14:05:09");
    }

    #[test]
    fn letters() {
        assert_eq!(f("yy MMM MMMM M d D", "UTC"), "16 Jun June 6 20 172");
        assert_eq!(f("E EEEE u F w W", "UTC"), "Mon Monday 1 3 26 4");
        assert_eq!(f("hh:mm a k K S SSS", "UTC"), "02:05 PM 14 2 123 123");
        assert_eq!(f("'at' HH 'o''clock' ''", "UTC"), "at 14 o'clock '");
        assert_eq!(f("G yyyy", "UTC"), "AD 2016");
        assert_eq!(f("Z X XX XXX z", "UTC"), "+0000 Z Z Z UTC");
        assert_eq!(f("HH:mm Z XXX", "Europe/Berlin"), "16:05 +0200 +02:00");
        assert_eq!(f("HH:mm z", "Europe/Berlin"), "16:05 CEST");
        assert_eq!(f("HH:mm", "-05:30"), "08:35");
    }

    #[test]
    fn week_year_at_year_end() {
        // 2016-12-31 is a Saturday in the week holding 2017-01-01? No: that week starts 2017-01-01.
        let dec31 = 1_483_142_400_000; // 2016-12-31 00:00 UTC
        let p = DatePattern::compile("YYYY w").unwrap();
        assert_eq!(p.format(dec31, &Zone::utc()).unwrap(), "2016 53");
        let dec30_2019 = 1_577_664_000_000; // Monday 2019-12-30: its week holds 2020-01-01
        assert_eq!(p.format(dec30_2019, &Zone::utc()).unwrap(), "2020 1");
    }

    #[test]
    fn errors() {
        assert!(DatePattern::compile("yyyy-MM-dd T").is_err());
        assert!(DatePattern::compile("'open").is_err());
    }
}
