//! The nightly job on generated data: a weekday delivered to a realistic subscriber mix (350)
//! and to 10,000 subscribers, and an initial load of every municipality subscriber in one pass
//! over the replica; each beside the plain-copy reference (reading the same bytes, as `cat`
//! does) in the same run. Each bench asserts its expected counts before it times.
//!
//! `CPRSIFT_BENCH_PERSONS` sets the replica's size (default 200,000 persons).

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use cprsift_benches::{env_size, read_all, scratch, Night};
use cprsift_engine::{DayIndex, FilterSet, MatchOptions};
use cprsift_format::{CheckedExtract, ExtractOptions};
use cprsift_io::MappedFile;
use cprsift_nightly::{deliver, initial_load, DeliverRequest, InitialLoadRequest, ReplicaView};
use cprsift_replica::Replica;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn request(night: &Night, store: &std::path::Path, outbox: &std::path::Path) -> DeliverRequest {
    DeliverRequest {
        extract: night.day.clone(),
        replica: night.replica.clone(),
        subscriptions: store.to_path_buf(),
        outbox: outbox.to_path_buf(),
        extract_options: Default::default(),
        matching: Default::default(),
        daily: Default::default(),
        apply: false,
        lenient: false,
        accept_opgavenr: None,
    }
}

fn nightly(c: &mut Criterion) {
    let persons = env_size("CPRSIFT_BENCH_PERSONS", 200_000);
    let night = Night::generate(persons, &[350, 10_000]);
    let mut group = c.benchmark_group("nightly");
    group.sample_size(10);

    group.bench_function("copy_reference_weekday", |b| {
        b.iter(|| read_all(&night.day))
    });

    // The fan-out alone (read the day once, index it, compile every subscriber, evaluate),
    // without writing: its cost must grow far slower than the number of subscribers.
    let replica = Replica::open(&night.replica).expect("the replica");
    let day_map = MappedFile::open(&night.day).expect("the weekday");
    let fan_out = |registry: &cprsift_subscriptions::Registry| {
        let checked = CheckedExtract::read(&day_map, ExtractOptions::default());
        assert!(checked.is_valid(), "a valid weekday");
        let day = DayIndex::build(
            &checked,
            &ReplicaView(&replica),
            MatchOptions::default(),
            &[],
        )
        .expect("the day's index");
        let set = FilterSet::compile(registry.subscribers()).expect("the filter set");
        set.evaluate(&day)
            .iter()
            .map(|s| s.blocks.len())
            .sum::<u64>()
    };
    for (n, store) in &night.stores {
        let (registry, _) = cprsift_subscriptions::load(store).expect("the store");
        assert_eq!(registry.len(), *n as usize);
        assert!(fan_out(&registry) >= night.day_persons);
        group.bench_function(format!("fanout_{n}_subscribers"), |b| {
            b.iter(|| fan_out(&registry))
        });
    }
    for (n, store) in &night.stores {
        let outbox = scratch();
        let report = deliver(&request(&night, store, outbox.path())).expect("delivery");
        let manifest = report.manifest.expect("a delivery writes a manifest");
        assert_eq!(manifest.files.len(), *n as usize);
        assert!(manifest.files.iter().map(|f| f.persons).sum::<u64>() >= night.day_persons);
        group.bench_function(format!("deliver_{n}_subscribers"), |b| {
            b.iter_batched(
                scratch,
                |outbox| deliver(&request(&night, store, outbox.path())).expect("delivery"),
                BatchSize::PerIteration,
            )
        });
    }

    // Every municipality subscriber of the realistic mix, served by one pass.
    let (_, store_350) = &night.stores[0];
    let (registry, _) = cprsift_subscriptions::load(store_350).expect("the store");
    let municipal: Vec<String> = registry
        .subscribers()
        .filter(|(_, f)| {
            f.municipalities.len() == 1 && f.pnrs.is_empty() && f.ages.is_empty() && !f.no_filter
        })
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(municipal.len(), 98);
    let load = |outbox: &std::path::Path| InitialLoadRequest {
        replica: night.replica.clone(),
        subscriptions: store_350.clone(),
        subscribers: municipal.clone(),
        outbox: outbox.to_path_buf(),
        options: Default::default(),
    };
    let outbox = scratch();
    let report = initial_load(&load(outbox.path())).expect("initial load");
    assert!(report.manifest.subscribers.len() == 98);
    group.bench_function("copy_reference_replica", |b| {
        b.iter(|| read_all(&night.replica))
    });
    group.bench_function("initial_load_98_municipalities", |b| {
        b.iter_batched(
            scratch,
            |o| initial_load(&load(o.path())).expect("initial load"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = nightly
}
criterion_main!(benches);
