//! Full extracts: valid by `cprsift_format::check`, deterministic whatever the thread count,
//! realistic against the input tables, families consistent.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use common::{assert_valid, by_pnr, pnr_at, read_back};
use cprgen::{generate_full, FullConfig, PersonLayout, Preset};

fn generate(cfg: &FullConfig) -> Vec<u8> {
    let mut out = Vec::new();
    let summary = generate_full(cfg, &mut out).expect("generation");
    assert_eq!(summary.bytes, out.len() as u64);
    assert!(!summary.taeller_overflow);
    out
}

/// The `small` preset, generated once for all tests of this file.
fn small() -> &'static [u8] {
    static SMALL: OnceLock<Vec<u8>> = OnceLock::new();
    SMALL.get_or_init(|| generate(&FullConfig::preset(Preset::Small, 1)))
}

#[test]
fn tiny_preset_is_valid_in_both_layouts() {
    for layout in [PersonLayout::U12180, PersonLayout::U12170] {
        let mut cfg = FullConfig::preset(Preset::Tiny, 1);
        cfg.layout = layout;
        let bytes = generate(&cfg);
        let report = assert_valid(&bytes);
        assert_eq!(report.persons, 1000);
        assert_eq!(report.proddto.as_deref(), Some("2022-05-12"));
        assert_eq!(report.proddto_forrig, None);
        let len = bytes
            .split(|&b| b == b'\n')
            .find(|l| l.starts_with(b"001"))
            .map(<[u8]>::len);
        assert_eq!(
            len,
            Some(if layout == PersonLayout::U12180 {
                121
            } else {
                106
            })
        );
    }
}

#[test]
fn small_preset_is_valid() {
    let report = assert_valid(small());
    assert_eq!(report.persons, 100_000);
}

#[test]
fn same_seed_same_bytes_with_one_or_two_threads_and_with_spilling() {
    let mut cfg = FullConfig::persons(20_000, 7);
    let run = |threads: usize, cfg: &FullConfig| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| generate(cfg))
    };
    let one = run(1, &cfg);
    let two = run(2, &cfg);
    assert!(one == two, "1 and 2 threads differ");
    cfg.tail_run_bytes = 1 << 20;
    let spilled = run(2, &cfg);
    assert!(one == spilled, "spilled tail differs");
    cfg.seed = 8;
    assert!(run(2, &cfg) != one, "another seed gives the same file");
}

/// Persons per status, per municipality and per age band agree with the input tables.
#[test]
fn small_recount_matches_the_tables() {
    let (blocks, _) = read_back(small());
    let n = blocks.len() as f64;
    let mut status: BTreeMap<u8, u64> = BTreeMap::new();
    let mut kom: BTreeMap<u16, f64> = BTreeMap::new();
    let mut band = [0f64; 6];
    let mut female = 0f64;
    let mut living = 0f64;
    let ref_date = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap();
    for (_, b) in &blocks {
        let p = b.first(b"001").unwrap();
        let s: u8 = std::str::from_utf8(&p[23..25]).unwrap().parse().unwrap();
        *status.entry(s).or_default() += 1;
        if matches!(s, 1 | 3) {
            living += 1.0;
            let a = b.first(b"002").unwrap();
            *kom.entry(std::str::from_utf8(&a[13..17]).unwrap().parse().unwrap())
                .or_default() += 1.0;
            let birth =
                NaiveDate::parse_from_str(std::str::from_utf8(&p[39..49]).unwrap(), "%Y-%m-%d")
                    .unwrap();
            let mut age = ref_date.year() - birth.year();
            if (ref_date.month(), ref_date.day()) < (birth.month(), birth.day()) {
                age -= 1;
            }
            band[match age {
                0..=17 => 0,
                18..=29 => 1,
                30..=49 => 2,
                50..=66 => 3,
                67..=79 => 4,
                _ => 5,
            }] += 1.0;
            female += f64::from(u8::from(p[38] == b'K'));
        }
    }
    // Status: exact quotas (flows.md §8 split); retired PNRs may fall back to 30.
    let expect = [
        (1, 5570),
        (3, 20),
        (5, 50),
        (7, 4),
        (20, 250),
        (70, 40),
        (80, 1195),
        (90, 2856),
    ];
    for (s, share) in expect {
        let e = n * share as f64 / 10_000.0;
        let got = *status.get(&s).unwrap_or(&0) as f64;
        assert!(
            (got - e).abs() <= 1.0,
            "status {s:02}: {got} persons, expected {e}"
        );
    }
    let retired: u64 = [30, 50, 60]
        .iter()
        .map(|s| status.get(s).copied().unwrap_or(0))
        .sum();
    assert_eq!(retired, 150);
    // Municipalities: each within 5 sd (households double the variance) + 2 %, and the whole
    // distribution within 4 % total variation of municipalities.tsv.
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/municipalities.tsv"
    ))
    .unwrap();
    let rows: Vec<(u16, f64)> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("kommunekode"))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[0].parse().unwrap(), c[4].parse().unwrap())
        })
        .collect();
    let total: f64 = rows.iter().map(|r| r.1).sum();
    let mut distance = 0.0;
    for (code, pop) in &rows {
        let e = living * pop / total;
        let got = kom.get(code).copied().unwrap_or(0.0);
        assert!(
            (got - e).abs() <= 5.0 * (2.0 * e).sqrt() + 0.02 * e,
            "municipality {code:04}: {got}, expected {e:.0}"
        );
        distance += (got - e).abs();
    }
    assert!(
        kom.keys().all(|k| rows.iter().any(|r| r.0 == *k)),
        "a resident outside the 98 municipalities"
    );
    assert!(
        distance / living / 2.0 < 0.04,
        "total variation {:.3}",
        distance / living / 2.0
    );
    // Age bands on 1 January 2022 within 1.5 percentage points of the pyramid; sex ratio too.
    let pyramid =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/age_pyramid.tsv"))
            .unwrap();
    let mut expected = [0f64; 6];
    let mut exp_female = 0f64;
    let mut all = 0f64;
    for l in pyramid
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("age") && !l.starts_with("total"))
    {
        let c: Vec<f64> = l
            .split('\t')
            .map(|v| v.trim_end_matches('+').parse().unwrap())
            .collect();
        let b = match c[0] as i32 {
            0..=17 => 0,
            18..=29 => 1,
            30..=49 => 2,
            50..=66 => 3,
            67..=79 => 4,
            _ => 5,
        };
        expected[b] += c[1] + c[2];
        exp_female += c[2];
        all += c[1] + c[2];
    }
    for k in 0..6 {
        let (got, e) = (band[k] / living, expected[k] / all);
        assert!(
            (got - e).abs() < 0.015,
            "age band {k}: share {got:.3}, expected {e:.3}"
        );
    }
    assert!((female / living - exp_female / all).abs() < 0.015);
}

