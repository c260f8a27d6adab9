//! Daily change extracts: 20 chained days are valid U12170 files, continue the full extract
//! and each other, carry complete blocks with 099 events (derived ones included), PNR changes
//! and a spike day.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use common::{assert_valid, pnr_at, read_back};
use cprgen::{generate_days, generate_full, DayConfig, FullConfig};
use cprsift_format::Pnr;

fn full_extract(dir: &Path, persons: u64) -> std::path::PathBuf {
    let path = dir.join("full.txt");
    let bytes = {
        let mut v = Vec::new();
        generate_full(&FullConfig::persons(persons, 3), &mut v).unwrap();
        v
    };
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn twenty_chained_days_are_valid_and_continue_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let full = full_extract(dir.path(), 20_000);
    let mut cfg = DayConfig::new(full.clone(), dir.path().join("days"));
    cfg.days = 20;
    cfg.spike = true;
    cfg.intensity = 20.0;
    let days = generate_days(&cfg).unwrap();
    assert_eq!(days.len(), 20);
    let full_blocks = read_back(&std::fs::read(&full).unwrap()).0;
    let full_index: HashMap<Pnr, usize> = full_blocks
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (*p, i))
        .collect();
    let mut prev = NaiveDate::from_ymd_opt(2022, 5, 12).unwrap();
    let mut history: HashMap<Pnr, usize> = HashMap::new();
    let mut marks: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut codes: HashMap<Vec<u8>, u64> = HashMap::new();
    for d in &days {
        let bytes = std::fs::read(&d.path).unwrap();
        let report = assert_valid(&bytes);
        assert_eq!(report.taeller, Some(d.records));
        assert_eq!(
            report.proddto_forrig,
            Some(prev.format("%Y-%m-%d").to_string())
        );
        assert!(!matches!(d.proddto.weekday(), Weekday::Sat | Weekday::Sun));
        assert_eq!(
            d.path.file_name().unwrap().to_str().unwrap(),
            format!("D{}.L900170", d.proddto.format("%y%m%d"))
        );
        let (blocks, tail) = read_back(&bytes);
        assert_eq!(blocks.len() as u64, d.persons);
        let key = |r: &Vec<u8>| [&r[207..225], &r[3..13]].concat();
        assert!(
            tail.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
            "003 tail not in address order"
        );
        for (pnr, b) in &blocks {
            let p = b.first(b"001").unwrap();
            assert_eq!(p.len(), 106);
            let events: Vec<&Vec<u8>> = b.all(b"099").collect();
            assert!(!events.is_empty(), "a block without 099");
            assert!(b.records.last().unwrap().starts_with(b"099"));
            for e in events {
                *codes.entry(e[25..28].to_vec()).or_default() += 1;
                *marks.entry(e[28..30].to_vec()).or_default() += 1;
            }
            let status = &p[23..25];
            if status == b"60" {
                let new = pnr_at(p, 13).unwrap();
                let nb = &blocks
                    .iter()
                    .find(|(q, _)| *q == new)
                    .expect("new PNR's block delivered")
                    .1;
                assert!(nb.all(b"022").any(|r| pnr_at(r, 13) == Some(*pnr)));
                assert!(nb.all(b"099").any(|e| &e[28..30] == b"PN"));
                continue;
            }
            // Complete block: the records every person has, and its 003 in the tail.
            for rt in [b"008", b"009", b"010", b"011", b"012"] {
                assert!(
                    b.first(rt).is_some(),
                    "block of {pnr} lacks {}",
                    String::from_utf8_lossy(rt)
                );
            }
            assert_eq!(
                tail.iter().filter(|r| pnr_at(r, 3) == Some(*pnr)).count(),
                1
            );
            // History only grows: day k continues day k-1 and the full extract.
            let rows = b
                .records
                .iter()
                .filter(|r| matches!(&r[..3], b"023" | b"026" | b"029"))
                .count();
            let before = history.get(pnr).copied().or_else(|| {
                full_index.get(pnr).map(|&i| {
                    full_blocks[i]
                        .1
                        .records
                        .iter()
                        .filter(|r| matches!(&r[..3], b"023" | b"026" | b"029"))
                        .count()
                })
            });
            if let Some(before) = before {
                assert!(
                    rows >= before,
                    "history of {pnr} shrank from {before} to {rows}"
                );
            }
            history.insert(*pnr, rows);
        }
        prev = d.proddto;
    }
    for code in [
        &b"A01"[..],
        b"A21",
        b"A14",
        b"A24",
        b"A06",
        b"P31",
        b"A13",
        b"P03",
        b"A42",
    ] {
        assert!(
            codes.get(code).copied().unwrap_or(0) > 0,
            "no {} event",
            String::from_utf8_lossy(code)
        );
    }
    for mark in [&b"\xC6G"[..], b"B\xD8", b"MO", b"PN"] {
        assert!(
            marks.get(mark).copied().unwrap_or(0) > 0,
            "no derived event {mark:?}"
        );
    }
    // The spike: every resident of the merged municipality (Guldborgsund, 0376) gets A42.
    let residents = full_blocks
        .iter()
        .filter(|(_, b)| b.first(b"002").is_some_and(|a| &a[13..17] == b"0376"))
        .count();
    let spike = std::fs::read(&days.last().unwrap().path).unwrap();
    let a42 = read_back(&spike)
        .0
        .iter()
        .filter(|(_, b)| b.all(b"099").any(|e| &e[25..28] == b"A42"))
        .count();
    assert!(
        residents > 50 && a42 * 10 >= residents * 8,
        "{a42} A42 events for {residents} residents"
    );
}

#[test]
fn days_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let full = full_extract(dir.path(), 5_000);
    let run = |sub: &str| {
        let mut cfg = DayConfig::new(full.clone(), dir.path().join(sub));
        cfg.days = 3;
        cfg.intensity = 10.0;
        generate_days(&cfg)
            .unwrap()
            .iter()
            .map(|d| std::fs::read(&d.path).unwrap())
            .collect::<Vec<_>>()
    };
    assert!(run("a") == run("b"));
}

#[test]
fn a_broken_full_extract_is_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.txt");
    std::fs::write(&path, b"0010101010101\n").unwrap();
    let err = generate_days(&DayConfig::new(path, dir.path().join("out")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.txt") && err.contains("line"), "{err}");
}
