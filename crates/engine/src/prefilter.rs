//! A necessary condition for a query to match, usable before an event is
//! complete: the WHERE conjuncts that read none of a given set of fields (fields
//! a later step fills in, such as the process-creation enrichment) and do not
//! depend on NOW() or the time window. An event failing the prefilter cannot
//! match however those fields turn out, so readers drop it early and keep only
//! candidates.

use crate::eval::{Evaluator, State};
use crate::ir::Ir;
use crate::query::{Column, Query};
use portent_aql::ast::TableName;
use portent_core::{Event, FieldId};

/// The early test of one query.
pub struct Prefilter<'q> {
    query: &'q Query,
    terms: Vec<&'q Ir>,
}

impl Query {
    /// The prefilter that leaves out conjuncts reading any of `deferred`.
    pub fn prefilter(&self, deferred: &[FieldId]) -> Prefilter<'_> {
        let mut terms = Vec::new();
        if let Some(f) = &self.filter {
            let conjuncts: Vec<&Ir> = match f {
                Ir::And(ts) => ts.iter().collect(),
                other => vec![other],
            };
            for t in conjuncts {
                let mut usable = true;
                t.walk(&mut |n| match n {
                    Ir::Field(id) if deferred.contains(id) => usable = false,
                    Ir::Now | Ir::TextSearch(_) | Ir::AggRef(_) | Ir::KeyRef(_) | Ir::Column(_) => {
                        usable = false
                    }
                    _ => {}
                });
                if usable {
                    terms.push(t);
                }
            }
        }
        Prefilter { query: self, terms }
    }

    /// Every field the query reads anywhere (columns, WHERE, GROUP BY, ORDER BY).
    pub fn fields(&self) -> Vec<FieldId> {
        let mut out = Vec::new();
        let mut add = |ir: &Ir| out.extend(ir.fields());
        for c in &self.columns {
            if let Column::Expr { ir, .. } = c {
                add(ir);
            }
        }
        if let Some(f) = &self.filter {
            add(f);
        }
        for (w, _) in &self.window_conjuncts {
            add(w);
        }
        for (o, _) in &self.order {
            add(o);
        }
        if let Some(g) = &self.grouping {
            g.keys.iter().for_each(&mut add);
            g.aggs
                .iter()
                .filter_map(|a| a.arg.as_ref())
                .for_each(&mut add);
        }
        out.sort();
        out.dedup();
        out
    }

    /// True when the query reads every field of an event (`SELECT *`, TEXT SEARCH).
    pub fn reads_all_fields(&self) -> bool {
        let mut all = self.columns.iter().any(|c| matches!(c, Column::Wildcard));
        if let Some(f) = &self.filter {
            f.walk(&mut |n| all |= matches!(n, Ir::TextSearch(_)));
        }
        all
    }
}

impl Prefilter<'_> {
    /// False when the event cannot match the query.
    pub fn test<E: Event + ?Sized>(&self, ev: &E, state: &mut State) -> bool {
        if (self.query.table == TableName::Flows) != ev.is_flow() {
            return false;
        }
        let evaluator = Evaluator {
            patterns: &self.query.patterns,
            groups: &self.query.groups,
            catalog: &self.query.options.catalog,
            zone: self.query.options.zone,
        };
        state.next_event();
        self.terms
            .iter()
            .all(|t| evaluator.truth(t, ev, state) == Some(true))
    }

    /// Number of conjuncts tested.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when nothing is tested (every event is a candidate).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use crate::{CompileOptions, Query};
    use portent_core::schema::ids;
    use portent_core::{Record, Schema, Value};

    #[test]
    fn deferred_fields_and_now_are_left_out() {
        let mut schema = Schema::qradar();
        let q = Query::compile(
            "SELECT * FROM events WHERE destinationport = 443 AND \"Command\" ILIKE '%x%' AND starttime > NOW() - 1000",
            &mut schema,
            &CompileOptions::default(),
        )
        .unwrap();
        let p = q.prefilter(&[ids::COMMAND]);
        assert_eq!(p.len(), 1);
        let mut st = crate::eval::State::new(0);
        let mut ev = Record::new();
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        assert!(p.test(&ev, &mut st));
        ev.set(ids::DESTINATIONPORT, Value::Int(80));
        assert!(!p.test(&ev, &mut st));
        ev.set_flow(true);
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        assert!(!p.test(&ev, &mut st), "flows are not events");
        assert!(q.reads_all_fields());
        assert!(q.fields().contains(&ids::COMMAND));
    }
}
