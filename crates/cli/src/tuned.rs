//! Applying a tuning file to one rule's run: the same for hunt and query.

use crate::summary::{Summary, Suppression};
use portent_core::schema::ids;
use portent_core::{Record, Value, Zone};
use portent_engine::tuning::{Exception, Tuning};
use portent_engine::{Run, Sink};

/// One rule's exceptions and what they held back.
pub struct Tuned<'t> {
    rule: String,
    exceptions: Vec<(usize, &'t Exception)>,
    held: Vec<u64>,
}

impl<'t> Tuned<'t> {
    /// The active exceptions of `tuning` for `rule`.
    pub fn new(tuning: Option<&'t Tuning>, rule: &'t str) -> Tuned<'t> {
        Tuned {
            rule: rule.to_owned(),
            exceptions: tuning.map_or_else(Vec::new, |t| t.for_rule(rule).collect()),
            held: vec![0; tuning.map_or(0, |t| t.exceptions.len())],
        }
    }

    /// Pushes `rec` into `run` unless an exception holds it back. A held-back
    /// hit is counted and returned as a copy tagged with the exception's id
    /// ("Suppressed By"), for `--show-suppressed`.
    pub fn push<S: Sink>(
        &mut self,
        run: &mut Run<'_, S>,
        rec: &Record<'static>,
        zone: &Zone,
    ) -> Option<Record<'static>> {
        let mut by = None;
        let exceptions = &self.exceptions;
        let _ = run.push_unless(rec, &mut |ev| {
            by = exceptions.iter().find(|(_, e)| e.matches(ev, zone));
            by.is_some()
        });
        let (x, e) = by?;
        self.held[*x] += 1;
        let mut tagged = rec.clone();
        tagged.set(ids::SUPPRESSED_BY, Value::string(e.id.clone()));
        Some(tagged)
    }

    /// Adds what each exception held back (nothing too) and the expired
    /// exceptions to `summary`.
    pub fn report(self, tuning: Option<&Tuning>, summary: &mut Summary) {
        let Some(t) = tuning else { return };
        for (x, e) in &self.exceptions {
            summary.suppressed.push(Suppression {
                exception: e.id.clone(),
                rule: self.rule.clone(),
                hits: self.held[*x],
                reason: e.reason.clone(),
                owner: e.owner.clone(),
                expires: e.expires.map(|d| d.to_string()),
            });
        }
        summary.expired_exceptions = t
            .exceptions
            .iter()
            .filter(|e| e.expired)
            .map(|e| e.id.clone())
            .collect();
    }
}
