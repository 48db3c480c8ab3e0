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
    /// Of those, EVTX events read for their System part only (time, host,
    /// channel, ids): of channels and event ids the run has no use for.
    pub passed_over: u64,
    /// Records or regions skipped, by reason: count and a few locations.
    pub skipped: BTreeMap<String, (u64, Vec<String>)>,
    /// Endpoint hosts seen, with their event counts.
    pub hosts: Hosts,
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
            self.hosts.add(h, 1);
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
        self.passed_over += other.passed_over;
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
        for (h, n) in other.hosts.0 {
            self.hosts.add(&h, n);
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

impl FileReport {
    /// True when something about this input must be said even when inputs
    /// are not listed: it was not read, or records were skipped or repaired.
    pub fn has_trouble(&self) -> bool {
        self.fatal.is_some() || !self.skipped.is_empty() || !self.repaired.is_empty()
    }

    /// True for a path passed over because it leads to a file or folder
    /// already read (a hard or symbolic link): said apart from files that
    /// are not telemetry.
    pub fn is_second_path(&self) -> bool {
        self.ignored
            .as_deref()
            .is_some_and(|w| w.starts_with(SECOND_PATH))
    }
}

/// How the reason for passing over a second path begins.
pub(crate) const SECOND_PATH: &str = "same ";

/// The reports of a run's inputs as they come in: totals over every input,
/// and the reports themselves, of every input or (for an evidence folder of
/// thousands of files, where a run's memory must not grow with the number
/// of files) only of those with something to say.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Reports kept, in the order they came in.
    pub listed: Vec<FileReport>,
    /// Every report is kept, not only those with trouble.
    pub all_listed: bool,
    /// Inputs in all (an EVTX file read in chunk ranges counts once).
    pub count: usize,
    /// Inputs not read at all.
    pub not_read: usize,
    /// Files passed over (not telemetry, or a second path to one read).
    pub ignored: usize,
    /// Of those, second paths to a file or folder already read.
    pub second_paths: usize,
    /// Records skipped, by reason, over every input.
    pub skipped: BTreeMap<String, u64>,
    /// Events read for their System part only, over every input.
    pub passed_over: u64,
    /// Earliest and latest event time over every input.
    pub span: Option<(i64, i64)>,
    /// The last report, still open to the next chunk range of its file.
    open: Option<FileReport>,
}

impl Inputs {
    /// Keeping every report (`all`) or only those with trouble or passed over
    /// for a reason other than being read already.
    pub fn new(all: bool) -> Inputs {
        Inputs {
            all_listed: all,
            ..Inputs::default()
        }
    }

    /// Takes in the next report; the chunk ranges of one EVTX file, which
    /// come one after another, make one report.
    pub fn push(&mut self, r: FileReport) {
        match &mut self.open {
            Some(open) if open.name == r.name && open.format == "EVTX" && r.format == "EVTX" => {
                open.merge(r)
            }
            _ => {
                if let Some(done) = self.open.replace(r) {
                    self.close(done);
                }
            }
        }
    }

    /// Takes in every report of `all`.
    pub fn extend(&mut self, all: impl IntoIterator<Item = FileReport>) {
        for r in all {
            self.push(r);
        }
    }

    /// Closes the last report: call once every report is in.
    pub fn finish(&mut self) {
        if let Some(done) = self.open.take() {
            self.close(done);
        }
    }

    fn close(&mut self, r: FileReport) {
        self.count += 1;
        self.not_read += usize::from(r.fatal.is_some());
        self.ignored += usize::from(r.ignored.is_some());
        self.second_paths += usize::from(r.is_second_path());
        self.passed_over += r.passed_over;
        for (reason, (n, _)) in &r.skipped {
            *self.skipped.entry(reason.clone()).or_insert(0) += n;
        }
        if let Some((a, b)) = r.span {
            self.span = Some(self.span.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        if self.all_listed || r.has_trouble() {
            self.listed.push(r);
        }
    }
}

/// The hosts of one input with their event counts, by name. A file holds
/// one host or a few (a forwarded-events log, many): a sorted list costs a
/// report a few dozen bytes where a map costs a node of eleven entries, and
/// an evidence folder has one report per file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hosts(Vec<(String, u64)>);

impl Hosts {
    /// Counts `n` more events of `host`.
    pub fn add(&mut self, host: &str, n: u64) {
        // Events of one host come in runs: the last one added is the likeliest.
        let at = match self.0.last() {
            Some((last, _)) if last == host => Ok(self.0.len() - 1),
            _ => self.0.binary_search_by(|(h, _)| h.as_str().cmp(host)),
        };
        match at {
            Ok(i) => self.0[i].1 += n,
            Err(i) => self.0.insert(i, (host.to_owned(), n)),
        }
    }

    /// The hosts, by name.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(h, _)| h)
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no event named a host.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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

    fn evtx(name: &str, records: u64, span: (i64, i64)) -> FileReport {
        let mut r = FileReport::new(name);
        r.format = "EVTX".into();
        r.records = records;
        r.span = Some(span);
        r
    }

    /// The reports of a folder: a file read in two chunk ranges, a clean
    /// one, one with a skipped record, one not read, one not telemetry and
    /// a second path to a file read already.
    fn folder() -> Vec<FileReport> {
        let mut skipped = evtx("c.evtx", 4, (50, 60));
        skipped.skip("bad record", "record 9");
        let mut not_read = FileReport::new("d.json");
        not_read.fatal = Some("cannot read".into());
        let mut not_telemetry = FileReport::new("e.txt");
        not_telemetry.ignored = Some("not telemetry".into());
        let mut again = FileReport::new("link.evtx");
        again.ignored = Some(format!("{SECOND_PATH}file as a.evtx (read once)"));
        vec![
            evtx("a.evtx", 10, (100, 200)),
            evtx("a.evtx", 5, (20, 300)),
            evtx("b.evtx", 7, (150, 160)),
            skipped,
            not_read,
            not_telemetry,
            again,
        ]
    }

    #[test]
    fn inputs_keep_totals_whether_or_not_every_report_is_kept() {
        let mut all = Inputs::new(true);
        all.extend(folder());
        all.finish();
        let mut trouble = Inputs::new(false);
        trouble.extend(folder());
        trouble.finish();
        for i in [&all, &trouble] {
            assert_eq!(i.count, 6, "a.evtx's two ranges are one input");
            assert_eq!(i.not_read, 1);
            assert_eq!(i.ignored, 2);
            assert_eq!(i.second_paths, 1);
            assert_eq!(i.skipped, BTreeMap::from([("bad record".to_owned(), 1)]));
            assert_eq!(i.span, Some((20, 300)));
        }
        let names = |i: &Inputs| i.listed.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&all),
            ["a.evtx", "b.evtx", "c.evtx", "d.json", "e.txt", "link.evtx"]
        );
        assert_eq!(all.listed[0].records, 15);
        assert_eq!(all.listed[0].span, Some((20, 300)));
        assert_eq!(names(&trouble), ["c.evtx", "d.json"]);
    }

    #[test]
    fn the_last_report_counts_only_once_finished() {
        let mut i = Inputs::new(false);
        i.push(evtx("a.evtx", 1, (1, 1)));
        assert_eq!(i.count, 0, "a.evtx may have another range to come");
        i.push(evtx("a.evtx", 1, (2, 2)));
        i.finish();
        assert_eq!(i.count, 1);
        assert_eq!(i.span, Some((1, 2)));
    }

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
