//! `hunt --html FILE`: one self-contained page for people who open a report
//! rather than a terminal: the run, the hits by rule, level, tactic, host and
//! time, a filterable table, and the context of each hit. Everything is in
//! the file (styles, script, data): it opens offline and can be mailed.
//!
//! The page is written while the hunt runs: each hit becomes one line of a
//! data block as it is found, so memory does not grow with the hits. The
//! run's summary and the page's script come last. Past `max_rows` hits the
//! rows are counted, not embedded (a browser cannot hold millions), and the
//! page says how many; the charts count every hit.

use serde_json::{json, Value as J};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const STYLE: &str = include_str!("report/report.css");
const SCRIPT: &str = include_str!("report/report.js");
/// Beacon rows in the page at most (the most regular first).
const MAX_BEACONS: usize = 500;

/// The report being written.
pub struct Report {
    path: PathBuf,
    /// The page under its temporary name, until it is finished.
    tmp: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
    max_rows: u64,
    embedded: u64,
    left_out: u64,
    /// Hits per hour (`YYYY-MM-DDTHH` in the hunt's zone) and severity.
    by_hour: BTreeMap<String, BTreeMap<String, u64>>,
    untimed: u64,
    /// The beacon view of the listed hits.
    beacons: crate::beacons::Groups,
    beacon_hits: u64,
    line: Vec<u8>,
    error: Option<std::io::Error>,
}

impl Report {
    /// Starts the page at `path` (written in its folder under a temporary
    /// name, and renamed when finished: a failed run leaves no half page).
    pub fn create(path: &Path, max_rows: u64) -> anyhow::Result<Report> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A device or a pipe is written in place (renaming onto it would
        // replace it); a file goes under a temporary name first.
        let special = crate::output::is_special(path);
        let tmp = if special {
            path.to_owned()
        } else {
            dir.join(format!(".{name}.portent-{}.tmp", std::process::id()))
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(!special)
            .truncate(!special)
            .open(&tmp)
            .map_err(|e| anyhow::anyhow!("--html {}: {e}", path.display()))?;
        let head = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
             <title>Portent hunt report</title><style>{STYLE}</style></head>\n<body>\
             <noscript>This report draws its tables and charts with JavaScript.</noscript>\
             <div id=\"app\"></div>\n<script type=\"application/x-ndjson\" id=\"hits\">\n"
        );
        let mut report = Report {
            path: path.to_owned(),
            tmp,
            out: Some(std::io::BufWriter::new(file)),
            max_rows,
            embedded: 0,
            left_out: 0,
            by_hour: BTreeMap::new(),
            untimed: 0,
            beacons: Default::default(),
            beacon_hits: 0,
            line: Vec::new(),
            error: None,
        };
        report.write_markup(head.as_bytes());
        Ok(report)
    }

