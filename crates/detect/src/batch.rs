//! A rule set run over the candidates of a batch scan, as `portent hunt`
//! runs it: each rule's rows as its candidates arrive (a rule that groups or
//! sorts gives them at the end), the hits tuning holds back (and, when asked,
//! their rows tagged with the exception), the statistics of every rule, and
//! the matches that feed correlations, put in time order at the end.
//!
//! The binary renders what comes out; the rules' evaluation, tuning and
//! correlation feeding are here, where the library's tests hold them to the
//! stream [`crate::Detector`].

use crate::tuned::Tuned;
use portent_core::schema::ids;
use portent_core::{Event, FieldId, Record, Value, Zone};
use portent_engine::tuning::{Exception, Tuning};
use portent_engine::{Query, Row, Run, Stats, Window};

/// One rule of a batch.
pub struct BatchRule<'q> {
    /// Its compiled query.
    pub query: &'q Query,
    /// Its id, as tuning exceptions name it.
    pub id: &'q str,
    /// Its matches feed correlations.
    pub feeds: bool,
    /// It only feeds correlations: its own rows are not shown.
    pub feeds_only: bool,
}

/// A row a rule gave.
pub struct Hit {
    /// The rule, by its place in the batch.
    pub rule: usize,
    /// Tuning held the event back: a row of `--show-suppressed`, tagged
    /// with the exception in `Suppressed By`.
    pub suppressed: bool,
    /// The row.
    pub row: Row,
}

/// A rule's match that feeds correlations: a copy of the event with only
/// the fields they read.
pub struct Feed {
    /// The event time.
    pub time: Option<i64>,
    /// Its place in the input (see [`crate::scan::Candidate::seq`]).
    pub seq: u64,
    /// The rule that matched.
    pub rule: usize,
    /// The fields correlations read.
    pub record: Record<'static>,
}

struct RuleRun<'q> {
    run: Run<'q, Vec<Row>>,
    tuned: Tuned<'q>,
    /// `--show-suppressed`: the held-back matches, run for their rows.
    shown: Option<Run<'q, Vec<Row>>>,
    feeds: bool,
    feeds_only: bool,
}

/// The rules of a batch, running.
pub struct BatchRun<'q> {
    runs: Vec<RuleRun<'q>>,
    /// NOW() is set (given, or learnt from the input before the first
    /// candidate); otherwise it is set at the end.
    now_set: bool,
    feed_fields: Vec<FieldId>,
    feed: Vec<Feed>,
    zone: Zone,
}

/// How one rule ended.
pub struct RuleEnd<'q> {
    /// What it saw.
    pub stats: Stats,
    /// Its time window at the end (NOW known).
    pub window: Option<Window>,
    /// Each active exception with the hits it held back.
    pub held: Vec<(&'q Exception, u64)>,
    /// It only fed correlations.
    pub feeds_only: bool,
}

