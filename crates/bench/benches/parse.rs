//! Parsing and compiling the seed query.
//! Run: cargo bench -p portent-bench --bench parse

use criterion::{criterion_group, criterion_main, Criterion};
use portent_core::Schema;
use portent_engine::{CompileOptions, Query};

const SEED: &str = include_str!("../../../rules/t1043-commonly-used-port.aql");

fn bench(c: &mut Criterion) {
    c.bench_function("parse_seed", |b| {
        b.iter(|| portent_aql::parse(SEED).map(|q| q.select.len()))
    });
    c.bench_function("compile_seed", |b| {
        b.iter(|| {
            let mut schema = Schema::qradar();
            Query::compile(SEED, &mut schema, &CompileOptions::default()).map(|q| q.patterns.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