    /// Adds a hit (all its columns; empty ones are left out of the page).
    pub fn push(&mut self, cells: &[(String, J)]) {
        let cell = |name: &str| cells.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let severity = cell("severity")
            .and_then(J::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown");
        match cell("time").and_then(J::as_str).and_then(|t| t.get(..13)) {
            Some(hour) => {
                let h = self.by_hour.entry(hour.to_owned()).or_default();
                *h.entry(severity.to_owned()).or_default() += 1;
            }
            None => self.untimed += 1,
        }
        if self.embedded >= self.max_rows {
            self.left_out += 1;
            return;
        }
        self.embedded += 1;
        let find = |names: &[&str]| {
            names.iter().find_map(|n| {
                cells
                    .iter()
                    .find(|(k, v)| k.eq_ignore_ascii_case(n) && !v.is_null())
                    .map(|(_, v)| v.clone())
            })
        };
        if self.beacons.add(&find) == Some(true) {
            self.beacon_hits += 1;
        }
        self.line.clear();
        self.line.push(b'{');
        let mut first = true;
        for (k, v) in cells.iter().filter(|(_, v)| !is_empty(v)) {
            if !first {
                self.line.push(b',');
            }
            first = false;
            // Writing JSON into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.line, k);
            self.line.push(b':');
            let _ = serde_json::to_writer(&mut self.line, v);
        }
        self.line.extend_from_slice(b"}\n");
        let line = std::mem::take(&mut self.line);
        self.write(&line);
        self.line = line;
    }

    /// Ends the page with `meta` (the run: summary, rules, inputs) and the
    /// script, and puts it in place.
    pub fn finish(mut self, mut meta: J, zone: &portent_core::Zone) -> anyhow::Result<()> {
        let by_hour: Vec<J> = self
            .by_hour
            .iter()
            .map(|(h, sev)| json!([h, sev]))
            .collect();
        let beacons: Vec<J> = std::mem::take(&mut self.beacons)
            .rows(zone)
            .into_iter()
            .map(|cells| J::Object(cells.into_iter().collect()))
            .collect();
        let beacon_groups = beacons.len();
        let beacons: Vec<J> = beacons.into_iter().take(MAX_BEACONS).collect();
        if let Some(m) = meta.as_object_mut() {
            m.insert(
                "report".into(),
                json!({
                    "embedded": self.embedded,
                    "left_out": self.left_out,
                    "max_rows": self.max_rows,
                    "by_hour": by_hour,
                    "untimed": self.untimed,
                    "beacons": beacons,
                    "beacon_groups": beacon_groups,
                    "beacon_hits": self.beacon_hits,
                }),
            );
        }
        self.write_markup(b"</script>\n<script type=\"application/json\" id=\"meta\">");
        // Writing JSON into a Vec cannot fail.
        let meta = serde_json::to_vec(&meta).unwrap_or_default();
        self.write(&meta);
        let script = format!("</script>\n<script>\n{SCRIPT}</script>\n</body></html>\n");
        self.write_markup(script.as_bytes());
        if self.left_out > 0 {
            eprintln!(
                "portent: --html {}: {} hit(s) in the page's table, {} more counted in its charts but not listed (--html-max-rows)",
                self.path.display(),
                self.embedded,
                self.left_out
            );
        }
        let fail =
            |e: std::io::Error| anyhow::anyhow!("cannot write --html {}: {e}", self.path.display());
        if let Some(e) = self.error.take() {
            return Err(fail(e));
        }
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let file = out.into_inner().map_err(|e| fail(e.into_error()))?;
        if self.tmp == self.path {
            return Ok(());
        }
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(fail)?;
        Ok(())
    }

    /// Writes the page's own markup.
    fn write_markup(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    /// Writes data into a data block. `<` never reaches the page as
    /// itself: a value holding `</script>` or `<!--` must not end or bend
    /// the block (JSON reads `\u003c` as the same character).
    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let Some(out) = self.out.as_mut() else { return };
        let mut rest = bytes;
        let result = (|| {
            while let Some(i) = rest.iter().position(|b| *b == b'<') {
                out.write_all(&rest[..i])?;
                out.write_all(b"\\u003c")?;
                rest = &rest[i + 1..];
            }
            out.write_all(rest)
        })();
        if let Err(e) = result {
            self.error = Some(e);
        }
    }
}

impl Drop for Report {
    /// A report not finished (the run failed, or its writing did) leaves
    /// no file behind.
    fn drop(&mut self) {
        // Once finished, the temporary name is gone (renamed): nothing to
        // do. A device written in place is never removed.
        if self.tmp != self.path {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn is_empty(v: &J) -> bool {
    match v {
        J::Null => true,
        J::String(s) => s.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("portent-report-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_unfinished_report_leaves_no_file() {
        let d = dir("unfinished");
        let mut r = Report::create(&d.join("r.html"), 10).unwrap();
        r.push(&[("time".into(), json!("2025-01-01T00:00:00Z"))]);
        drop(r);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
    }

    #[test]
    fn data_cannot_close_its_block_and_hours_count_every_hit() {
        let d = dir("escape");
        let p = d.join("r.html");
        let mut r = Report::create(&p, 1).unwrap();
        for cmd in ["</script><b>x</b>", "<!--", "plain"] {
            r.push(&[
                ("time".into(), json!("2025-01-01T07:59:59Z")),
                ("severity".into(), json!("high")),
                ("command_line".into(), json!(cmd)),
                ("empty".into(), J::Null),
            ]);
        }
        r.push(&[("command_line".into(), json!("untimed"))]);
        r.finish(json!({"summary": {}}), &portent_core::Zone::utc())
            .unwrap();
        let page = std::fs::read_to_string(&p).unwrap();
        assert_eq!(page.matches("</script>").count(), 3);
        assert!(page.contains(r#"{"time":"2025-01-01T07:59:59Z","severity":"high","command_line":"\u003c/script>\u003cb>x\u003c/b>"}"#));
        assert!(!page.contains("\"empty\":"));
        assert!(page.contains(r#""by_hour":[["2025-01-01T07",{"high":3}]]"#));
        assert!(page.contains(r#""embedded":1"#) && page.contains(r#""left_out":3"#));
        assert!(page.contains(r#""untimed":1"#));
    }

    proptest::proptest! {
        /// Whatever the evidence holds, the page has its three blocks and
        /// each listed hit reads back as it was given.
        #[test]
        fn any_text_reads_back_and_never_closes_a_block(
            values in proptest::collection::vec(".*", 1..6),
            markup in proptest::sample::select(vec!["</script>", "<!--", "<script>", "</SCRIPT >", "\u{2028}"]),
        ) {
            let d = dir("prop");
            let p = d.join("r.html");
            let mut r = Report::create(&p, 100).unwrap();
            let rows: Vec<Vec<(String, J)>> = values
                .iter()
                .map(|v| vec![
                    ("command_line".to_owned(), json!(format!("{markup}{v}{markup}"))),
                    (format!("{v}<k"), json!(v)),
                ])
                .collect();
            for row in &rows {
                r.push(row);
            }
            r.finish(json!({"summary": {}}), &portent_core::Zone::utc()).unwrap();
            let page = std::fs::read_to_string(&p).unwrap();
            proptest::prop_assert_eq!(page.to_ascii_lowercase().matches("</script").count(), 3);
            let start = page.find("id=\"hits\">\n").unwrap() + 11;
            let end = start + page[start..].find("</script>").unwrap();
            let lines: Vec<&str> = page[start..end].lines().collect();
            proptest::prop_assert_eq!(lines.len(), rows.len());
            for (line, row) in lines.iter().zip(&rows) {
                let got: serde_json::Map<String, J> = serde_json::from_str(line).unwrap();
                for (k, v) in row.iter().filter(|(_, v)| !is_empty(v)) {
                    proptest::prop_assert_eq!(got.get(k), Some(v));
                }
            }
        }
    }
}