impl<'q> BatchRun<'q> {
    /// The rules of `rules` with the exceptions of `tuning`; with
    /// `show_suppressed` the hits tuning holds back give rows too. Matches of
    /// feeding rules are kept with the fields of `feed_fields`.
    pub fn new(
        rules: impl IntoIterator<Item = BatchRule<'q>>,
        tuning: Option<&'q Tuning>,
        show_suppressed: bool,
        feed_fields: Vec<FieldId>,
        zone: Zone,
    ) -> BatchRun<'q> {
        BatchRun {
            runs: rules
                .into_iter()
                .map(|r| RuleRun {
                    run: Run::new(r.query, Vec::new(), 0),
                    tuned: Tuned::new(tuning, r.id),
                    shown: show_suppressed.then(|| Run::new(r.query, Vec::new(), 0)),
                    feeds: r.feeds,
                    feeds_only: r.feeds_only,
                })
                .collect(),
            now_set: false,
            feed_fields,
            feed: Vec::new(),
            zone,
        }
    }

    /// Sets NOW for every rule (before the first candidate).
    pub fn set_now(&mut self, now: i64) {
        self.now_set = true;
        for r in &mut self.runs {
            r.run.set_now(now);
            if let Some(s) = &mut r.shown {
                s.set_now(now);
            }
        }
    }

    /// Runs `record` (the candidate at `seq`) through rule `rule`, handing
    /// its rows to `out`. False when the batch has no rule `rule` (a query
    /// of the caller's own rides the same scan).
    pub fn push(
        &mut self,
        rule: usize,
        record: &Record<'static>,
        seq: u64,
        out: &mut dyn FnMut(Hit),
    ) -> bool {
        let Some(r) = self.runs.get_mut(rule) else {
            return false;
        };
        let matched = r.run.stats().matched;
        if let Some(e) = r.tuned.push(&mut r.run, record, &self.zone) {
            if let Some(s) = &mut r.shown {
                let mut tagged = record.clone();
                tagged.set(ids::SUPPRESSED_BY, Value::string(e.id.clone()));
                let _ = s.push(&tagged);
            }
        }
        if r.feeds && r.run.stats().matched > matched {
            let mut copy = Record::new();
            for f in &self.feed_fields {
                let v = record.get(*f);
                if !v.is_null() {
                    copy.set(*f, v.into_owned());
                }
            }
            self.feed.push(Feed {
                time: record.get(ids::STARTTIME).to_i64(),
                seq,
                rule,
                record: copy,
            });
        }
        let rows = std::mem::take(r.run.sink_mut());
        let shown = r.shown.as_mut().map(|s| std::mem::take(s.sink_mut()));
        if r.feeds_only {
            return true;
        }
        let hits = rows.into_iter().map(|row| (false, row));
        for (suppressed, row) in hits.chain(shown.into_iter().flatten().map(|row| (true, row))) {
            out(Hit {
                rule,
                suppressed,
                row,
            });
        }
        true
    }

    /// Sets NOW to `now` unless it is set already, when `now` is known: a
    /// scan that waits for the newest event before its first candidate
    /// says so here (see `scan::Mode::AtEnd`).
    pub fn learn_now(&mut self, now: Option<i64>) {
        if let (false, Some(now)) = (self.now_set, now) {
            self.set_now(now);
        }
    }

    /// Ends every rule (NOW is `now` unless it was set before), handing
    /// the rows they held to the end to `out`, rule by rule: how each ended,
    /// and the matches that feed correlations, in the order they are to see them.
    pub fn finish(self, now: i64, out: &mut dyn FnMut(Hit)) -> (Vec<RuleEnd<'q>>, Vec<Feed>) {
        let now = (!self.now_set).then_some(now);
        let mut ends = Vec::with_capacity(self.runs.len());
        for (rule, r) in self.runs.into_iter().enumerate() {
            let RuleRun {
                mut run,
                tuned,
                shown,
                feeds_only,
                ..
            } = r;
            if let Some(now) = now {
                run.set_now(now);
            }
            let window = run.window();
            let Ok((rows, stats)) = run.finish();
            let shown_rows = match shown {
                Some(s) => {
                    let Ok((rows, _)) = s.finish();
                    rows
                }
                None => Vec::new(),
            };
            if !feeds_only {
                let hits = rows.into_iter().map(|row| (false, row));
                for (suppressed, row) in hits.chain(shown_rows.into_iter().map(|row| (true, row))) {
                    out(Hit {
                        rule,
                        suppressed,
                        row,
                    });
                }
            }
            ends.push(RuleEnd {
                stats,
                window,
                held: tuned.held().collect(),
                feeds_only,
            });
        }
        // The order correlations see matches in: untimed first (they are
        // only counted), then by time, input order among equal times.
        let mut feed = self.feed;
        feed.sort_unstable_by_key(|f| (f.time.is_some(), f.time, f.seq, f.rule));
        (ends, feed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Schema;
    use portent_engine::CompileOptions;

    fn compile(aql: &str, schema: &mut Schema) -> Query {
        Query::compile(aql, schema, &CompileOptions::default()).unwrap()
    }

    fn event(command: &str, time: i64, port: i64) -> Record<'static> {
        let mut r = Record::new();
        r.set(ids::COMMAND, Value::string(command.to_owned()));
        r.set(ids::STARTTIME, Value::Int(time));
        r.set(ids::DESTINATIONPORT, Value::Int(port));
        r
    }

    #[test]
    fn now_learnt_from_the_input_holds_and_the_end_sets_it_only_when_unknown() {
        let mut schema = Schema::qradar();
        let q = compile(
            r#"SELECT "Command" FROM events WHERE "Command" IS NOT NULL LAST 1 HOURS"#,
            &mut schema,
        );
        let window = |learnt: &[Option<i64>], end: i64| {
            let rule = BatchRule {
                query: &q,
                id: "r",
                feeds: false,
                feeds_only: false,
            };
            let mut batch = BatchRun::new([rule], None, false, Vec::new(), Zone::utc());
            for now in learnt {
                batch.learn_now(*now);
            }
            let (ends, _) = batch.finish(end, &mut |_| {});
            ends[0].window
        };
        let hour = 3_600_000;
        assert!(window(&[], 5 * hour).is_some(), "the query has a window");
        assert_eq!(
            window(&[None, Some(5 * hour), Some(7 * hour)], 9 * hour),
            window(&[], 5 * hour)
        );
        assert_eq!(window(&[None], 9 * hour), window(&[], 9 * hour));
        assert_ne!(window(&[], 5 * hour), window(&[], 9 * hour));
    }

    #[test]
    fn rows_tuning_feeds_and_grouped_rules_come_out_as_hunt_shows_them() {
        let mut schema = Schema::qradar();
        let tuning = Tuning::parse(
            r#"
[[exception]]
id = "admin-whoami"
reason = "r"
owner = "o"
created = "2026-01-01"
rules = ["shell"]
[exception.match]
"Command" = { wildcard = ["*whoami*"] }
"#,
            &schema,
            chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        )
        .unwrap();
        let shell = compile(
            r#"SELECT "Command" FROM events WHERE "Command" ILIKE '%cmd%'"#,
            &mut schema,
        );
        let ports = compile(
            "SELECT destinationport, COUNT(*) AS n FROM events WHERE destinationport > 0 GROUP BY destinationport ORDER BY destinationport",
            &mut schema,
        );
        let feeder = compile(
            "SELECT destinationport FROM events WHERE destinationport = 443",
            &mut schema,
        );
        let mut batch = BatchRun::new(
            [
                BatchRule {
                    query: &shell,
                    id: "shell",
                    feeds: true,
                    feeds_only: false,
                },
                BatchRule {
                    query: &ports,
                    id: "ports",
                    feeds: false,
                    feeds_only: false,
                },
                BatchRule {
                    query: &feeder,
                    id: "feeder",
                    feeds: true,
                    feeds_only: true,
                },
            ],
            Some(&tuning),
            true,
            vec![ids::COMMAND, ids::STARTTIME],
            Zone::utc(),
        );
        let events = [
            event("cmd /c whoami", 30, 443),
            event("cmd /c dir", 10, 80),
            event("notepad", 20, 443),
        ];
        let mut seen: Vec<(usize, bool, String)> = Vec::new();
        for (seq, e) in events.iter().enumerate() {
            for rule in 0..3 {
                assert!(batch.push(rule, e, seq as u64, &mut |h: Hit| {
                    let first = h.row.cells[0].value.to_text().unwrap().into_owned();
                    seen.push((h.rule, h.suppressed, first));
                }));
            }
            assert!(!batch.push(3, e, seq as u64, &mut |_| {}), "no fourth rule");
        }
        // Held back by tuning, shown tagged; the other kept; the grouped
        // rule and the feeding-only rule show nothing yet.
        assert_eq!(
            seen,
            [
                (0, true, "cmd /c whoami".to_owned()),
                (0, false, "cmd /c dir".to_owned())
            ]
        );
        seen.clear();
        let (ends, feed) = batch.finish(1_000, &mut |h: Hit| {
            let first = h.row.cells[0].value.to_text().unwrap().into_owned();
            seen.push((h.rule, h.suppressed, first));
        });
        assert_eq!(
            seen,
            [(1, false, "80".to_owned()), (1, false, "443".to_owned())]
        );
        assert_eq!(ends[0].stats.suppressed, 1);
        assert_eq!(ends[0].stats.emitted, 1);
        let held: Vec<(&str, u64)> = ends[0]
            .held
            .iter()
            .map(|(e, n)| (e.id.as_str(), *n))
            .collect();
        assert_eq!(held, [("admin-whoami", 1)]);
        assert!(ends[2].feeds_only);
        assert_eq!(ends[2].stats.emitted, 2);
        // Matches that feed correlations, in time order, with only the
        // fields correlations read (a held-back hit feeds nothing).
        let order: Vec<(usize, Option<i64>)> = feed.iter().map(|f| (f.rule, f.time)).collect();
        assert_eq!(order, [(0, Some(10)), (2, Some(20)), (2, Some(30))]);
        assert!(feed[0].record.get(ids::DESTINATIONPORT).is_null());
        assert_eq!(
            feed[0].record.get(ids::COMMAND).as_str(),
            Some("cmd /c dir")
        );
    }
}