/// Every spouse, child and parent PNR that points inside the file points back; PNRs are
/// fake by construction; address history ends where the current address begins; the 003
/// tail is in address order.
#[test]
fn small_families_and_numbers_are_consistent() {
    let (blocks, tail) = read_back(small());
    let index = by_pnr(&blocks);
    let (mut spouses, mut children, mut parents) = (0, 0, 0);
    let mut seen = HashSet::new();
    for (pnr, b) in &blocks {
        assert!(seen.insert(*pnr));
        assert!(!pnr.passes_modulus_11(), "{pnr} passes modulus 11");
        let birth = pnr.birth_date().expect("a date");
        assert!(!(birth.month() == 1 && birth.day() == 1));
        let p = b.first(b"001").unwrap();
        assert_eq!(
            &p[39..49],
            birth.format("%Y-%m-%d").to_string().as_bytes(),
            "century digit of {pnr}"
        );
        if let Some(c) = b.first(b"012") {
            if let (b'G', Some(s)) = (c[13], pnr_at(c, 14)) {
                if let Some(other) = index.get(&s) {
                    assert_eq!(pnr_at(other.first(b"012").unwrap(), 14), Some(*pnr));
                    spouses += 1;
                }
            }
        }
        for c in b.all(b"014") {
            let child = pnr_at(c, 13).unwrap();
            if let Some(cb) = index.get(&child) {
                let f = cb.first(b"015").unwrap();
                assert!(pnr_at(f, 24) == Some(*pnr) || pnr_at(f, 91) == Some(*pnr));
                children += 1;
            }
        }
        if let Some(f) = b.first(b"015") {
            for parent in [pnr_at(f, 24), pnr_at(f, 91)].into_iter().flatten() {
                if let Some(pb) = index.get(&parent) {
                    assert!(pb.all(b"014").any(|c| pnr_at(c, 13) == Some(*pnr)));
                    parents += 1;
                }
            }
        }
        if let (Some(a), Some(last)) = (b.first(b"002"), b.all(b"023").last()) {
            assert_eq!(
                &last[83..95],
                &a[69..81],
                "023 of {pnr} ends where 002 begins"
            );
        }
        if &p[23..25] == b"60" || &p[23..25] == b"50" {
            let new = pnr_at(p, 13).unwrap();
            let nb = index.get(&new).expect("PNRGAELD inside");
            assert!(nb.all(b"022").any(|r| pnr_at(r, 13) == Some(*pnr)));
        }
    }
    assert!(
        spouses > 10_000 && children > 30_000 && parents > 30_000,
        "{spouses} {children} {parents}"
    );
    // 003: one per non-retired person, in address order (not block order).
    assert_eq!(tail.len(), blocks.len() - 150);
    let key = |r: &Vec<u8>| [&r[207..225], &r[3..13]].concat();
    assert!(tail.windows(2).all(|w| key(&w[0]) <= key(&w[1])));
    let block_order: Vec<&[u8]> = blocks.iter().map(|(_, b)| &b.records[0][3..13]).collect();
    let tail_order: Vec<&[u8]> = tail.iter().map(|r| &r[3..13]).collect();
    assert_ne!(block_order[..100], tail_order[..100]);
}
