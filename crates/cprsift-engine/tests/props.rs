//! Property tests: on random extracts, replica states and subscriber sets, the fast path's
//! files equal the slow oracle's byte for byte, for daily deliveries and initial loads.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::*;
use cprsift_engine::{
    daily_file_name, initial_file_base, write_daily, write_initial_load, DailyOptions, DayIndex,
    FilterSet, InitialLoadOptions, MatchOptions, OutputOptions, SetAsideBlocks,
};
use cprsift_format::write::Terminator;
use cprsift_format::{CheckedExtract, ExtractOptions, Pnr};
use proptest::prelude::*;

const CODES: [&str; 4] = ["A01", "A21", "P03", "A05"];
const MUNIS: [u16; 4] = [101, 147, 851, 999];

fn pnr_strategy() -> impl Strategy<Value = Pnr> {
    (1u32..=28, 1u32..=12, 0u32..100, 0u32..10_000)
        .prop_map(|(d, m, y, s)| Pnr::parse(&format!("{d:02}{m:02}{y:02}{s:04}")).unwrap())
}

/// Random persons with distinct PNRs; PNRGAELD points at another person or outside.
fn persons_strategy() -> impl Strategy<Value = Vec<Person>> {
    let person = (
        pnr_strategy(),
        prop::sample::select(vec![1u8, 1, 1, 3, 5, 7, 50, 60, 60, 80, 90]),
        prop::option::of(prop::sample::select(MUNIS.to_vec())),
        prop::option::of((1950i32..2024, 1u32..=12, 1u32..=28)),
        prop::collection::vec((prop::sample::select(CODES.to_vec()), any::<bool>()), 1..3),
        any::<bool>(),
        (any::<prop::sample::Index>(), pnr_strategy()),
        any::<bool>(),
    );
    prop::collection::vec(person, 1..25).prop_map(|raw| {
        let mut seen = HashSet::new();
        let raw: Vec<_> = raw.into_iter().filter(|r| seen.insert(r.0)).collect();
        let pnrs: Vec<Pnr> = raw.iter().map(|r| r.0).collect();
        raw.iter()
            .map(
                |(p, status, muni, birth, events, has_003, (gaeld_ix, outside), inside)| Person {
                    pnr: *p,
                    status: *status,
                    pnr_gaeld: (*status == 50 || *status == 60).then(|| {
                        if *inside {
                            *gaeld_ix.get(&pnrs)
                        } else {
                            *outside
                        }
                    }),
                    municipality: *muni,
                    birth: birth.map(|(y, m, d)| date(y, m, d)),
                    events: events.clone(),
                    has_003: *has_003,
                },
            )
            .collect()
    })
}

fn subscribers_strategy(pool: Vec<Pnr>) -> impl Strategy<Value = Vec<Subscriber>> {
    let one = (
        prop::sample::subsequence(pool.clone(), 0..=pool.len().min(4)),
        prop::sample::subsequence(MUNIS.to_vec(), 0..=2),
        prop::collection::vec((0u16..90, 0u16..40), 0..3),
        prop::sample::subsequence(CODES.to_vec(), 0..=2),
        prop::bool::weighted(0.1),
    );
    prop::collection::vec(one, 1..6).prop_map(|subs| {
        subs.iter()
            .enumerate()
            .map(|(i, (pnrs, munis, ages, codes, all))| {
                let ages: Vec<(u16, u16)> = ages.iter().map(|&(s, l)| (s, s + l)).collect();
                subscriber(&format!("sub-{i}"), pnrs, munis, &ages, codes, *all)
            })
            .collect()
    })
}

fn terminator() -> impl Strategy<Value = Terminator> {
    prop::sample::select(vec![Terminator::Lf, Terminator::Crlf, Terminator::None])
}

#[derive(Debug, Clone)]
struct DailyCase {
    persons: Vec<Person>,
    tail_order: Vec<usize>,
    before: HashMap<Pnr, u16>,
    subs: Vec<Subscriber>,
    after_only: bool,
    main_only: bool,
    skip_empty: bool,
    input_crlf_trimmed: bool,
    out: Terminator,
}

