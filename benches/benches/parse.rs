//! `check`-style parsing of a generated full extract (several hundred MB) beside a plain memchr
//! line count over the same mapping, the speed-of-light reference. Each bench asserts its
//! expected count before it times.
//!
//! `CPRSIFT_BENCH_PERSONS` sets the size (default 250,000 persons, about 400 MB).

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use cprsift_benches::{count_lines, DataSet};
use cprsift_format::{Extract, ExtractOptions};
use cprsift_io::MappedFile;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn parse(c: &mut Criterion) {
    let persons = std::env::var("CPRSIFT_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250_000);
    let data = DataSet::full_extract(persons);
    let map = MappedFile::open(data.path()).expect("mapping the bench data");
    let bytes: &[u8] = &map;
    let expected_lines = data.summary.records as usize + 2;

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);

    assert_eq!(count_lines(bytes), expected_lines);
    group.bench_function("memchr_line_count", |b| b.iter(|| count_lines(bytes)));

    let report = Extract::open(bytes, ExtractOptions::default())
        .expect("valid")
        .check();
    assert!(report.is_valid(), "{:?}", report.errors);
    assert_eq!(report.persons, data.summary.persons);
    group.bench_function("check", |b| {
        b.iter(|| {
            Extract::open(bytes, ExtractOptions::default())
                .expect("valid")
                .check()
                .persons
        })
    });

    let blocks = Extract::open(bytes, ExtractOptions::default())
        .expect("valid")
        .blocks()
        .count();
    assert_eq!(blocks as u64, data.summary.persons);
    group.bench_function("blocks_only", |b| {
        b.iter(|| {
            Extract::open(bytes, ExtractOptions::default())
                .expect("valid")
                .blocks()
                .count()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = parse
}
criterion_main!(benches);
