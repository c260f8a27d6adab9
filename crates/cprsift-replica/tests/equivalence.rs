//! The replica against the slow reference: init, then 20 chained days applied one per call
//! and all at once, exported byte for byte equal to the reference's export.
#![allow(clippy::unwrap_used)]

mod common;

use common::{exported, reference_after, write_series};
use cprsift_format::{Extract, ExtractOptions, Pnr};
use cprsift_replica::{apply, init, ApplyOptions, ApplyOutcome, InitOptions, Replica};

#[test]
fn one_day_per_call_equals_the_reference_after_every_day() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 7, 400, 20, 60);
    let dir = tmp.path().join("replica");
    let report = init(&series.base, &dir, InitOptions::default()).unwrap();
    assert_eq!(report.persons, 400);
    assert_eq!(exported(&dir), reference_after(&series, 0).export());
    for (n, day) in series.days.iter().enumerate() {
        let outcomes = apply(&dir, std::slice::from_ref(day), ApplyOptions::default()).unwrap();
        assert!(matches!(outcomes[..], [ApplyOutcome::Applied { .. }]));
        let expected = reference_after(&series, n + 1);
        let got = exported(&dir);
        assert!(
            got == expected.export(),
            "day {} differs from the reference",
            n + 1
        );
        check_index_against_export(&dir, &got);
    }
}

#[test]
fn all_days_at_once_equal_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 11, 400, 20, 60);
    let dir = tmp.path().join("replica");
    init(&series.base, &dir, InitOptions::default()).unwrap();
    // Given out of order: apply sorts by PRODDTO.
    let mut days = series.days.clone();
    days.reverse();
    let outcomes = apply(&dir, &days, ApplyOptions::default()).unwrap();
    assert_eq!(outcomes.len(), 20);
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, ApplyOutcome::Applied { .. })));
    assert!(exported(&dir) == reference_after(&series, 20).export());
    // Applying them again changes nothing: every one is already applied.
    let before = common::snapshot(&dir);
    let again = apply(&dir, &series.days, ApplyOptions::default()).unwrap();
    assert!(again
        .iter()
        .all(|o| matches!(o, ApplyOutcome::AlreadyApplied { .. })));
    assert_eq!(common::snapshot(&dir), before);
}

#[test]
fn many_days_compact_and_stay_equal() {
    let tmp = tempfile::tempdir().unwrap();
    // 45 days: more than MAX_SEGMENTS segments, and heavy churn of a small population.
    let series = write_series(tmp.path(), 3, 120, 45, 50);
    let dir = tmp.path().join("replica");
    init(&series.base, &dir, InitOptions::default()).unwrap();
    let outcomes = apply(&dir, &series.days, ApplyOptions::default()).unwrap();
    let compacted: usize = outcomes
        .iter()
        .map(|o| match o {
            ApplyOutcome::Applied {
                compacted_segments, ..
            } => *compacted_segments,
            ApplyOutcome::AlreadyApplied { .. } => 0,
        })
        .sum();
    assert!(compacted > 0, "no compaction happened");
    let status = cprsift_replica::status(&dir).unwrap();
    assert!(status.segments.len() <= cprsift_replica::MAX_SEGMENTS);
    assert_eq!(status.generations, 1);
    assert!(exported(&dir) == reference_after(&series, 45).export());
}

#[test]
fn the_test_data_has_every_case() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 7, 400, 20, 60);
    let base = std::fs::read(&series.base).unwrap();
    let lines =
        |b: &[u8]| -> Vec<Vec<u8>> { b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect() };
    let base_lines = lines(&base);
    assert!(
        base_lines
            .iter()
            .any(|l| l.starts_with(b"001") && l.len() == 121),
        "no status-layout 001"
    );
    assert!(
        base_lines.iter().any(|l| l.starts_with(b"034")),
        "no undefined record type"
    );
    let days: Vec<Vec<u8>> = series
        .days
        .iter()
        .flat_map(|d| lines(&std::fs::read(d).unwrap()))
        .collect();
    assert!(days.iter().any(|l| l.starts_with(b"022")), "no PNR change");
    assert!(
        days.iter()
            .any(|l| l.starts_with(b"001") && &l[23..25] == b"90"),
        "no death"
    );
    assert!(
        days.iter()
            .any(|l| l.starts_with(b"001") && &l[23..25] == b"60"),
        "no retired PNR"
    );
    // Persons delivered without a 003, and a 003 without a block.
    let (mut blocks, mut clear) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for l in lines(&std::fs::read(&series.days[0]).unwrap()) {
        if l.len() >= 13 && l.starts_with(b"001") {
            blocks.insert(l[3..13].to_vec());
        }
        if l.starts_with(b"003") {
            clear.insert(l[3..13].to_vec());
        }
    }
    assert!(blocks.difference(&clear).next().is_some());
    assert!(clear.difference(&blocks).next().is_some());
    // Each day changes the export.
    let r: Vec<Vec<u8>> = (0..3)
        .map(|n| reference_after(&series, n).export())
        .collect();
    assert!(r[0] != r[1] && r[1] != r[2]);
}

#[test]
fn same_bytes_with_one_or_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 5, 3000, 2, 100);
    let mut states = Vec::new();
    for threads in [1, 2] {
        let dir = tmp.path().join(format!("replica{threads}"));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            init(&series.base, &dir, InitOptions::default()).unwrap();
            apply(&dir, &series.days, ApplyOptions::default()).unwrap();
        });
        states.push(common::snapshot(&dir));
    }
    assert!(states[0] == states[1]);
}

/// The index agrees with the exported blocks, and the export is a valid extract.
fn check_index_against_export(dir: &std::path::Path, export: &[u8]) {
    let replica = Replica::open(dir).unwrap();
    let extract = Extract::open(export, ExtractOptions::default()).unwrap();
    let report = cprsift_format::check(export, ExtractOptions::default());
    assert!(
        report.is_valid(),
        "export invalid: {:?}",
        report.errors.first()
    );
    let blocks: Vec<_> = extract.blocks().map(Result::unwrap).collect();
    assert_eq!(blocks.len(), replica.len());
    let tail = extract.tail_index();
    for (i, (block, entry)) in blocks.iter().zip(replica.entries()).enumerate() {
        assert_eq!(block.pnr(), entry.pnr);
        assert_eq!(block.municipality(), entry.municipality);
        assert_eq!(block.birth_date(), entry.birth_date);
        assert_eq!(block.status().unwrap_or(0), entry.status);
        assert_eq!(block.pnr_gaeld(), entry.pnr_gaeld);
        let stored = replica.person_at(i);
        assert_eq!(stored.block, block.bytes());
        let clear: Vec<u8> = tail
            .records_of(block.pnr())
            .flat_map(|r| [r.bytes(), b"\n"].concat())
            .collect();
        assert_eq!(stored.clear_address, &clear[..]);
        assert!(replica.contains(entry.pnr));
        assert_eq!(replica.lookup(entry.pnr), Some(entry));
        assert_eq!(replica.entry_at(i), entry);
        assert_eq!(
            replica.person(entry.pnr).map(|p| p.block),
            Some(stored.block)
        );
    }
    let absent = Pnr::from_digits(b"0101010000").unwrap();
    assert!(!replica.contains(absent) && replica.person(absent).is_none());
    assert_eq!(&replica.opgavenr(), common::OPGAVENR);
}
