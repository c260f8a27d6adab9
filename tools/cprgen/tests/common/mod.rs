//! Helpers shared by the integration tests: reading generated extracts back.
#![allow(dead_code)]

use std::collections::HashMap;

use cprsift_format::{Extract, ExtractOptions, Pnr};

/// One person's records as read back, by record type.
pub struct Back {
    pub records: Vec<Vec<u8>>,
}

impl Back {
    pub fn all(&self, rt: &[u8; 3]) -> impl Iterator<Item = &Vec<u8>> {
        let rt = *rt;
        self.records.iter().filter(move |r| r[..3] == rt)
    }
    pub fn first(&self, rt: &[u8; 3]) -> Option<&Vec<u8>> {
        self.all(rt).next()
    }
}

/// Every block of an extract, padded records, by PNR; and the tail in file order.
pub fn read_back(bytes: &[u8]) -> (Vec<(Pnr, Back)>, Vec<Vec<u8>>) {
    let x = Extract::open(bytes, ExtractOptions::default()).expect("opens");
    let mut blocks = Vec::new();
    for b in x.blocks() {
        let b = b.expect("block");
        let records = b
            .records()
            .map(|r| {
                let mut v = Vec::new();
                r.expect("record").write_padded(&mut v);
                v
            })
            .collect();
        blocks.push((b.pnr(), Back { records }));
    }
    let tail = x
        .tail()
        .map(|r| {
            let mut v = Vec::new();
            r.expect("003").write_padded(&mut v);
            v
        })
        .collect();
    (blocks, tail)
}

pub fn by_pnr(blocks: &[(Pnr, Back)]) -> HashMap<Pnr, &Back> {
    blocks.iter().map(|(p, b)| (*p, b)).collect()
}

pub fn pnr_at(r: &[u8], start: usize) -> Option<Pnr> {
    Pnr::from_digits(&r[start..start + 10]).filter(|p| p.key() != 0)
}

/// Asserts that `cprsift_format::check` finds no error and that TAELLER matches.
pub fn assert_valid(bytes: &[u8]) -> cprsift_format::CheckReport {
    let report = cprsift_format::check(bytes, Default::default());
    for e in report.errors.iter().take(5) {
        eprintln!("{e}");
    }
    assert!(report.is_valid(), "{} errors", report.error_count);
    assert_eq!(report.taeller, Some(report.counted));
    assert!(report.counted > 0);
    report
}
