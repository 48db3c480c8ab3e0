//! Passing over the data of EVTX records no rule can use changes nothing a
//! scan hands on: the same candidates (record for record, field for field,
//! enriched alike), the same event count and newest time, as a scan that
//! reads every record whole. Over the corpus, with SigmaHQ's process-creation
//! rules and one rule that joins process creations to connections.

use portent_core::schema::ids;
use portent_core::{Event, Schema};
use portent_detect::scan::{scan_each, wanted, Dispatch, Mode, ScanOptions, Silent};
use portent_engine::Query;
use portent_io::ReadOptions;
use std::collections::BTreeMap;
use std::path::PathBuf;

mod common;

/// What a scan handed on and counted.
struct Seen {
    /// Each candidate as text (its sequence number, queries and record), sorted.
    candidates: Vec<String>,
    events: u64,
    latest: Option<i64>,
    skipped: BTreeMap<String, u64>,
    passed_over: u64,
    /// Candidates joined to their process creation.
    enriched: u64,
    evtx_events: u64,
}

fn scan(
    corpus: &PathBuf,
    queries: &[&Query],
    dispatch: &[Option<Dispatch>],
    schema: &Schema,
    read_all: bool,
) -> Seen {
    let opts = ScanOptions {
        quiet: true,
        threads: 2,
        read: ReadOptions::default(),
        index_capacity: 4_000_000,
        index_bytes: 1 << 30,
        dispatch: dispatch.to_vec(),
        keep: None,
        list_inputs: true,
        read_all,
    };
    let (mut out, mut enriched) = (Vec::new(), 0u64);
    let s = scan_each(
        std::slice::from_ref(corpus),
        queries,
        schema,
        &opts,
        Mode::AtEnd(&mut |_| {}),
        &Silent,
        &mut |c| {
            enriched += u64::from(
                c.record
                    .get(ids::ENRICHMENT)
                    .as_str()
                    .is_some_and(|e| e.starts_with("found")),
            );
            out.push(format!("{} {:?} {:?}", c.seq, c.queries, c.record))
        },
    );
    out.sort();
    let evtx_events = s
        .inputs
        .listed
        .iter()
        .filter(|r| r.format == "EVTX")
        .map(|r| r.records)
        .sum();
    Seen {
        candidates: out,
        events: s.events,
        latest: s.latest,
        skipped: s.inputs.skipped,
        passed_over: s.inputs.passed_over,
        enriched,
        evtx_events,
    }
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn records_passed_over_change_no_candidate() {
    let Some((corpus, rules)) = common::corpus_and_rules() else {
        return;
    };
    let mut schema = Schema::qradar();
    let mut set = common::sigmahq(&rules, &mut schema);
    // A rule of every Windows event that names no event id ("Mimikatz
    // Use": keywords anywhere) wants every record whole, and so do the
    // rules of a whole channel (`service: security`): with the whole set,
    // the corpus's EVTX files (Sysmon and Security) have little to pass over.
    // A hunt with the process-creation rules (a common choice) has much.
    let everything: Vec<&Query> = set.rules.iter().map(|r| &r.query).collect();
    let all_dispatch: Vec<Option<Dispatch>> =
        set.rules.iter().map(|r| r.dispatch.clone()).collect();
    assert!(wanted(&all_dispatch, &everything, false).is_none());
    drop(everything);
    set.rules.retain(|r| {
        r.dispatch.as_ref().is_some_and(|d| {
            !d.event_ids.is_empty() && d.event_ids.iter().all(|i| [1, 4688].contains(i))
        })
    });
    assert!(
        set.rules.len() > 500,
        "{} process-creation rules",
        set.rules.len()
    );
    // A connection rule that reads what enrichment adds, with the log
    // sources its condition needs: process creations must still be read.
    let join = "SELECT * FROM events WHERE destinationport IN (80, 443) \
                AND \"Parent Process Name\" IS NOT NULL";
    let opts = portent_engine::CompileOptions {
        window: portent_engine::WindowPolicy::Ignore,
        ..portent_engine::CompileOptions::default()
    };
    set.rules.push(portent_detect::Rule {
        meta: portent_detect::RuleMeta::default(),
        query: Query::compile(join, &mut schema, &opts).unwrap(),
        dispatch: Some(
            Dispatch::of(
                &[(
                    "microsoft-windows-sysmon/operational",
                    "microsoft-windows-sysmon",
                )],
                &[3],
            )
            .or(Dispatch::of(
                &[("security", "microsoft-windows-security-auditing")],
                &[5156],
            )),
        ),
    });
    portent_engine::share_schema(set.rules.iter_mut().map(|r| &mut r.query));
    let queries: Vec<&Query> = set.rules.iter().map(|r| &r.query).collect();
    let dispatch: Vec<Option<Dispatch>> = set
        .rules
        .iter()
        .map(|r| r.dispatch.clone().map(|d| d.narrowed(&r.query)))
        .collect();
    let (candidates, enriched) = same_either_way(&corpus, &queries, &dispatch, &schema);
    assert!(
        candidates > 400 && enriched > 0,
        "{candidates} candidates, {enriched} enriched"
    );
    // The join rule alone: the process creations it joins are wanted only
    // for the join, not by any rule.
    let last = queries.len() - 1;
    let (candidates, enriched) =
        same_either_way(&corpus, &queries[last..], &dispatch[last..], &schema);
    assert!(
        candidates > 10 && enriched > 10,
        "{candidates} candidates, {enriched} enriched"
    );
}

/// Scans `corpus` reading every record whole and passing over what no query
/// can use, asserts the two hand on the same, and returns how many
/// candidates they handed on and how many of those were enriched.
fn same_either_way(
    corpus: &PathBuf,
    queries: &[&Query],
    dispatch: &[Option<Dispatch>],
    schema: &Schema,
) -> (usize, u64) {
    assert!(
        wanted(dispatch, queries, true).is_some(),
        "every rule has a log source"
    );
    let whole = scan(corpus, queries, dispatch, schema, true);
    let skimmed = scan(corpus, queries, dispatch, schema, false);
    assert_eq!(whole.enriched, skimmed.enriched, "candidates enriched");
    assert_eq!(whole.passed_over, 0, "read whole, nothing is passed over");
    // The corpus holds records to pass over, or this tests nothing.
    assert!(
        skimmed.passed_over * 5 > skimmed.evtx_events,
        "{} of {} EVTX events passed over",
        skimmed.passed_over,
        skimmed.evtx_events
    );
    assert_eq!(whole.events, skimmed.events, "events");
    assert_eq!(whole.latest, skimmed.latest, "newest time");
    assert_eq!(whole.skipped, skimmed.skipped, "records skipped, by reason");
    let missing: Vec<&String> = whole
        .candidates
        .iter()
        .filter(|c| !skimmed.candidates.contains(c))
        .collect();
    let extra: Vec<&String> = skimmed
        .candidates
        .iter()
        .filter(|c| !whole.candidates.contains(c))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "passed-over data changed candidates: {} missing, {} extra; first: {:?} {:?}",
        missing.len(),
        extra.len(),
        missing.first(),
        extra.first()
    );
    (whole.candidates.len(), whole.enriched)
}
