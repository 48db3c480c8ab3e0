//! Differential test of correlation windows: Portent's correlation engine
//! against rsigma-eval 0.23.0's (an independent implementation, pinned, used
//! only in tests), on generated streams of logon events. rsigma is run with
//! `action_on_match: reset`, the semantics Portent chose for lower-bound
//! conditions (a group starts over after each alert). Where the two agree by
//! design the test holds them to the same alerts at the same events:
//! event_count and value_count with `gte`, temporal, and temporal_ordered
//! over strictly increasing times (rsigma orders ties by time alone, Portent
//! by arrival; the specification says neither). `temporal` is given its
//! condition (`gte: 2`) explicitly: without one, rsigma 0.23 fires as soon as
//! any one rule is seen, where the specification (and Portent) needs them all.
//! Upper-bound conditions are
//! left out: rsigma decides them as events arrive, Portent once a window is
//! over (see `portent_engine::correlation`).

use portent_core::schema::ids;
use portent_core::{Record, Schema, Value};
use portent_engine::correlation::{Input, Pick, Set, Spec};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn rules(k: u64, span: u64) -> String {
    format!(
        "\
title: Failed
id: 6f0e1a52-0000-4000-8000-000000000001
name: failed
logsource: {{product: windows, service: security}}
detection: {{sel: {{EventID: 4625}}, condition: sel}}
---
title: Success
id: 6f0e1a52-0000-4000-8000-000000000002
name: success
logsource: {{product: windows, service: security}}
detection: {{sel: {{EventID: 4624}}, condition: sel}}
---
title: Count
id: 6f0e1a52-0000-4000-8000-000000000003
correlation: {{type: event_count, rules: [failed], group-by: [User], timespan: {span}s, condition: {{gte: {k}}}}}
---
title: Values
id: 6f0e1a52-0000-4000-8000-000000000004
correlation: {{type: value_count, rules: [failed, success], group-by: [User], timespan: {span}s, condition: {{field: IpAddress, gte: {k}}}}}
---
title: Together
id: 6f0e1a52-0000-4000-8000-000000000005
correlation: {{type: temporal, rules: [failed, success], group-by: [User], timespan: {span}s, condition: {{gte: 2}}}}
---
title: InOrder
id: 6f0e1a52-0000-4000-8000-000000000006
correlation: {{type: temporal_ordered, rules: [failed, success], group-by: [User], timespan: {span}s}}
"
    )
}

/// (seconds since the previous event, user, failed?, address)
type Step = (u64, usize, bool, usize);

/// Alerts as (event index, correlation title, user).
type Alerts = BTreeSet<(usize, String, String)>;

fn portent(yaml: &str, steps: &[Step]) -> Alerts {
    let loaded = portent_sigma::load(yaml, "gen.yml");
    assert!(loaded.rejected.is_empty(), "{:?}", loaded.rejected);
    let mut schema = Schema::qradar();
    let user = schema.intern("User");
    let ip = schema.intern("IpAddress");
    let input = |name: &str| match name {
        "failed" => Input::Rule(0),
        _ => Input::Rule(1),
    };
    let specs: Vec<Spec> = loaded
        .correlations
        .iter()
        .map(|c| Spec {
            kind: c.kind,
            inputs: c.rules.iter().map(|r| input(r)).collect(),
            input_titles: c.rules.clone(),
            group: vec![("User".into(), vec![Pick::Fields(vec![user]); c.rules.len()])],
            value: c
                .field
                .as_ref()
                .map(|f| (f.clone(), vec![Pick::Fields(vec![ip]); c.rules.len()])),
            timespan_ms: c.timespan_ms,
            condition: c.condition,
        })
        .collect();
    let titles: Vec<String> = loaded
        .correlations
        .iter()
        .map(|c| c.title.clone())
        .collect();
    let mut set = Set::new(specs, vec![], 1_000).unwrap();
    let mut out = Alerts::new();
    let mut t = 1_700_000_000i64;
    for (n, &(gap, u, failed, addr)) in steps.iter().enumerate() {
        t += gap as i64;
        let mut rec = Record::new();
        rec.set(ids::STARTTIME, Value::Int(t * 1000));
        rec.set(ids::EVENT_ID, Value::Int(if failed { 4625 } else { 4624 }));
        rec.set(user, Value::string(format!("u{u}")));
        rec.set(ip, Value::string(format!("10.0.0.{addr}")));
        let mut fired = Vec::new();
        set.observe(if failed { 0 } else { 1 }, &rec, &mut fired);
        for f in fired {
            let who = f.key[0].clone().unwrap_or_default();
            out.insert((n, titles[f.correlation].clone(), who));
        }
    }
    out
}

fn rsigma(yaml: &str, steps: &[Step]) -> Alerts {
    let config = rsigma_eval::CorrelationConfig {
        action_on_match: rsigma_eval::CorrelationAction::Reset,
        ..rsigma_eval::CorrelationConfig::default()
    };
    let mut engine = rsigma_eval::CorrelationEngine::new(config);
    engine
        .add_collection(&rsigma_parser::parse_sigma_yaml(yaml).unwrap())
        .unwrap();
    let mut out = Alerts::new();
    let mut t = 1_700_000_000i64;
    for (n, &(gap, u, failed, addr)) in steps.iter().enumerate() {
        t += gap as i64;
        let json = serde_json::json!({
            "EventID": if failed { 4625 } else { 4624 },
            "User": format!("u{u}"),
            "IpAddress": format!("10.0.0.{addr}"),
        });
        for r in engine.process_event_at(&rsigma_eval::JsonEvent::borrow(&json), t) {
            if let Some(c) = r.as_correlation() {
                let who = c
                    .group_key
                    .iter()
                    .find(|(k, _)| k == "User")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                out.insert((n, r.header.rule_title.clone(), who));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn portent_and_rsigma_fire_at_the_same_events(
        steps in prop::collection::vec((1u64..40, 0usize..3, any::<bool>(), 0usize..4), 1..120),
        k in 2u64..5,
        span in 10u64..120,
    ) {
        let yaml = rules(k, span);
        let ours = portent(&yaml, &steps);
        let theirs = rsigma(&yaml, &steps);
        prop_assert_eq!(ours, theirs);
    }
}

#[test]
fn the_generated_streams_do_fire() {
    // A stream where every correlation must fire, so the property above is
    // not comparing two empty sets.
    let steps: Vec<Step> = vec![
        (1, 0, true, 1),
        (1, 0, true, 2),
        (1, 0, true, 3),
        (1, 0, false, 1),
    ];
    let ours = portent(&rules(3, 60), &steps);
    let titles: BTreeSet<&str> = ours.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(
        titles,
        BTreeSet::from(["Count", "Values", "Together", "InOrder"]),
        "{ours:?}"
    );
    assert_eq!(ours, rsigma(&rules(3, 60), &steps));
}
