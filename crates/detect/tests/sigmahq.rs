//! Differential test at rule-set scale: the detector (rules routed by log
//! source, fields tested through the shared literal automata, only the
//! survivors evaluated) must give exactly the alerts of every rule evaluated
//! in full on every event, over real telemetry and the whole SigmaHQ Windows
//! rule set; and its "may need a join" answer must be that of each rule's own
//! prefilter.

use portent_core::schema::ids;
use portent_core::{Record, Schema};
use portent_detect::detector::alert;
use portent_detect::enrich::{filled_if_absent, reads_enriched};
use portent_detect::{Detector, Stamped};
use portent_engine::{Row, Run, State};
use portent_io::{plan, read_unit, ReadOptions};
use std::time::Instant;

mod common;

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn the_detector_gives_every_rules_alerts_on_the_corpus() {
    let Some((corpus, rules)) = common::corpus_and_rules() else {
        return;
    };
    let mut schema = Schema::qradar();
    let set = common::sigmahq(&rules, &mut schema);
    let mut detector = Detector::new(&set, 0);
    let mut every: Vec<Run<'_, Vec<Row>>> = set
        .rules
        .iter()
        .map(|r| Run::new(&r.query, Vec::new(), 0))
        .collect();
    // Each rule's own prefilter, no shared automata, no routing.
    let filled = filled_if_absent();
    let join_rules: Vec<_> = set
        .rules
        .iter()
        .filter(|r| reads_enriched(&r.query))
        .map(|r| r.query.prefilter_filled(&[ids::ENRICHMENT], &filled))
        .collect();
    let mut state = State::new(0);

    let read = ReadOptions::default();
    let (units, _) = plan(&[corpus], &read);
    // Every rule in full on every event is slow (thousands of evaluations
    // an event): every event of the first thousand, then one in EVERY.
    const EVERY: u64 = 8;
    let (mut events, mut compared, mut alerts, mut joins) = (0u64, 0u64, 0u64, 0u64);
    let mut differences = Vec::new();
    for u in &units {
        read_unit(u, &schema, &read, &mut |name, rec: Record<'static>| {
            events += 1;
            if events % EVERY != 0 && events > 1000 {
                return;
            }
            compared += 1;
            let ev = Stamped {
                record: rec,
                received: Instant::now(),
                id: format!("{name}#{events}").into(),
            };
            let mut got = Vec::new();
            detector.evaluate(&ev, "corpus", &mut got);
            let mut want = Vec::new();
            for (run, r) in every.iter_mut().zip(&set.rules) {
                run.push(&ev.record).unwrap();
                for (n, row) in run.sink_mut().drain(..).enumerate() {
                    let id = match n {
                        0 => format!("{}/{}", ev.id, r.meta.id),
                        _ => format!("{}/{}/{n}", ev.id, r.meta.id),
                    };
                    want.push(alert(&r.meta, row, id, "corpus", ev.received, &set.zone));
                }
            }
            alerts += want.len() as u64;
            let got: Vec<_> = got.into_iter().map(|a| (a.id, a.cells)).collect();
            let want: Vec<_> = want.into_iter().map(|a| (a.id, a.cells)).collect();
            if got != want && differences.len() < 5 {
                let ids = |v: &[(String, _)]| v.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>();
                differences.push(format!(
                    "detector {:?}, every rule {:?}",
                    ids(&got),
                    ids(&want)
                ));
            }
            let may = join_rules.iter().any(|p| p.test(&ev.record, &mut state));
            joins += u64::from(may);
            if detector.may_need_join(&ev.record) != may && differences.len() < 5 {
                differences.push(format!("{}: may need a join: each rule says {may}", ev.id));
            }
        });
    }
    // Grouped rules answer at the end: the same groups from both.
    let mut ticked = Vec::new();
    detector.tick(&mut ticked, true);
    let mut groups = 0usize;
    for (run, r) in every.into_iter().zip(&set.rules) {
        if r.query.grouping.is_some() {
            groups += run.finish().unwrap().0.len();
        }
    }
    eprintln!(
        "{} rules; {events} events read, {compared} compared, {alerts} alerts, \
         {joins} may need a join, {groups} groups",
        set.rules.len()
    );
    assert!(events > 10_000, "{events} events read");
    assert!(alerts > 100, "{alerts} alerts: the test would show nothing");
    assert!(joins > 100, "{joins} joins: the test would show nothing");
    assert_eq!(ticked.len(), groups, "grouped rules' answers");
    assert!(differences.is_empty(), "{differences:#?}");
}