fn daily_case() -> impl Strategy<Value = DailyCase> {
    persons_strategy().prop_flat_map(|persons| {
        let pool: Vec<Pnr> = persons.iter().map(|p| p.pnr).collect();
        let n = persons.len();
        (
            Just(persons),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            prop::collection::vec(
                (
                    prop::sample::select(pool.clone()),
                    prop::sample::select(MUNIS.to_vec()),
                ),
                0..n + 1,
            ),
            subscribers_strategy(pool),
            any::<(bool, bool, bool, bool)>(),
            terminator(),
        )
            .prop_map(
                |(persons, tail_order, before, subs, (a, m, s, c), out)| DailyCase {
                    persons,
                    tail_order,
                    before: before.into_iter().collect(),
                    subs,
                    after_only: a,
                    main_only: m,
                    skip_empty: s,
                    input_crlf_trimmed: c,
                    out,
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn daily_files_equal_the_oracle(case in daily_case()) {
        let proddto = date(2024, 3, 1);
        let (framing, trim) = if case.input_crlf_trimmed { (Terminator::Crlf, true) } else { (Terminator::Lf, false) };
        let input = extract_bytes(proddto, None, &case.persons, &case.tail_order, framing, trim);
        let checked = CheckedExtract::read(&input, ExtractOptions::default());
        prop_assert!(checked.is_valid());
        let matching = MatchOptions { after_only: case.after_only, main_events_only: case.main_only };
        let day = DayIndex::build(&checked, &case.before, matching, &[]).unwrap();
        let set = FilterSet::compile(&case.subs).unwrap();
        let selections = set.evaluate(&day);
        let dir = tempfile::tempdir().unwrap();
        let opts = DailyOptions {
            output: OutputOptions { terminator: case.out, zstd: None },
            skip_empty: case.skip_empty,
        };
        write_daily(&day, &set, &selections, dir.path(), &opts, Path::new("t"), &SetAsideBlocks::default()).unwrap();
        let sw = OracleSwitches { after_only: case.after_only, main_only: case.main_only, terminator: case.out };
        let name = daily_file_name(proddto, "110901");
        for (id, expected) in oracle_daily(&input, &case.before, &case.subs, sw, case.skip_empty) {
            let path = dir.path().join(&id).join(&name);
            match expected {
                Some(bytes) => prop_assert_eq!(read_delivered(&path), bytes, "{}", id),
                None => prop_assert!(!path.exists(), "{}", id),
            }
        }
    }

    #[test]
    fn initial_loads_equal_the_oracle(
        (persons, subs) in persons_strategy().prop_flat_map(|p| {
            let pool = p.iter().map(|x| x.pnr).collect();
            (Just(p), subscribers_strategy(pool))
        }),
        extra in 0u64..3000,
        t in terminator(),
    ) {
        let replica = MemReplica::new(date(2024, 2, 29), persons);
        let tl = t.bytes().len();
        // The smallest shard that holds every single person, plus some slack.
        let fixed = (35 + 21 + 2 * tl) as u64;
        let biggest = replica.persons.iter().map(|(_, b, c)| {
            let lines = |x: &[u8]| x.len() as u64 + x.iter().filter(|&&c| c == b'\n').count() as u64 * (tl as u64) - x.iter().filter(|&&c| c == b'\n').count() as u64;
            lines(b) + lines(c) + 45 + tl as u64
        }).max().unwrap_or(0);
        let shard_size = fixed + biggest + extra;
        let dir = tempfile::tempdir().unwrap();
        let options = InitialLoadOptions {
            output: OutputOptions { terminator: t, zstd: None },
            shard_size,
        };
        let manifest = write_initial_load(&replica, &subs, dir.path(), &options).unwrap();
        let base = initial_file_base(replica.date, "110901");
        let mut listed = manifest.files.iter().map(|f| f.path.clone());
        for (id, shards) in oracle_initial(&replica, &subs, shard_size, t) {
            for (n, expected) in shards.iter().enumerate() {
                let rel = format!("{id}/{base}.{:03}", n + 1);
                prop_assert_eq!(listed.next(), Some(rel.clone()));
                let got = std::fs::read(dir.path().join(&rel)).unwrap();
                prop_assert!(got.len() as u64 <= shard_size);
                prop_assert_eq!(got, expected.clone(), "{}", rel);
            }
        }
        prop_assert_eq!(listed.next(), None);
    }
}
