//! The end-of-run summary: what was read, what was skipped and why, what the
//! time window and LIMIT hid, and the hits by label, host and process. Printed
//! on stderr and, with `--summary-json`, written as JSON.

use portent_core::Zone;
use portent_detect::scan::Scan;
use serde::Serialize;
use std::collections::BTreeMap;

/// One input's part of the summary.
#[derive(Clone, Debug, Serialize)]
pub struct InputSummary {
    /// Path (`file!member` inside archives).
    pub name: String,
    /// Format found.
    pub format: String,
    /// Events read.
    pub events: u64,
    /// Skipped, by reason: how many and the first places.
    pub skipped: BTreeMap<String, Count>,
    /// Kept after repair, by reason.
    pub repaired: BTreeMap<String, Count>,
    /// Endpoint hosts.
    pub hosts: Vec<String>,
    /// First and last event time (RFC 3339).
    pub time_span: Option<(String, String)>,
    /// Why the input was not read at all.
    pub error: Option<String>,
    /// Why a file found in a folder was passed over (not telemetry).
    pub ignored: Option<String>,
}

/// A count with the first places it happened.
#[derive(Clone, Debug, Serialize)]
pub struct Count {
    /// How many.
    pub count: u64,
    /// The first few places.
    pub at: Vec<String>,
}

fn counts(m: &BTreeMap<String, (u64, Vec<String>)>) -> BTreeMap<String, Count> {
    m.iter()
        .map(|(k, (n, at))| {
            (
                k.clone(),
                Count {
                    count: *n,
                    at: at.clone(),
                },
            )
        })
        .collect()
}

/// One rule's (or query's) part of the summary.
#[derive(Clone, Debug, Serialize)]
pub struct RuleSummary {
    /// Rule id (`query` for an ad hoc query).
    pub id: String,
    /// Its title (what people call it; Sigma ids are UUIDs).
    pub title: String,
    /// Its level or severity.
    pub level: String,
    /// Its ATT&CK technique ids.
    pub attack: Vec<String>,
    /// Rows written.
    pub rows: u64,
    /// Rows before LIMIT.
    pub rows_total: u64,
    /// Rows LIMIT held back.
    pub hidden_by_limit: u64,
    /// Matching events the time window excluded.
    pub outside_window: u64,
    /// Hits tuning exceptions held back.
    pub suppressed: u64,
    /// The window in force, in words.
    pub window: String,
    /// Matches (or alerts) that only feed correlation rules (Sigma's
    /// `generate: false`): counted here, not listed as hits.
    #[serde(skip_serializing_if = "is_zero")]
    pub correlation_only: u64,
    /// Anything else the rule's run left out, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one tuning exception did to one rule.
#[derive(Clone, Debug, Serialize)]
pub struct Suppression {
    /// Exception id.
    pub exception: String,
    /// Rule id.
    pub rule: String,
    /// Hits it held back.
    pub hits: u64,
    /// Its reason.
    pub reason: String,
    /// Its owner.
    pub owner: String,
    /// Its expiry date.
    pub expires: Option<String>,
}

/// Process enrichment counts.
#[derive(Clone, Debug, Serialize)]
pub struct Enrichment {
    /// Candidates joined to their process creation.
    pub found: u64,
    /// Candidates without one in the input.
    pub missing: u64,
    /// Index entries evicted to bound memory.
    pub evicted: u64,
    /// Streaming: candidates written before the end of the input because too
    /// many were waiting for their process creation (bounded memory); a
    /// creation read after them was not joined.
    #[serde(skip_serializing_if = "is_zero")]
    pub released_early: u64,
    /// Streaming: candidates that waited on disk for a creation read later
    /// (a temporary file: memory stays bounded, nothing is lost).
    #[serde(skip_serializing_if = "is_zero")]
    pub waited_on_disk: u64,
    /// Why waiting on disk failed, when it did (the candidates were then
    /// written early, or some were lost reading them back: the run is partial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_error: Option<String>,
}

/// The whole summary.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Version of this shape.
    pub schema_version: u32,
    /// Inputs in order: every one when the run was asked to list them (a
    /// report, JSON), else those with trouble.
    pub inputs: Vec<InputSummary>,
    /// Inputs in all, listed or not.
    #[serde(skip)]
    pub input_count: usize,
    /// Of the files passed over, second paths to one already read.
    #[serde(skip)]
    pub second_paths: usize,
    /// Events read in all.
    pub events_read: u64,
    /// Of those, EVTX events of channels and event ids no rule reads (nor
    /// the process join): read for their time and host only, data passed over.
    pub events_passed_over: u64,
    /// Bytes of input.
    pub bytes_read: u64,
    /// Wall time of reading, seconds.
    pub seconds: f64,
    /// Skipped records and regions, by reason, over all inputs.
    pub skipped: BTreeMap<String, u64>,
    /// Inputs not read at all.
    pub inputs_not_read: usize,
    /// Files found in folders that are not telemetry, passed over.
    pub files_ignored: usize,
    /// First and last event time over all inputs.
    pub time_span: Option<(String, String)>,
    /// Process enrichment.
    pub enrichment: Option<Enrichment>,
    /// Per rule.
    pub rules: Vec<RuleSummary>,
    /// Hits held back, per exception and rule (exceptions that held back nothing too).
    pub suppressed: Vec<Suppression>,
    /// Exceptions that expired and no longer suppress.
    pub expired_exceptions: Vec<String>,
    /// Hits per label (the rule's label column), per host and per process.
    pub hits_per_label: BTreeMap<String, u64>,
    /// Hits per host.
    pub hits_per_host: BTreeMap<String, u64>,
    /// Hits per process.
    pub hits_per_process: BTreeMap<String, u64>,
    /// What choosing the rules left out (inert and failed Sigma rules,
    /// rules below `--min-level`).
    pub rule_set: Option<crate::pack::RuleSetReport>,
}

