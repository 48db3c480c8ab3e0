//! Differential test at rule-set scale: the literal automata shared by every
//! rule (one scan of a field finds the needles of all of them) must pick
//! exactly the candidates each rule's own prefilter picks, on real telemetry
//! and the whole SigmaHQ Windows rule set: every literal shape, every case
//! mode, every required-string shortcut, non-ASCII values included.

use portent_core::schema::ids;
use portent_core::{Event, Record, Schema};
use portent_engine::{CompileOptions, PrefilterSet, Query, State, WindowPolicy};
use portent_io::{plan, read_unit, ReadOptions};
use portent_sigma::logsource::Dispatch;

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn shared_automata_pick_the_candidates_each_rule_picks_alone() {
    let (Some(corpus), Some(rules)) = (
        portent_core::testdata::corpus(),
        portent_core::testdata::sigma_rules(),
    ) else {
        return;
    };
    let files = portent_core::testdata::files(&rules.join("sigmahq-windows"), "yml");
    assert!(files.len() > 2000, "{}", files.len());
    let mut schema = Schema::qradar();
    let opts = CompileOptions {
        window: WindowPolicy::Ignore,
        ..CompileOptions::default()
    };
    let mut queries: Vec<Query> = Vec::new();
    let mut dispatch: Vec<Option<Dispatch>> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for r in portent_sigma::load(&text, &f.display().to_string()).rules {
            let Ok(c) = portent_sigma::compile::to_aql(&r) else {
                continue;
            };
            if let Ok(q) = Query::from_ast("", c.query, &mut schema, &opts) {
                queries.push(q);
                dispatch.push(c.dispatch);
            }
        }
    }
    assert!(queries.len() > 2000, "{} rules compiled", queries.len());
    let refs: Vec<&Query> = queries.iter().collect();
    let set = PrefilterSet::new(&refs, &[], &[]);
    let (shared, automata) = set.shared_size();
    assert!(
        shared > 5000,
        "{shared} patterns answered by {automata} automata"
    );
    let alone: Vec<_> = refs.iter().map(|q| q.prefilter(&[])).collect();

    let read = ReadOptions::default();
    let (units, _) = plan(&[corpus], &read);
    const EVERY: u64 = 16;
    let (mut events, mut compared, mut tested, mut candidates, mut non_ascii) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut differences = Vec::new();
    let mut st = State::new(0);
    for u in &units {
        read_unit(u, &schema, &read, &mut |name, rec: Record<'static>| {
            events += 1;
            let mut texts_non_ascii = false;
            rec.for_each(&mut |_, v| {
                texts_non_ascii |= v.as_str().is_some_and(|s| !s.is_ascii());
            });
            // Unoptimised, each rule alone is slow: one event in EVERY, and
            // one in four with non-ASCII text (the automata's special case).
            if events % EVERY != 0 && !(texts_non_ascii && events % 4 == 0) {
                return;
            }
            compared += 1;
            let (channel, provider) = (rec.get(ids::CHANNEL), rec.get(ids::PROVIDER));
            let event_id = rec.get(ids::EVENT_ID).to_i64();
            let route: Vec<usize> = dispatch
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    d.as_ref()
                        .is_none_or(|d| d.admits(channel.as_str(), provider.as_str(), event_id))
                })
                .map(|(i, _)| i)
                .collect();
            let mut with_shared = Vec::new();
            set.candidates(&rec, &route, true, &mut st, &mut with_shared);
            let own: Vec<u32> = route
                .iter()
                .filter(|i| alone[**i].test_complete(&rec, &mut st))
                .map(|i| *i as u32)
                .collect();
            tested += route.len() as u64;
            candidates += own.len() as u64;
            non_ascii += u64::from(texts_non_ascii);
            if with_shared != own && differences.len() < 5 {
                differences.push(format!("{name}: shared {with_shared:?}, alone {own:?}"));
            }
        });
    }
    eprintln!(
        "{} rules, {shared} patterns in {automata} automata; {events} events \
         read, {compared} compared ({non_ascii} with non-ASCII text), {tested} rule tests, \
         {candidates} candidates",
        queries.len()
    );
    assert!(events > 10_000, "{events} events read");
    assert!(compared > events / EVERY, "{compared} compared");
    assert!(
        candidates > 100,
        "{candidates} candidates: the test would show nothing"
    );
    assert!(
        non_ascii > 0,
        "no non-ASCII text: a case the automata treat apart"
    );
    assert!(differences.is_empty(), "{differences:#?}");
}
