//! The single-pass reader (`cprsift check`'s work) on a generated full extract (several hundred
//! MB) beside a plain memchr line count over the same mapping, the speed-of-light reference. Each bench asserts its
//! expected count before it times.
//!
//! `CPRSIFT_BENCH_PERSONS` sets the size (default 250,000 persons, about 400 MB).

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use cprsift_benches::{count_lines, DataSet};
use cprsift_format::{CheckedExtract, ContentId, ExtractOptions};
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

    // The single-pass reader, as `cprsift check` runs it: the walk and the BLAKE3 content
    // identity together.
    let read = CheckedExtract::read(bytes, ExtractOptions::default());
    assert!(read.is_valid(), "{:?}", read.report().errors);
    assert_eq!(read.len() as u64, data.summary.persons);
    group.bench_function("read", |b| {
        b.iter(|| CheckedExtract::read(bytes, ExtractOptions::default()).len())
    });
    // The walk alone and the identity alone: what each costs.
    group.bench_function("read_unhashed", |b| {
        b.iter(|| CheckedExtract::read_unhashed(bytes, ExtractOptions::default()).len())
    });
    group.bench_function("content_id", |b| b.iter(|| ContentId::of(bytes)));

    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = parse
}
criterion_main!(benches);
