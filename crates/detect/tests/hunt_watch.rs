//! `hunt` and `watch` give the same alerts, held together through the
//! library rather than through the binaries: the same rule set (the whole
//! SigmaHQ Windows set and the bundled pack), once as `hunt` runs it (the
//! batch scan: parallel readers, routing and prefilters at reading with
//! enrichment-dependent terms deferred, process creations joined in input
//! order, candidates held back for creations read later; each candidate run
//! through the rules it is a candidate of by the `BatchRun` `hunt` renders)
//! and once as `watch` runs it (every event, in order, enriched by the
//! `Correlator` and judged at once by the `Detector`).
//!
//! Both must see every process creation before judging an event, as `hunt`
//! does by the end of its input: the stream side first remembers every
//! creation (what `watch` does when it warms up from a checkpoint).

use portent_core::schema::ids;
use portent_core::{Record, Schema, Value};
use portent_detect::batch::{BatchRule, BatchRun, Hit};
use portent_detect::detector::alert;
use portent_detect::scan::{scan_each, Mode, ScanOptions, Silent};
use portent_detect::{Alert, Correlator, Detector, Stamped};
use portent_engine::Query;
use portent_io::{plan, read_unit, ReadOptions};
use std::collections::BTreeMap;
use std::time::Instant;

mod common;

/// An alert without what only says how it travelled (its id, its source).
fn key(a: &Alert) -> String {
    a.cells
        .iter()
        .filter(|(k, _)| k != "alert_id" && k != "source")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("|")
}

fn count(alerts: &[Alert]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for a in alerts {
        *m.entry(key(a)).or_default() += 1;
    }
    m
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn hunts_batch_run_and_watchs_detector_give_the_same_alerts() {
    let Some((corpus, rules)) = common::corpus_and_rules() else {
        return;
    };
    let mut schema = Schema::qradar();
    let mut set = common::sigmahq(&rules, &mut schema);
    // And the bundled pack, whose rules read what enrichment adds to a
    // connection (its process's command line and parent): the part where
    // the two paths differ most (a scan defers those terms and may hold a
    // candidate back for a creation read later).
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let opts = portent_engine::CompileOptions {
        window: portent_engine::WindowPolicy::Ignore,
        provenance: portent_detect::PROVENANCE.iter().map(|(_, f)| *f).collect(),
        ..portent_engine::CompileOptions::default()
    };
    let mut aql = portent_core::testdata::files(&pack, "aql");
    aql.sort();
    assert!(aql.len() >= 3, "{aql:?}");
    for f in &aql {
        let mut q = Query::compile(&std::fs::read_to_string(f).unwrap(), &mut schema, &opts)
            .unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        q.order.clear();
        q.limit = None;
        set.rules.push(portent_detect::Rule {
            meta: portent_detect::RuleMeta {
                id: f.file_stem().unwrap().to_string_lossy().into_owned(),
                ..Default::default()
            },
            query: q,
            dispatch: None,
        });
    }
    portent_engine::share_schema(set.rules.iter_mut().map(|r| &mut r.query));
    let pack_ids: Vec<String> = set.rules[set.rules.len() - aql.len()..]
        .iter()
        .map(|r| r.meta.id.clone())
        .collect();
    let read = ReadOptions::default();

    // Batch, as `hunt` reads.
    let queries: Vec<&Query> = set.rules.iter().map(|r| &r.query).collect();
    let opts = ScanOptions {
        quiet: true,
        threads: 2,
        read: read.clone(),
        index_capacity: 4_000_000,
        index_bytes: 1 << 30,
        dispatch: set.rules.iter().map(|r| r.dispatch.clone()).collect(),
        keep: None,
        list_inputs: false,
        read_all: false,
    };
    let mut run = BatchRun::new(
        set.rules.iter().map(|r| BatchRule {
            query: &r.query,
            id: &r.meta.id,
            feeds: false,
            feeds_only: false,
        }),
        set.tuning.as_ref(),
        false,
        Vec::new(),
        set.zone,
    );
    let mut batch = Vec::new();
    let mut candidates = 0u64;
    let to_alert = |hit: Hit, seq: u64, batch: &mut Vec<Alert>| {
        let meta = &set.rules[hit.rule].meta;
        let id = format!("{seq}/{}", meta.id);
        batch.push(alert(meta, hit.row, id, "hunt", Instant::now(), &set.zone));
    };
    let scan = scan_each(
        std::slice::from_ref(&corpus),
        &queries,
        &schema,
        &opts,
        Mode::AtEnd(&mut |_| {}),
        &Silent,
        &mut |c| {
            candidates += 1;
            for &q in c.queries.iter() {
                let known = run.push(q as usize, &c.record, c.seq, &mut |hit| {
                    to_alert(hit, c.seq, &mut batch)
                });
                assert!(known, "a candidate of a query the batch lacks");
            }
        },
    );
    let (_, feed) = run.finish(0, &mut |hit| to_alert(hit, u64::MAX, &mut batch));
    assert!(feed.is_empty());

    // Stream, as `watch` takes events: creations first (a warm start), then
    // every event in input order, enriched and judged at once.
    let (units, _) = plan(&[corpus], &read);
    let mut correlator = Correlator::new(4_000_000);
    for u in &units {
        read_unit(u, &schema, &read, &mut |_, rec: Record<'static>| {
            correlator.remember(&rec);
        });
    }
    let mut detector = Detector::new(&set, 0);
    let mut stream = Vec::new();
    let mut events = 0u64;
    for u in &units {
        read_unit(u, &schema, &read, &mut |name, mut rec: Record<'static>| {
            events += 1;
            // The name a batch reader gives the event's file, which `watch`
            // gives its source.
            rec.set(ids::SOURCE_FILE, Value::string(name.to_owned()));
            let _ = correlator.observe(&mut rec);
            let ev = Stamped {
                record: rec,
                received: Instant::now(),
                id: events.to_string().into(),
            };
            detector.evaluate(&ev, "watch", &mut stream);
        });
    }
    eprintln!(
        "{} rules; {} events read by the scan, {events} by the stream; {candidates} \
         candidates; {} alerts from the scan, {} from the stream",
        set.rules.len(),
        scan.events,
        batch.len(),
        stream.len()
    );
    assert_eq!(scan.events, events, "both read every event");
    let from_pack = batch.iter().filter(|a| pack_ids.contains(&a.rule)).count();
    eprintln!("{from_pack} alerts from the pack's rules");
    assert!(
        from_pack > 100,
        "{from_pack} pack alerts: the test would show little"
    );
    assert!(
        batch.len() > 1000,
        "{} alerts: the test would show little",
        batch.len()
    );
    let (batch, stream) = (count(&batch), count(&stream));
    let only = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>| -> Vec<String> {
        a.iter()
            .filter(|(k, n)| b.get(*k) != Some(n))
            .take(3)
            .map(|(k, n)| format!("{n}x {k}"))
            .collect()
    };
    assert!(
        batch == stream,
        "only from the scan: {:#?}\nonly from the stream: {:#?}",
        only(&batch, &stream),
        only(&stream, &batch)
    );
}
