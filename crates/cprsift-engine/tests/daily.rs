//! Daily delivery: one hand-built case per rule of docs/rules.md §2 and §3, the CPR office's
//! conformance extract, and byte-identical output with 1 and N threads.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use cprsift_engine::{
    daily_file_name, write_daily, DailyOptions, DayIndex, FilterSet, MatchOptions, OutputOptions,
    Selection, SetAsideBlocks,
};
use cprsift_format::write::{write_record, Terminator};
use cprsift_format::{CheckedExtract, Extract, ExtractOptions, Pnr};
use cprsift_subscriptions::PnrMove;

const PRODDTO: (i32, u32, u32) = (2024, 3, 1);

fn proddto() -> chrono::NaiveDate {
    date(PRODDTO.0, PRODDTO.1, PRODDTO.2)
}

/// Runs the fast path into `outbox`; returns the selections.
fn fast_with(
    input: &[u8],
    before: &HashMap<Pnr, u16>,
    subs: &[Subscriber],
    matching: MatchOptions,
    options: DailyOptions,
    outbox: &Path,
) -> Vec<Selection> {
    let checked = CheckedExtract::read(input, ExtractOptions::default());
    assert!(checked.is_valid(), "{:?}", checked.report().errors);
    let day = DayIndex::build(&checked, before, matching, &[]).unwrap();
    let set = FilterSet::compile(subs).unwrap();
    let selections = set.evaluate(&day);
    let none = SetAsideBlocks::default();
    write_daily(
        &day,
        &set,
        &selections,
        outbox,
        &options,
        Path::new("test"),
        &none,
    )
    .unwrap();
    selections
}

/// [`fast_with`] with the default switches.
fn fast(
    input: &[u8],
    before: &HashMap<Pnr, u16>,
    subs: &[Subscriber],
    outbox: &Path,
) -> Vec<Selection> {
    fast_with(
        input,
        before,
        subs,
        MatchOptions::default(),
        DailyOptions::default(),
        outbox,
    )
}

/// The PNRs delivered to each subscriber (block order), checked against the oracle's bytes.
fn delivered(persons: &[Person], before: &HashMap<Pnr, u16>, subs: &[Subscriber]) -> Vec<Vec<Pnr>> {
    let order: Vec<usize> = (0..persons.len()).rev().collect();
    let input = extract_bytes(proddto(), None, persons, &order, Terminator::Lf, false);
    let dir = tempfile::tempdir().unwrap();
    fast(&input, before, subs, dir.path());
    let oracle = oracle_daily(&input, before, subs, OracleSwitches::default(), false);
    let name = daily_file_name(proddto(), "110901");
    oracle
        .into_iter()
        .map(|(id, expected)| {
            let got = read_delivered(&dir.path().join(&id).join(&name));
            assert_eq!(got, expected.unwrap(), "subscriber {id}");
            let report = cprsift_format::check(&got, ExtractOptions::default());
            assert!(report.is_valid(), "{:?}", report.errors);
            let e = Extract::open(&got, ExtractOptions::default()).unwrap();
            e.blocks().map(|b| b.unwrap().pnr()).collect()
        })
        .collect()
}

const A: &str = "0101801234";
const B: &str = "0202802345";
const C: &str = "0303803456";

#[test]
fn mover_in_is_delivered_by_the_new_municipality() {
    let persons = [Person::new(A, 101), Person::new(B, 851)];
    let before = HashMap::from([(pnr(A), 851), (pnr(B), 851)]);
    let got = delivered(
        &persons,
        &before,
        &[subscriber("k101", &[], &[101], &[], &[], false)],
    );
    assert_eq!(got, vec![vec![pnr(A)]]);
}

#[test]
fn mover_out_is_delivered_by_the_old_municipality_unless_after_only() {
    let persons = [Person::new(A, 851), Person::new(B, 851)];
    let before = HashMap::from([(pnr(A), 101)]);
    let subs = [subscriber("k101", &[], &[101], &[], &[], false)];
    assert_eq!(delivered(&persons, &before, &subs), vec![vec![pnr(A)]]);
    // Switch after-only: only today's 002 counts.
    let input = extract_bytes(proddto(), None, &persons, &[0, 1], Terminator::Lf, false);
    let dir = tempfile::tempdir().unwrap();
    let matching = MatchOptions {
        after_only: true,
        ..Default::default()
    };
    let sel = fast_with(
        &input,
        &before,
        &subs,
        matching,
        DailyOptions::default(),
        dir.path(),
    );
    assert!(sel[0].blocks.is_empty());
}