/// RFC 3339 with the offset of `zone`.
pub use portent_detect::alert::rfc3339;

impl Summary {
    /// The input part of a summary, from a scan.
    pub fn from_scan(scan: &Scan, zone: &Zone) -> Summary {
        let all = &scan.inputs;
        let inputs: Vec<InputSummary> = all
            .listed
            .iter()
            .map(|r| InputSummary {
                name: r.name.clone(),
                format: r.format.clone(),
                events: r.records,
                skipped: counts(&r.skipped),
                repaired: counts(&r.repaired),
                hosts: r.hosts.keys().cloned().collect(),
                time_span: r.span.map(|(a, b)| (rfc3339(a, zone), rfc3339(b, zone))),
                error: r.fatal.clone(),
                ignored: r.ignored.clone(),
            })
            .collect();
        Summary {
            schema_version: crate::output::SCHEMA_VERSION,
            inputs_not_read: all.not_read,
            files_ignored: all.ignored,
            input_count: all.count,
            second_paths: all.second_paths,
            inputs,
            events_read: scan.events,
            events_passed_over: all.passed_over,
            bytes_read: scan.bytes,
            seconds: scan.elapsed.as_secs_f64(),
            skipped: all.skipped.clone(),
            time_span: all.span.map(|(a, b)| (rfc3339(a, zone), rfc3339(b, zone))),
            enrichment: scan.enrichment.filter(|(f, m, _)| f + m > 0).map(
                |(found, missing, evicted)| Enrichment {
                    found,
                    missing,
                    evicted,
                    released_early: scan.released_early,
                    waited_on_disk: scan.waited_on_disk,
                    disk_error: scan.spill_error.clone(),
                },
            ),
            rules: Vec::new(),
            suppressed: Vec::new(),
            expired_exceptions: Vec::new(),
            hits_per_label: BTreeMap::new(),
            hits_per_host: BTreeMap::new(),
            hits_per_process: BTreeMap::new(),
            rule_set: None,
        }
    }

