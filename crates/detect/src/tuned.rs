//! A rule's tuning exceptions applied to its run: the same for `hunt`,
//! `query` and `watch`.

use portent_core::{Record, Zone};
use portent_engine::tuning::{Exception, Tuning};
use portent_engine::{Run, Sink};

/// One rule's active exceptions and what each held back.
pub struct Tuned<'t> {
    exceptions: Vec<(usize, &'t Exception)>,
    held: Vec<u64>,
}

impl<'t> Tuned<'t> {
    /// The active exceptions of `tuning` for `rule`.
    pub fn new(tuning: Option<&'t Tuning>, rule: &str) -> Tuned<'t> {
        Tuned {
            exceptions: tuning.map_or_else(Vec::new, |t| t.for_rule(rule).collect()),
            held: vec![0; tuning.map_or(0, |t| t.exceptions.len())],
        }
    }

    /// Pushes `rec` into `run` unless an exception holds it back: then the
    /// hit is counted (here and in the run's `suppressed`) and the exception
    /// returned. Errors of the run's sink are the sink's to report.
    pub fn push<S: Sink>(
        &mut self,
        run: &mut Run<'_, S>,
        rec: &Record<'static>,
        zone: &Zone,
    ) -> Option<&'t Exception> {
        let mut by = None;
        let exceptions = &self.exceptions;
        let _ = run.push_unless(rec, &mut |ev| {
            by = exceptions
                .iter()
                .find(|(_, e)| e.matches(ev, zone))
                .copied();
            by.is_some()
        });
        let (x, e) = by?;
        self.held[x] += 1;
        Some(e)
    }

    /// Each active exception with the hits it held back (none too).
    pub fn held(&self) -> impl Iterator<Item = (&'t Exception, u64)> + '_ {
        self.exceptions.iter().map(|(x, e)| (*e, self.held[*x]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::schema::ids;
    use portent_core::{Schema, Value};
    use portent_engine::{CompileOptions, Query, Row};

    #[test]
    fn the_first_matching_exception_holds_a_hit_back_and_counts_it() {
        let mut schema = Schema::qradar();
        let tuning = Tuning::parse(
            r#"
[[exception]]
id = "first"
reason = "r"
owner = "o"
created = "2026-01-01"
rules = ["r1"]
[exception.match]
"Command" = { wildcard = ["*whoami*"] }

[[exception]]
id = "other-rule"
reason = "r"
owner = "o"
created = "2026-01-01"
rules = ["r2"]
[exception.match]
"Command" = { wildcard = ["*"] }
"#,
            &schema,
            chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        )
        .unwrap();
        let q = Query::compile(
            "SELECT \"Command\" FROM events WHERE \"Command\" IS NOT NULL",
            &mut schema,
            &CompileOptions::default(),
        )
        .unwrap();
        let mut run = Run::new(&q, Vec::<Row>::new(), 0);
        let mut tuned = Tuned::new(Some(&tuning), "r1");
        let zone = Zone::utc();
        let mut rec = Record::new();
        rec.set(ids::COMMAND, Value::str("whoami /all"));
        assert_eq!(
            tuned.push(&mut run, &rec, &zone).map(|e| e.id.as_str()),
            Some("first")
        );
        rec.set(ids::COMMAND, Value::str("ping"));
        assert!(tuned.push(&mut run, &rec, &zone).is_none());
        let held: Vec<(&str, u64)> = tuned.held().map(|(e, n)| (e.id.as_str(), n)).collect();
        assert_eq!(held, [("first", 1)]);
        assert_eq!(run.stats().suppressed, 1);
        assert_eq!(run.sink_mut().len(), 1);
    }
}
