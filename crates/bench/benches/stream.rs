//! The streaming path per event: syslog framing, message parsing for the
//! layouts forwarders send (NXLog flat JSON, `evtx_dump` JSON, Winlogbeat/ECS),
//! and the seed rule with correlation over the parsed events.
//! Run: cargo bench -p portent-bench --bench stream

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portent_core::Schema;
use portent_detect::alert::RuleMeta;
use portent_detect::detector::{Correlator, Detector, Rule, RuleSet, Stamped, PROVENANCE};
use portent_engine::{CompileOptions, Query};
use portent_io::{message::read_message, FileReport, ReadOptions};
use portent_scenario::layout::Layout;
use portent_scenario::{all, generate, Options, Variant};
use portent_serve::framing::Deframer;
use std::time::Instant;

/// Generated Sysmon and Security events (a scenario in benign background).
fn events() -> Vec<portent_scenario::event::WinEvent> {
    let g = generate(
        &all()[0],
        Variant::AsDescribed,
        &Options {
            seed: 7,
            start_us: 1_764_580_000_000_000,
            background: 5_000,
        },
    );
    g.events
}

/// NXLog's `to_json()`: everything at the top level.
fn nxlog(ev: &portent_scenario::event::WinEvent) -> String {
    let mut o = serde_json::Map::new();
    o.insert("EventTime".into(), ev.time_rfc3339(3).into());
    o.insert("Hostname".into(), ev.computer.clone().into());
    o.insert("EventID".into(), ev.event_id.into());
    o.insert("SourceName".into(), ev.provider.name.into());
    o.insert("Channel".into(), ev.provider.channel.into());
    o.insert("RecordNumber".into(), ev.record_id.into());
    o.insert("SourceModuleType".into(), "im_msvistalog".into());
    for (k, v) in &ev.data {
        o.insert((*k).to_owned(), v.text().into());
    }
    serde_json::Value::Object(o).to_string()
}

fn syslog(lines: impl Iterator<Item = String>) -> Vec<Vec<u8>> {
    lines
        .map(|l| format!("<13>1 2025-12-01T10:00:00.000Z - nxlog - - - {l}").into_bytes())
        .collect()
}

fn parse(c: &mut Criterion) {
    let evs = events();
    let schema = Schema::qradar();
    let opts = ReadOptions {
        keep_unknown: false,
        ..ReadOptions::default()
    };
    let sets = [
        ("nxlog_flat", syslog(evs.iter().map(nxlog))),
        (
            "evtx_dump",
            syslog(evs.iter().map(|e| Layout::EvtxDump.render(e).to_string())),
        ),
        (
            "ecs",
            syslog(evs.iter().map(|e| Layout::Ecs.render(e).to_string())),
        ),
    ];
    let mut group = c.benchmark_group("message");
    group.throughput(Throughput::Elements(evs.len() as u64));
    for (name, msgs) in &sets {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut report = FileReport::new("bench");
                let mut n = 0u64;
                for m in msgs {
                    read_message(m, &String::new, &schema, &opts, &mut report, &mut |_, _| {
                        n += 1
                    });
                }
                assert_eq!(n, msgs.len() as u64, "{report}");
            })
        });
    }
    group.finish();

    // Octet-counted framing of the NXLog stream, cut into 64 KiB reads.
    let mut stream = Vec::new();
    for m in &sets[0].1 {
        stream.extend(format!("{} ", m.len()).bytes());
        stream.extend(m);
    }
    let mut group = c.benchmark_group("framing");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("octet_counting", |b| {
        b.iter(|| {
            let mut d = Deframer::new();
            let mut n = 0;
            for piece in stream.chunks(64 * 1024) {
                d.feed(piece);
                while d.next_frame().is_some() {
                    n += 1;
                }
            }
            assert_eq!(n, sets[0].1.len());
        })
    });
    group.finish();

    // The seed rule, with correlation, over the parsed events.
    let mut schema = Schema::qradar();
    let options = CompileOptions {
        provenance: PROVENANCE.iter().map(|(_, f)| *f).collect(),
        ..CompileOptions::default()
    };
    let mut query = Query::compile(
        include_str!("../../../rules/t1043-commonly-used-port.aql"),
        &mut schema,
        &options,
    )
    .expect("the seed rule compiles");
    query.order.clear();
    query.limit = None;
    let set = RuleSet {
        rules: vec![Rule {
            meta: RuleMeta {
                id: "seed".into(),
                ..RuleMeta::default()
            },
            query,
            dispatch: None,
        }],
        tuning: None,
        zone: portent_core::Zone::utc(),
        aggregate_every: std::time::Duration::from_secs(60),
        correlations: None,
    };
    let mut records = Vec::new();
    let mut report = FileReport::new("bench");
    for m in &sets[0].1 {
        read_message(m, &String::new, &schema, &opts, &mut report, &mut |_, r| {
            records.push(r)
        });
    }
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("seed_rule_with_correlation", |b| {
        b.iter(|| {
            let mut det = Detector::new(&set, 1_764_600_000_000);
            let mut corr = Correlator::new(100_000);
            let mut alerts = Vec::new();
            for r in &records {
                let mut ev = Stamped {
                    record: r.clone(),
                    received: Instant::now(),
                    id: "e".into(),
                };
                corr.observe(&mut ev.record);
                det.evaluate(&ev, "bench", &mut alerts);
            }
            alerts.len()
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