    /// True when some input was skipped in part or whole.
    pub fn partial(&self) -> bool {
        self.inputs_not_read > 0
            || !self.skipped.is_empty()
            || self
                .enrichment
                .as_ref()
                .is_some_and(|e| e.disk_error.is_some())
    }

    /// Prints the summary for people: problem inputs always, every input with `all`.
    pub fn print(&self, all: bool) {
        for i in &self.inputs {
            let trouble = i.error.is_some() || !i.skipped.is_empty() || !i.repaired.is_empty();
            if !(all || trouble) {
                continue;
            }
            match (&i.error, &i.ignored) {
                (Some(e), _) => eprintln!("portent: {}: not read: {e}", i.name),
                (None, Some(why)) => eprintln!("portent: {}: ignored: {why}", i.name),
                (None, None) => {
                    let mut line =
                        format!("portent: {}: {}, {} events", i.name, i.format, i.events);
                    if !i.hosts.is_empty() {
                        line.push_str(&format!(", hosts {}", i.hosts.join(", ")));
                    }
                    if let Some((a, b)) = &i.time_span {
                        line.push_str(&format!(", {a} .. {b}"));
                    }
                    eprintln!("{line}");
                    for (reason, c) in &i.skipped {
                        eprintln!(
                            "    skipped {}: {reason} (at {}{})",
                            c.count,
                            c.at.join(", "),
                            if c.count as usize > c.at.len() {
                                ", ..."
                            } else {
                                ""
                            }
                        );
                    }
                    for (reason, c) in &i.repaired {
                        eprintln!(
                            "    kept {} after repair: {reason} (at {})",
                            c.count,
                            c.at.join(", ")
                        );
                    }
                }
            }
        }
        let readable = self.input_count - self.inputs_not_read - self.files_ignored;
        let skipped: u64 = self.skipped.values().sum();
        eprintln!(
            "portent: {} event(s) read from {readable} input(s) ({}, {:.1} s){}; {skipped} skipped{}",
            self.events_read,
            crate::progress::human(self.bytes_read),
            self.seconds,
            self.time_span.as_ref().map_or(String::new(), |(a, b)| format!(", {a} .. {b}")),
            if self.inputs_not_read > 0 {
                format!(", {} input(s) not read", self.inputs_not_read)
            } else {
                String::new()
            }
        );
        if self.events_passed_over > 0 {
            eprintln!(
                "portent: {} of them of channels and event ids no rule reads: read for their time and host, their data passed over",
                self.events_passed_over
            );
        }
        if self.files_ignored > 0 && !all {
            // A second path to a file already read (a hard link, a link into
            // the tree) is not "not telemetry": it is said apart.
            let twice = self.second_paths;
            let other = self.files_ignored - twice;
            if other > 0 {
                eprintln!(
                    "portent: {other} file(s) in the folders are not telemetry and were ignored (--report lists them)"
                );
            }
            if twice > 0 {
                eprintln!(
                    "portent: {twice} path(s) lead to a file or folder already read (hard or symbolic links): read once (--report lists them)"
                );
            }
        }
        if let Some(e) = &self.enrichment {
            eprintln!(
                "portent: process enrichment: {} candidate(s) joined to their process creation, {} without one in the input{}{}",
                e.found,
                e.missing,
                if e.evicted > 0 { format!(", {} index entries evicted", e.evicted) } else { String::new() },
                if e.released_early > 0 {
                    format!("; {} written before the input ended, to bound memory (a creation read after them was not joined)", e.released_early)
                } else {
                    String::new()
                },
            );
            if e.waited_on_disk > 0 {
                eprintln!(
                    "portent: process enrichment: {} candidate(s) waited on disk for a creation read later (memory stays bounded)",
                    e.waited_on_disk
                );
            }
            if let Some(err) = &e.disk_error {
                eprintln!("portent: error: candidates waiting for their process creation could not use the disk ({err}); see the counts above");
            }
        }
        if let Some(rs) = &self.rule_set {
            rs.print();
        }
        // A handful of rules get a line each; a rule set of thousands gets
        // its rules with hits, by title, most hits first, and a count of
        // the quiet ones (each is in --summary-json).
        let many = self.rules.len() > 20;
        if many {
            let mut hit: Vec<&RuleSummary> = self.rules.iter().filter(|r| r.rows > 0).collect();
            hit.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.title.cmp(&b.title)));
            let shown = if all { hit.len() } else { hit.len().min(30) };
            eprintln!(
                "portent: {} of {} rules hit ({} rows):",
                hit.len(),
                self.rules.len(),
                hit.iter().map(|r| r.rows).sum::<u64>()
            );
            for r in &hit[..shown] {
                eprintln!(
                    "    {:>6}  {:<13} {}{}",
                    r.rows,
                    r.level,
                    r.title,
                    if r.attack.is_empty() {
                        String::new()
                    } else {
                        format!("  [{}]", r.attack.join(" "))
                    }
                );
            }
            if hit.len() > shown {
                eprintln!(
                    "    ... {} more rules with hits (--report lists all)",
                    hit.len() - shown
                );
            }
        }
        for r in &self.rules {
            let notable = r.hidden_by_limit > 0
                || r.outside_window > 0
                || r.suppressed > 0
                || r.correlation_only > 0
                || !r.notes.is_empty();
            if many && !notable {
                continue;
            }
            let name = if r.title.is_empty() || r.title == r.id {
                r.id.clone()
            } else {
                format!("{} ({})", r.title, r.id)
            };
            let mut line = format!("portent: {name}: {} row(s)", r.rows);
            if r.hidden_by_limit > 0 {
                line.push_str(&format!(
                    ", {} more hidden by LIMIT ({} in total)",
                    r.hidden_by_limit, r.rows_total
                ));
            }
            line.push_str(&format!(
                "; time window: {}; {} matching event(s) outside it",
                r.window, r.outside_window
            ));
            if r.suppressed > 0 {
                line.push_str(&format!("; {} suppressed by tuning", r.suppressed));
            }
            if r.correlation_only > 0 {
                line.push_str(&format!(
                    "; {} match(es) only feed correlations (generate: false) and are not listed",
                    r.correlation_only
                ));
            }
            for n in &r.notes {
                line.push_str(&format!("; {n}"));
            }
            eprintln!("{line}");
        }
        for s in &self.suppressed {
            eprintln!(
                "portent: tuning: `{}` held back {} hit(s) of {} ({}; owner {}{})",
                s.exception,
                s.hits,
                s.rule,
                s.reason.trim(),
                s.owner,
                s.expires
                    .as_ref()
                    .map_or(String::new(), |e| format!(", expires {e}"))
            );
        }
        let top = |m: &BTreeMap<String, u64>| {
            let mut v: Vec<(&String, &u64)> = m.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let shown: Vec<String> = v.iter().take(5).map(|(k, n)| format!("{k} {n}")).collect();
            let more = v.len().saturating_sub(5);
            format!(
                "{}{}",
                shown.join(", "),
                if more > 0 {
                    format!(", {more} more")
                } else {
                    String::new()
                }
            )
        };
        if !self.hits_per_label.is_empty() {
            eprintln!("portent: hits by label: {}", top(&self.hits_per_label));
        }
        if !self.hits_per_host.is_empty() {
            eprintln!("portent: hits by host: {}", top(&self.hits_per_host));
        }
        if !self.hits_per_process.is_empty() {
            eprintln!("portent: hits by process: {}", top(&self.hits_per_process));
        }
    }

    /// Writes the JSON summary to `path`, atomically.
    pub fn write_json(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::output::atomic(path, &mut |out| out.write_all(text.as_bytes()))
    }
}
