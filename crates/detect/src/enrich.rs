//! What process enrichment means to a rule: whether it can change the rule's
//! answer, and which fields it fills. `hunt` (which holds candidates back
//! for creations read later) and `watch` (which waits a while for them) ask
//! the same questions here.

use portent_core::schema::ids;
use portent_core::FieldId;
use portent_engine::Query;
use portent_io::correlate::ENRICHED_FIELDS;

/// True when enrichment can change `q`'s answer: it reads every field, or a
/// field enrichment fills (the process's command line and parent, the
/// enrichment outcome).
pub fn reads_enriched(q: &Query) -> bool {
    q.reads_all_fields() || q.fields().iter().any(|f| ENRICHED_FIELDS.contains(f))
}

/// The fields enrichment fills only where the event has none (all it fills
/// but the outcome, which it always sets): an event's own values of these
/// are final and can be tested before it is enriched.
pub fn filled_if_absent() -> Vec<FieldId> {
    ENRICHED_FIELDS
        .iter()
        .copied()
        .filter(|f| *f != ids::ENRICHMENT)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Schema;
    use portent_engine::CompileOptions;

    fn query(aql: &str) -> Query {
        Query::compile(aql, &mut Schema::qradar(), &CompileOptions::default()).unwrap()
    }

    #[test]
    fn a_rule_on_the_parent_or_every_field_depends_on_enrichment() {
        assert!(reads_enriched(&query(
            "SELECT * FROM events WHERE \"Process Name\" = 'x'"
        )));
        assert!(reads_enriched(&query(
            "SELECT \"Process Name\" FROM events WHERE \"Parent Process Name\" = 'x'"
        )));
        assert!(!reads_enriched(&query(
            "SELECT \"Process Name\" FROM events WHERE destinationport = 443"
        )));
        let filled = filled_if_absent();
        assert!(filled.contains(&ids::PARENT_PROCESS_NAME));
        assert!(!filled.contains(&ids::ENRICHMENT));
    }
}
