//! What a tuning file's exceptions held back, as summary lines (the
//! exceptions are applied by `portent_detect::batch::BatchRun`).

use crate::summary::{Summary, Suppression};
use portent_engine::tuning::{Exception, Tuning};

/// Adds what each of `rule`'s exceptions held back (nothing too) and the
/// expired exceptions of `tuning` to `summary`.
pub fn report<'t>(
    rule: &str,
    held: impl IntoIterator<Item = (&'t Exception, u64)>,
    tuning: Option<&Tuning>,
    summary: &mut Summary,
) {
    let Some(t) = tuning else { return };
    for (e, hits) in held {
        summary.suppressed.push(Suppression {
            exception: e.id.clone(),
            rule: rule.to_owned(),
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