#[test]
fn death_of_a_resident_is_delivered() {
    // Dead (status 90): no 002 any more; the replica knew the person in 101.
    let mut dead = Person::new(A, 101);
    dead.status = 90;
    dead.municipality = None;
    dead.events = vec![("A05", false)];
    let before = HashMap::from([(pnr(A), 101)]);
    let got = delivered(
        &[dead],
        &before,
        &[subscriber("k101", &[], &[101], &[], &[], false)],
    );
    assert_eq!(got, vec![vec![pnr(A)]]);
}

#[test]
fn age_boundaries_both_inclusive_and_29_february() {
    // PRODDTO 2024-03-01. Born 2006-03-01: 18 today. Born 2006-03-02: 17.
    let mut eighteen = Person::new(A, 851);
    eighteen.birth = Some(date(2006, 3, 1));
    let mut seventeen = Person::new(B, 851);
    seventeen.birth = Some(date(2006, 3, 2));
    // Born 29 Feb 2008 (blank FOED_DT: the PNR's date), 16 on 2024-03-01.
    let mut leapling = Person::new("2902084567", 851);
    leapling.birth = None;
    let subs = [
        subscriber("adults", &[], &[], &[(18, 64)], &[], false),
        subscriber("minors", &[], &[], &[(0, 17)], &[], false),
        subscriber("sixteen", &[], &[], &[(16, 16)], &[], false),
    ];
    let got = delivered(&[eighteen, seventeen, leapling], &HashMap::new(), &subs);
    assert_eq!(got[0], vec![pnr(A)]);
    assert_eq!(got[1], vec![pnr(B), pnr("2902084567")]);
    assert_eq!(got[2], vec![pnr("2902084567")]);
}

#[test]
fn age_of_a_29_february_birthday_in_a_non_leap_year() {
    // PRODDTO 2023-02-28: a person born 2000-02-29 is still 22; on 2023-03-01, 23.
    let mut p = Person::new(A, 851);
    p.birth = Some(date(2000, 2, 29));
    let subs = [subscriber("s23", &[], &[], &[(23, 23)], &[], false)];
    for (day, expected) in [(date(2023, 2, 28), 0), (date(2023, 3, 1), 1)] {
        let input = extract_bytes(
            day,
            None,
            std::slice::from_ref(&p),
            &[0],
            Terminator::Lf,
            false,
        );
        let dir = tempfile::tempdir().unwrap();
        let sel = fast(&input, &HashMap::new(), &subs, dir.path());
        assert_eq!(sel[0].blocks.len(), expected, "{day}");
    }
}

#[test]
fn derived_events_match_unless_main_only() {
    let mut spouse = Person::new(A, 851);
    spouse.events = vec![("A21", true)];
    let subs = [subscriber("a21", &[], &[], &[], &["A21"], false)];
    assert_eq!(
        delivered(std::slice::from_ref(&spouse), &HashMap::new(), &subs),
        vec![vec![pnr(A)]]
    );
    let input = extract_bytes(proddto(), None, &[spouse], &[0], Terminator::Lf, false);
    let dir = tempfile::tempdir().unwrap();
    let matching = MatchOptions {
        main_events_only: true,
        ..Default::default()
    };
    let sel = fast_with(
        &input,
        &HashMap::new(),
        &subs,
        matching,
        DailyOptions::default(),
        dir.path(),
    );
    assert!(sel[0].blocks.is_empty());
}

#[test]
fn pnr_change_delivers_the_new_pnr_and_moves_the_subscription() {
    let mut old = Person::new(A, 851);
    old.status = 60;
    old.pnr_gaeld = Some(pnr(B));
    old.municipality = None;
    let new = Person::new(B, 851);
    let other = Person::new(C, 851);
    let subs = [subscriber("p", &[pnr(A)], &[], &[], &[], false)];
    let persons = [other, new, old];
    assert_eq!(
        delivered(&persons, &HashMap::new(), &subs),
        vec![vec![pnr(B), pnr(A)]]
    );
    let input = extract_bytes(proddto(), None, &persons, &[0, 1, 2], Terminator::Lf, false);
    let dir = tempfile::tempdir().unwrap();
    let sel = fast(&input, &HashMap::new(), &subs, dir.path());
    assert_eq!(
        sel[0].moves,
        vec![PnrMove {
            subscriber: subs[0].0.clone(),
            from: pnr(A),
            to: pnr(B)
        }]
    );
}

