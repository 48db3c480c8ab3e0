//! Reading EVTX: the template reader against the `evtx` crate's rendering,
//! both into normalised events, over a generated Sysmon + Security log.
//! Run: cargo bench -p portent-bench --bench evtx

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portent_core::Schema;
use portent_io::{FileReport, ReadOptions};
use portent_scenario::{all, generate, Options, Variant};

fn log() -> (Vec<u8>, u64) {
    let g = generate(
        &all()[1],
        Variant::AsDescribed,
        &Options {
            seed: 11,
            start_us: 1_764_580_000_000_000,
            background: 20_000,
        },
    );
    let sysmon: Vec<_> = g
        .events
        .iter()
        .filter(|e| e.provider.name == "Microsoft-Windows-Sysmon")
        .cloned()
        .collect();
    let n = sysmon.len() as u64;
    (portent_scenario::evtx::write(&sysmon).expect("writes"), n)
}

fn read(c: &mut Criterion) {
    let (bytes, records) = log();
    let schema = Schema::qradar();
    let mut group = c.benchmark_group("evtx");
    group.throughput(Throughput::Elements(records));
    for (name, fast) in [("template_reader", true), ("evtx_crate_render", false)] {
        let opts = ReadOptions {
            evtx_fast: fast,
            keep_unknown: false,
            ..ReadOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut report = FileReport::new("bench");
                let mut n = 0u64;
                portent_io::evtx::read_bytes(&bytes, &schema, &opts, &mut report, &mut |_, _| {
                    n += 1
                });
                assert_eq!(n, records);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
