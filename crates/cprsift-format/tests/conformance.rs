//! The two real extracts of CPR's test system are the parser's ground truth: every fact their
//! README lists is reproduced here exactly. They are CPR's and live outside the repository
//! (`cprsift_testdata::conformance`); where they are absent, each test says so and passes.

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

use std::collections::BTreeMap;

use cprsift_format::{check, Extract, ExtractOptions, FieldKind, Framing, RecordType};

use cprsift_testdata::conformance;

const CHANGE: &str = "U12170-P_opgavenr_110901.txt";
const STATUS: &str = "U12160-P_opgavenr_110902.txt";

struct Facts {
    bytes: u64,
    records: u64,
    taeller: u64,
    distinct_pnrs: usize,
    start: &'static str,
    statuses: &'static [(&'static str, u64)],
    municipalities: &'static [(&'static str, u64)],
    events: u64,
    distinct_events: usize,
}

const CHANGE_FACTS: Facts = Facts {
    bytes: 96_515,
    records: 1_100,
    taeller: 1_098,
    distinct_pnrs: 80,
    start: "00000000000001109012001111920011116",
    statuses: &[
        ("01", 69),
        ("50", 1),
        ("60", 3),
        ("70", 1),
        ("80", 3),
        ("90", 3),
    ],
    municipalities: &[("0573", 2), ("0851", 67)],
    events: 116,
    distinct_events: 48,
};

const STATUS_FACTS: Facts = Facts {
    bytes: 117_223,
    records: 1_249,
    taeller: 1_247,
    distinct_pnrs: 111,
    start: "00000000000001109022001111620011116",
    statuses: &[
        ("01", 71),
        ("30", 31),
        ("50", 2),
        ("60", 3),
        ("70", 1),
        ("80", 3),
    ],
    municipalities: &[("0851", 71)],
    events: 0,
    distinct_events: 0,
};

fn reproduce(name: &str, facts: &Facts) {
    let Some(input) = conformance(name, "the facts of CPR's README for this extract") else {
        return;
    };
    let report = check(&input, ExtractOptions::default());
    assert!(report.is_valid(), "{name}: {:#?}", report.errors);
    assert_eq!(report.warning_count, 0);
    assert_eq!(report.bytes, facts.bytes);
    assert_eq!(report.records, facts.records);
    assert_eq!(report.taeller, Some(facts.taeller));
    assert_eq!(report.counted, facts.taeller);
    assert_eq!(report.framing, Framing::Lines);
    assert_eq!(report.framing_report.terminator(), "CRLF");
    assert!(report.framing_report.eof_marker);
    assert!(report.framing_report.trimmed_records > 0);
    let statuses: BTreeMap<String, u64> = facts
        .statuses
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(report.status_counts, statuses);
    let municipalities: BTreeMap<String, u64> = facts
        .municipalities
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(report.municipality_counts, municipalities);
    assert_eq!(
        report.records_by_type.get("099").copied().unwrap_or(0),
        facts.events
    );

    let extract = Extract::open(&input, ExtractOptions::default()).unwrap();
    assert_eq!(extract.start_record().bytes(), facts.start.as_bytes());
    let mut pnrs = std::collections::BTreeSet::new();
    let mut events = std::collections::BTreeSet::new();
    for block in extract.blocks() {
        let block = block.unwrap();
        pnrs.insert(block.pnr());
        for r in block.records() {
            let r = r.unwrap();
            assert_eq!(
                r.pnr(),
                Some(block.pnr()),
                "{name}: record at {}",
                r.offset()
            );
            if r.record_type() == Some(RecordType::EVENT) {
                events.insert(r.field_named("HAENDELSE").unwrap().present().to_vec());
            }
        }
    }
    for r in extract.tail() {
        pnrs.insert(r.unwrap().pnr().unwrap());
    }
    assert_eq!(pnrs.len(), facts.distinct_pnrs);
    assert_eq!(events.len(), facts.distinct_events);
}

#[test]
fn change_extract_facts() {
    reproduce(CHANGE, &CHANGE_FACTS);
}

#[test]
fn status_extract_facts() {
    reproduce(STATUS, &STATUS_FACTS);
}

/// Every field that records.tsv marks `YES` parses in its declared type on every record of
/// both files.
#[test]
fn every_verified_field_parses_in_its_type() {
    for name in [CHANGE, STATUS] {
        let Some(input) = conformance(name, "every verified field parses in its type") else {
            continue;
        };
        let extract = Extract::open(&input, ExtractOptions::default()).unwrap();
        let mut records = vec![extract.start_record(), extract.end_record()];
        for block in extract.blocks() {
            records.extend(block.unwrap().records().map(Result::unwrap));
        }
        records.extend(extract.tail().map(Result::unwrap));
        let mut checked = 0;
        for r in &records {
            let layout = r
                .layout()
                .expect("every record type in the files is defined");
            for field in layout.fields.iter().filter(|f| f.verified) {
                let v = r.field(field);
                let ok = match field.kind {
                    FieldKind::Text => true,
                    FieldKind::Numeric => v.number().is_ok(),
                    FieldKind::D8 => v.d8().is_ok(),
                    FieldKind::D10 => v.d10().is_ok(),
                    FieldKind::Ts12 => v.ts12().is_ok(),
                };
                assert!(
                    ok,
                    "{name}: record {} field {} at byte {}",
                    layout.record_type,
                    field.name,
                    r.offset()
                );
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{name}: only {checked} fields checked");
    }
}