#[test]
fn duplicate_deleted_keeps_the_subscription() {
    let mut dup = Person::new(A, 851);
    dup.status = 50;
    dup.pnr_gaeld = Some(pnr(B));
    let subs = [subscriber("p", &[pnr(A)], &[], &[], &[], false)];
    let persons = [dup, Person::new(B, 851)];
    assert_eq!(
        delivered(&persons, &HashMap::new(), &subs),
        vec![vec![pnr(A)]]
    );
    let input = extract_bytes(proddto(), None, &persons, &[0, 1], Terminator::Lf, false);
    let dir = tempfile::tempdir().unwrap();
    let sel = fast(&input, &HashMap::new(), &subs, dir.path());
    assert!(sel[0].moves.is_empty());
}

#[test]
fn no_filter_gets_everyone_and_no_filters_gets_nobody_but_a_file() {
    let persons = [
        Person::new(A, 101),
        Person::new(B, 851),
        Person::new(C, 999),
    ];
    let subs = [
        subscriber("all", &[], &[], &[], &[], true),
        subscriber("none", &[], &[], &[], &[], false),
    ];
    let got = delivered(&persons, &HashMap::new(), &subs);
    assert_eq!(got[0], vec![pnr(A), pnr(B), pnr(C)]);
    assert!(got[1].is_empty());
    // Switch skip-empty: no file for the subscriber without a match.
    let input = extract_bytes(proddto(), None, &persons, &[0, 1, 2], Terminator::Lf, false);
    let dir = tempfile::tempdir().unwrap();
    let opts = DailyOptions {
        skip_empty: true,
        ..Default::default()
    };
    fast_with(
        &input,
        &HashMap::new(),
        &subs,
        MatchOptions::default(),
        opts,
        dir.path(),
    );
    assert!(dir
        .path()
        .join("all")
        .join(daily_file_name(proddto(), "110901"))
        .exists());
    assert!(!dir.path().join("none").exists());
}

#[test]
fn a_person_matched_by_three_filters_is_delivered_once() {
    let mut p = Person::new(A, 101);
    p.birth = Some(date(1980, 1, 1));
    let subs = [subscriber(
        "three",
        &[pnr(A)],
        &[101],
        &[(40, 50)],
        &["A01"],
        false,
    )];
    let mut other = Person::new(B, 851);
    other.events = vec![("A05", false)];
    other.birth = Some(date(2000, 1, 1));
    let got = delivered(&[p, other], &HashMap::new(), &subs);
    assert_eq!(got, vec![vec![pnr(A)]]);
}

#[test]
fn tail_order_and_framing_switches_follow_the_oracle() {
    let persons = [
        Person::new(A, 101),
        Person::new(B, 101),
        Person::new(C, 851),
    ];
    let subs = [subscriber("k101", &[], &[101], &[], &[], false)];
    for (t, trim) in [
        (Terminator::Crlf, true),
        (Terminator::None, false),
        (Terminator::Lf, true),
    ] {
        // Input: CRLF trimmed lines (CPR's framing); output framing per switch.
        let input = extract_bytes(
            proddto(),
            None,
            &persons,
            &[2, 1, 0],
            Terminator::Crlf,
            trim,
        );
        let dir = tempfile::tempdir().unwrap();
        let opts = DailyOptions {
            output: OutputOptions {
                terminator: t,
                zstd: Some(1),
            },
            skip_empty: false,
        };
        fast_with(
            &input,
            &HashMap::new(),
            &subs,
            MatchOptions::default(),
            opts,
            dir.path(),
        );
        let sw = OracleSwitches {
            terminator: t,
            ..Default::default()
        };
        let expected = oracle_daily(&input, &HashMap::new(), &subs, sw, false);
        let name = format!("{}.zst", daily_file_name(proddto(), "110901"));
        let got = read_delivered(&dir.path().join("k101").join(name));
        assert_eq!(Some(got), expected[0].1, "{t:?}");
    }
}

