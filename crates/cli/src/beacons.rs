//! The beacon view of a hunt's hits: per host, process and destination, how
//! many connections, when first and last, and how regular their spacing is.
//! Command-and-control implants call home on a timer; a script interpreter
//! reaching the same address every 60 seconds is the seed rule's worst case.
//!
//! The periodicity score is `1 - CV` of the intervals between connections
//! (CV: their standard deviation over their mean), floored at 0: 1 for a
//! perfect timer, near 0 for human or bursty traffic. Fewer than three
//! connections (two intervals) get no score: two points are always "regular".

use crate::output::Sheet;
use crate::summary::rfc3339;
use portent_core::Zone;
use serde_json::Value as J;
use std::collections::BTreeMap;

/// What the hits gave.
pub struct Beacons {
    /// One row per host, process and destination.
    pub sheet: Sheet,
    /// Hits that had no time or no destination, left out.
    pub left_out: u64,
    /// Hits used.
    pub used: u64,
}

fn cell(sheet: &Sheet, row: &[J], names: &[&str]) -> Option<J> {
    names.iter().find_map(|n| {
        sheet
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(n))
            .and_then(|i| row.get(i))
            .filter(|v| !v.is_null())
            .cloned()
    })
}

fn text(v: Option<&J>) -> String {
    match v {
        Some(J::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

type Key = (String, String, String, String);

/// A beacon row with its sort keys: score, then connections.
type Scored = (Option<f64>, usize, Vec<(String, J)>);

/// Groups the hit rows of `hits` (suppressed ones excluded) into beacon rows.
pub fn beacons(hits: &Sheet, zone: &Zone) -> Beacons {
    let mut groups = Groups::default();
    let (mut used, mut left_out) = (0, 0);
    for row in &hits.rows {
        let cell = |names: &[&str]| cell(hits, row, names);
        match groups.add(&cell) {
            Some(true) => used += 1,
            Some(false) => left_out += 1,
            None => {}
        }
    }
    let mut sheet = Sheet::new(Vec::new());
    for cells in groups.rows(zone) {
        sheet.push(cells);
    }
    Beacons {
        sheet,
        left_out,
        used,
    }
}

/// Connections grouped by host, process and destination, as hits come.
#[derive(Default)]
pub struct Groups {
    groups: BTreeMap<Key, (Vec<i64>, Vec<String>)>,
}

impl Groups {
    /// Adds the hit whose cells `cell` finds (by the first of the names
    /// it has): `Some(true)` used, `Some(false)` left out (no time or no
    /// destination), `None` a hit held back by tuning (not a connection made).
    pub fn add(&mut self, cell: &dyn Fn(&[&str]) -> Option<J>) -> Option<bool> {
        if cell(&["suppressed_by"]).is_some() {
            return None;
        }
        let time = cell(&["time"])
            .as_ref()
            .and_then(J::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis());
        let dest = cell(&["destinationip", "destination_ip", "DestinationIp"]);
        let (Some(t), Some(dest)) = (time, dest) else {
            return Some(false);
        };
        let key = (
            text(cell(&["host"]).as_ref()),
            text(cell(&["process_name", "Process Name", "Image"]).as_ref()),
            text(Some(&dest)),
            text(cell(&["destinationport", "DestinationPort"]).as_ref()),
        );
        let e = self.groups.entry(key).or_default();
        e.0.push(t);
        let rule = text(cell(&["rule_id"]).as_ref());
        if !e.1.contains(&rule) {
            e.1.push(rule);
        }
        Some(true)
    }

    /// One row per group, most regular first, then the busiest; unscored last.
    pub fn rows(self, zone: &Zone) -> Vec<Vec<(String, J)>> {
        let mut rows: Vec<Scored> = self
            .groups
            .into_iter()
            .map(|((host, process, dest, port), (mut times, rules))| {
                times.sort_unstable();
                let gaps: Vec<f64> = times
                    .windows(2)
                    .map(|w| (w[1] - w[0]) as f64 / 1000.0)
                    .collect();
                let n = gaps.len() as f64;
                let mean = (n > 0.0).then(|| gaps.iter().sum::<f64>() / n);
                let sd =
                    mean.map(|m| (gaps.iter().map(|g| (g - m).powi(2)).sum::<f64>() / n).sqrt());
                let score = match (mean, sd) {
                    (Some(m), Some(s)) if gaps.len() >= 2 && m > 0.0 => {
                        Some(((1.0 - s / m).max(0.0) * 1000.0).round() / 1000.0)
                    }
                    _ => None,
                };
                let round = |x: f64| (x * 10.0).round() / 10.0;
                let count = times.len();
                let cells = vec![
                    ("periodicity".to_owned(), score.map_or(J::Null, J::from)),
                    ("connections".to_owned(), J::from(count)),
                    ("host".to_owned(), J::from(host)),
                    ("process_name".to_owned(), J::from(process)),
                    ("destinationip".to_owned(), J::from(dest)),
                    ("destinationport".to_owned(), J::from(port)),
                    ("first_seen".to_owned(), J::from(rfc3339(times[0], zone))),
                    (
                        "last_seen".to_owned(),
                        J::from(rfc3339(times[count - 1], zone)),
                    ),
                    (
                        "mean_interval_s".to_owned(),
                        mean.map_or(J::Null, |m| J::from(round(m))),
                    ),
                    (
                        "stddev_interval_s".to_owned(),
                        sd.map_or(J::Null, |s| J::from(round(s))),
                    ),
                    ("rules".to_owned(), J::from(rules.join(" "))),
                ];
                (score, count, cells)
            })
            .collect();
        rows.sort_by(|a, b| {
            b.0.unwrap_or(-1.0)
                .total_cmp(&a.0.unwrap_or(-1.0))
                .then(b.1.cmp(&a.1))
        });
        rows.into_iter().map(|(_, _, cells)| cells).collect()
    }
}
