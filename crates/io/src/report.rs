//! What reading one input did: the format found, records read, what was
//! skipped and why, the hosts seen and the time span covered.

use std::collections::BTreeMap;
use std::fmt;

/// How many example locations a report keeps per reason; the count is always exact.
const EXAMPLES_PER_REASON: usize = 3;

/// One input's report.
#[derive(Clone, Debug, Default)]
pub struct FileReport {
    /// The input as the user named it (`dir/a.zip!member.json` for archive members).
    pub name: String,
    /// The format that was detected or forced.
    pub format: String,
    /// Events produced.
    pub records: u64,
    /// Records or regions skipped, by reason: count and a few locations.
    pub skipped: BTreeMap<String, (u64, Vec<String>)>,
    /// Endpoint hosts seen, with their event counts.
    pub hosts: BTreeMap<String, u64>,
    /// Earliest and latest event time (epoch ms).
    pub span: Option<(i64, i64)>,
    /// Records kept after a repair (such as invalid UTF-8 replaced), by reason.
    pub repaired: BTreeMap<String, (u64, Vec<String>)>,
    /// A failure that stopped the whole input (unreadable file, unknown format).
    pub fatal: Option<String>,
    /// Why a file found in a folder was passed over (not telemetry): not an error.
    pub ignored: Option<String>,
}

impl FileReport {
    /// A report for `name`.
    pub fn new(name: impl Into<String>) -> FileReport {
        FileReport {
            name: name.into(),
            ..FileReport::default()
        }
    }

    /// Counts one skipped record or region at `place` for `reason`.
    pub fn skip(&mut self, reason: impl Into<String>, place: impl Into<String>) {
        let entry = self.skipped.entry(reason.into()).or_default();
        entry.0 += 1;
        if entry.1.len() < EXAMPLES_PER_REASON {
            entry.1.push(place.into());
        }
    }

    /// Counts one record kept after a repair at `place`.
    pub fn repair(&mut self, reason: impl Into<String>, place: impl Into<String>) {
        let entry = self.repaired.entry(reason.into()).or_default();
        entry.0 += 1;
        if entry.1.len() < EXAMPLES_PER_REASON {
            entry.1.push(place.into());
        }
    }

    /// Total skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().map(|(n, _)| n).sum()
    }

    /// Records an event's host and time.
    pub fn saw(&mut self, host: Option<&str>, time: Option<i64>) {
        if let Some(h) = host {
            match self.hosts.get_mut(h) {
                Some(n) => *n += 1,
                None => {
                    self.hosts.insert(h.to_owned(), 1);
                }
            }
        }
        if let Some(t) = time {
            self.span = Some(match self.span {
                None => (t, t),
                Some((a, b)) => (a.min(t), b.max(t)),
            });
        }
    }

    /// Folds `other` (a part of the same input, such as a chunk range) into this report.
    pub fn merge(&mut self, other: FileReport) {
        self.records += other.records;
        for (reason, (n, places)) in other.skipped {
            let entry = self.skipped.entry(reason).or_default();
            entry.0 += n;
            for p in places {
                if entry.1.len() < EXAMPLES_PER_REASON {
                    entry.1.push(p);
                }
            }
        }
        for (reason, (n, places)) in other.repaired {
            let entry = self.repaired.entry(reason).or_default();
            entry.0 += n;
            entry.1.extend(
                places
                    .into_iter()
                    .take(EXAMPLES_PER_REASON - entry.1.len().min(EXAMPLES_PER_REASON)),
            );
        }
        for (h, n) in other.hosts {
            *self.hosts.entry(h).or_default() += n;
        }
        if let Some((a, b)) = other.span {
            self.saw(None, Some(a));
            self.saw(None, Some(b));
        }
        if self.fatal.is_none() {
            self.fatal = other.fatal;
        }
        if self.format.is_empty() {
            self.format = other.format;
        }
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.name)?;
        if let Some(e) = &self.fatal {
            return write!(f, "not read: {e}");
        }
        if let Some(e) = &self.ignored {
            return write!(f, "ignored: {e}");
        }
        write!(f, "{}, {} events", self.format, self.records)?;
        if !self.hosts.is_empty() {
            let hosts: Vec<&str> = self.hosts.keys().map(String::as_str).collect();
            write!(f, ", hosts {}", hosts.join(", "))?;
        }
        if let Some((a, b)) = self.span {
            write!(f, ", {} .. {}", fmt_ms(a), fmt_ms(b))?;
        }
        for (reason, (n, places)) in &self.skipped {
            write!(f, "\n    skipped {n}: {reason} (at {}", places.join(", "))?;
            if *n as usize > places.len() {
                write!(f, ", ...")?;
            }
            write!(f, ")")?;
        }
        for (reason, (n, places)) in &self.repaired {
            write!(
                f,
                "\n    kept {n} after repair: {reason} (at {})",
                places.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Epoch ms as RFC 3339 UTC.
pub fn fmt_ms(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_and_examples_bounded() {
        let mut r = FileReport::new("x.evtx");
        for i in 0..10 {
            r.skip("bad record", format!("record {i}"));
        }
        r.skip("bad chunk", "chunk 2");
        assert_eq!(r.skipped_total(), 11);
        assert_eq!(r.skipped["bad record"].1.len(), 3);
        r.saw(Some("h"), Some(5));
        r.saw(Some("h"), Some(2));
        assert_eq!(r.span, Some((2, 5)));
        let text = r.to_string();
        assert!(text.contains("skipped 10: bad record (at record 0, record 1, record 2, ...)"));
    }
}