#[test]
fn metadata_and_manifest_describe_the_files() {
    let persons = [Person::new(A, 101), Person::new(B, 851)];
    let input = extract_bytes(
        proddto(),
        Some(date(2024, 2, 29)),
        &persons,
        &[0, 1],
        Terminator::Lf,
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let subs = [subscriber("k101", &[], &[101], &[], &[], false)];
    fast(&input, &HashMap::new(), &subs, dir.path());
    let name = daily_file_name(proddto(), "110901");
    assert_eq!(name, "D240301.L110901");
    let data = std::fs::read(dir.path().join("k101").join(&name)).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("k101").join(format!("{name}.metadata"))).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["subscriber"], "k101");
    assert_eq!(meta["proddto"], "2024-03-01");
    assert_eq!(meta["persons"], 1);
    assert_eq!(meta["records"], 6); // 000, 001, 002, 099, 003, 999
    assert_eq!(meta["bytes"], data.len());
    use sha2::Digest;
    assert_eq!(meta["sha256"], hex::encode(sha2::Sha256::digest(&data)));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("_runs/D20240301.L110901.manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["files"][0]["path"], "k101/D240301.L110901");
    assert_eq!(manifest["proddto_forrig"], "2024-02-29");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("k101")), 0o700);
    assert_eq!(mode(&dir.path().join("k101").join(&name)), 0o600);
}

/// The CPR office's change extract, delivered to a no-filter subscriber, gives back every
/// person block and 003 record in canonical framing (997/910 not forwarded).
#[test]
fn conformance_extract_to_a_no_filter_subscriber() {
    let Some(input) = cprsift_testdata::conformance(
        "U12170-P_opgavenr_110901.txt",
        "CPR's change extract delivered to a no-filter subscriber",
    ) else {
        return;
    };
    let extract = Extract::open(&input, ExtractOptions::default()).unwrap();
    let mut expected = Vec::new();
    write_record(&mut expected, &extract.start_record(), Terminator::Lf);
    let mut count = 0;
    for b in extract.blocks() {
        for r in b.unwrap().records() {
            write_record(&mut expected, &r.unwrap(), Terminator::Lf);
            count += 1;
        }
    }
    for r in extract.tail() {
        write_record(&mut expected, &r.unwrap(), Terminator::Lf);
        count += 1;
    }
    assert_eq!(count, 1098);
    expected.extend_from_slice(b"999999999999900001098\n");
    let dir = tempfile::tempdir().unwrap();
    let subs = [subscriber("all", &[], &[], &[], &[], true)];
    fast(&input, &HashMap::new(), &subs, dir.path());
    let got = std::fs::read(dir.path().join("all/D011119.L110901")).unwrap();
    assert_eq!(got, expected);
}

/// The same input gives byte-identical files with 1 thread and with 4.
#[test]
fn one_and_many_threads_write_the_same_bytes() {
    let persons: Vec<Person> = (0..3000u32)
        .map(|i| {
            let mut p = Person::new(
                &format!("{:02}0{}80{:04}", 1 + i % 28, 1 + i % 9, i),
                100 + (i % 7) as u16,
            );
            p.events = vec![(["A01", "A21", "P03"][i as usize % 3], i % 2 == 0)];
            p
        })
        .collect();
    let order: Vec<usize> = (0..persons.len()).rev().collect();
    let input = extract_bytes(proddto(), None, &persons, &order, Terminator::Lf, false);
    let subs: Vec<Subscriber> = (0..40u16)
        .map(|i| {
            subscriber(
                &format!("s{i}"),
                &[],
                &[100 + i % 7],
                &[(i, i + 10)],
                &["A21"],
                i == 0,
            )
        })
        .collect();
    let run = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| fast(&input, &HashMap::new(), &subs, dir.path()));
        let mut files = Vec::new();
        for s in &subs {
            let d = dir.path().join(s.0.as_str());
            files.push(std::fs::read(d.join("D240301.L110901")).unwrap());
            files.push(std::fs::read(d.join("D240301.L110901.metadata")).unwrap());
        }
        files
            .push(std::fs::read(dir.path().join("_runs/D20240301.L110901.manifest.json")).unwrap());
        files
    };
    assert_eq!(run(1), run(4));
}
