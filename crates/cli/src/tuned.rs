//! A tuning file's exceptions on one rule's run, with what `hunt` and `query`
//! add: the held-back hit as a tagged copy (`--show-suppressed`) and the
//! summary lines.

use crate::summary::{Summary, Suppression};
use portent_core::schema::ids;
use portent_core::{Record, Value, Zone};
use portent_engine::tuning::Tuning;
use portent_engine::{Run, Sink};

/// One rule's exceptions and what they held back.
pub struct Tuned<'t> {
    rule: String,
    inner: portent_detect::tuned::Tuned<'t>,
}

impl<'t> Tuned<'t> {
    /// The active exceptions of `tuning` for `rule`.
    pub fn new(tuning: Option<&'t Tuning>, rule: &'t str) -> Tuned<'t> {
        Tuned {
            rule: rule.to_owned(),
            inner: portent_detect::tuned::Tuned::new(tuning, rule),
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
        let e = self.inner.push(run, rec, zone)?;
        let mut tagged = rec.clone();
        tagged.set(ids::SUPPRESSED_BY, Value::string(e.id.clone()));
        Some(tagged)
    }

    /// Adds what each exception held back (nothing too) and the expired
    /// exceptions to `summary`.
    pub fn report(self, tuning: Option<&Tuning>, summary: &mut Summary) {
        let Some(t) = tuning else { return };
        for (e, hits) in self.inner.held() {
            summary.suppressed.push(Suppression {
                exception: e.id.clone(),
                rule: self.rule.clone(),
                hits,
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
