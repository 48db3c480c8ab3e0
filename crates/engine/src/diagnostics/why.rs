//! Why an event is not a hit: the first condition of a rule's WHERE that is
//! not true for it, with the values the condition read. Validation and rule
//! tests print it, so that "not detected" comes with a reason a detection
//! engineer can act on ("`Process Name` = ...\nslookup.exe matches none of
//! the rule's process lists") instead of a bare miss.

use crate::ir::Table;
use crate::query::Query;
use crate::reference::Reference;
use portent_aql::ast::{BinaryOp, Expr, ExprKind, LogicalOp};
use portent_core::{Event, Span};
use std::fmt;

/// The condition that kept an event out.
#[derive(Clone, Debug, PartialEq)]
pub struct WhyNot {
    /// The condition as written.
    pub condition: String,
    /// Where it is in the rule.
    pub span: Span,
    /// `Some(false)`: false; `None`: unknown (a value it needs is absent or of
    /// the wrong type, and AQL's three-valued logic keeps the event out).
    pub outcome: Option<bool>,
    /// The fields the condition reads and the event's values (`None`: absent).
    pub fields: Vec<(String, Option<String>)>,
}

impl fmt::Display for WhyNot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Long conditions (the seed's three SIMILAR TO lists) are cut: the
        // values that follow say what was tested.
        let mut cond: String = self
            .condition
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if cond.chars().count() > SHOWN {
            cond = cond.chars().take(SHOWN).collect::<String>() + " …";
        }
        let verdict = match self.outcome {
            Some(_) => "is false",
            None => "is unknown",
        };
        write!(f, "`{cond}` {verdict}")?;
        let shown: Vec<String> = self
            .fields
            .iter()
            .map(|(name, v)| match v {
                Some(v) => format!("{name} = {v}"),
                None => format!("{name} is absent"),
            })
            .collect();
        if !shown.is_empty() {
            write!(f, " for {}", shown.join(", "))?;
        }
        Ok(())
    }
}

/// How much of a condition the text form shows.
const SHOWN: usize = 100;

/// The first top-level condition of `q`'s WHERE that `ev` does not satisfy,
/// leaving out the rule's relative time window (`starttime > NOW() - ...`),
/// which says when to look, not what to find. `None` when every condition
/// holds, or the rule has no WHERE.
pub fn why_not<E: Event>(q: &Query, ev: &E, now: i64) -> Option<WhyNot> {
    if (q.table == Table::Flows) != ev.is_flow() {
        let table = if ev.is_flow() { "flows" } else { "events" };
        return Some(WhyNot {
            condition: format!(
                "FROM {}",
                if q.table == Table::Flows {
                    "flows"
                } else {
                    "events"
                }
            ),
            span: Span::default(),
            outcome: Some(false),
            fields: vec![("the event's table".into(), Some(table.into()))],
        });
    }
    let filter = q.ast.filter.as_ref()?;
    let terms: Vec<&Expr> = match &filter.unnested().kind {
        ExprKind::Logical {
            op: LogicalOp::And,
            terms,
        } => terms.iter().collect(),
        _ => vec![filter],
    };
    let reference = Reference {
        schema: &q.schema,
        catalog: &q.options.catalog,
        now,
        zone: q.options.zone,
        refdata: &q.options.reference_data,
    };
    terms.into_iter().filter(|t| !is_window(t)).find_map(|t| {
        let outcome = reference.truth(t, ev);
        (outcome != Some(true)).then(|| WhyNot {
            condition: q
                .source
                .get(t.span.start as usize..t.span.end as usize)
                .unwrap_or("")
                .to_owned(),
            span: t.span,
            outcome,
            fields: fields_of(t, q, ev),
        })
    })
}

/// `starttime` compared with a bound that reads no field.
fn is_window(e: &Expr) -> bool {
    let ExprKind::Binary { op, lhs, rhs } = &e.unnested().kind else {
        return false;
    };
    if !matches!(
        op,
        BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq
    ) {
        return false;
    }
    let is_start = |x: &Expr| matches!(&x.unnested().kind, ExprKind::Field { name, .. } if name.eq_ignore_ascii_case("starttime"));
    let reads_fields = |x: &Expr| {
        let mut any = false;
        x.walk(&mut |n| any |= matches!(n.kind, ExprKind::Field { .. }));
        any
    };
    (is_start(lhs) && !reads_fields(rhs)) || (is_start(rhs) && !reads_fields(lhs))
}

fn fields_of<E: Event>(e: &Expr, q: &Query, ev: &E) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    e.walk(&mut |n| {
        if let ExprKind::Field { name, quoted } = &n.kind {
            let shown = if *quoted {
                format!("\"{name}\"")
            } else {
                name.clone()
            };
            if out.iter().any(|(s, _)| s.eq_ignore_ascii_case(&shown)) {
                return;
            }
            let value = q
                .schema
                .resolve(name)
                .and_then(|id| ev.get(id).to_text().map(|t| t.into_owned()));
            out.push((shown, value));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::CompileOptions;
    use portent_core::schema::ids;
    use portent_core::{Record, Schema, Value};

    fn compile(aql: &str) -> Query {
        Query::compile(aql, &mut Schema::qradar(), &CompileOptions::default()).unwrap()
    }

    fn event(process: &str, port: i64) -> Record<'static> {
        let mut r = Record::new();
        r.set(ids::PROCESS_NAME, Value::string(process.to_owned()));
        r.set(ids::DESTINATIONPORT, Value::Int(port));
        r.set(ids::STARTTIME, Value::Int(0));
        r
    }

    #[test]
    fn names_the_first_condition_that_fails_and_its_values() {
        let q = compile(
            "SELECT * FROM events WHERE destinationport IN (80, 443) AND starttime > NOW() - 1 DAYS \
             AND LOWER(\"Process Name\") SIMILAR TO '%(certutil|bitsadmin)\\.exe%'",
        );
        let now = 10 * 86_400_000;
        let why = why_not(&q, &event("C:\\Windows\\System32\\nslookup.exe", 443), now).unwrap();
        assert_eq!(why.outcome, Some(false));
        assert!(
            why.condition
                .starts_with("LOWER(\"Process Name\") SIMILAR TO"),
            "{}",
            why.condition
        );
        assert_eq!(
            why.fields,
            [(
                "\"Process Name\"".to_owned(),
                Some("C:\\Windows\\System32\\nslookup.exe".to_owned())
            )]
        );
        // The window is when to look, not what to find: an old hit is explained by nothing.
        assert_eq!(why_not(&q, &event("C:\\x\\certutil.exe", 80), now), None);
        let port = why_not(&q, &event("C:\\x\\certutil.exe", 53), now).unwrap();
        assert_eq!(port.condition, "destinationport IN (80, 443)");
        assert!(port.to_string().contains("destinationport = 53"), "{port}");
    }

    #[test]
    fn absent_values_make_conditions_unknown() {
        let q = compile("SELECT * FROM events WHERE \"Command\" ILIKE '%/transfer%'");
        let why = why_not(&q, &Record::new(), 0).unwrap();
        assert_eq!(why.outcome, None);
        assert!(
            why.to_string()
                .ends_with("is unknown for \"Command\" is absent"),
            "{why}"
        );
    }
}
