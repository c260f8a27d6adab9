//! Hand-made cases in `testdata/format/`: one broken variant of a small valid extract per error
//! category, with the position `check` must report (`cases.tsv`).

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

use std::path::PathBuf;

use cprsift_format::{check, ExtractOptions, Severity};

fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/format")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_category_is_reported_where_it_is() {
    let table = String::from_utf8(testdata("cases.tsv")).unwrap();
    let mut seen = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, category, line_no, record_type, field) =
            (cols[0], cols[1], cols[2], cols[3], cols[4]);
        let report = check(&testdata(file), ExtractOptions::default());
        assert!(!report.is_valid(), "{file}: expected {category}");
        let e = &report.errors[0];
        assert_eq!(e.category.name(), category, "{file}: {e}");
        assert_eq!(e.position.line.to_string(), line_no, "{file}: {e}");
        assert_eq!(
            e.record_type.map(|t| t.to_string()).unwrap_or_default(),
            record_type,
            "{file}: {e}"
        );
        assert_eq!(e.field.unwrap_or_default(), field, "{file}: {e}");
        // Errors never show a full PNR.
        assert!(!e.to_string().contains("1503859991"), "{file}: {e}");
        seen += 1;
    }
    assert_eq!(seen, 20);
}

/// A 000, 999 or 910 record where it does not belong is one error, never also a counter
/// mismatch: 999 TAELLER does not count those types wherever they stand (docs/rules.md §6).
#[test]
fn misplaced_uncounted_types_are_one_error_each() {
    for (name, category) in [
        ("misplaced-000.txt", "misplaced-000"),
        ("misplaced-000-after-997.txt", "misplaced-000"),
        ("misplaced-910.txt", "misplaced-record"),
    ] {
        let report = check(&testdata(name), ExtractOptions::default());
        let found: Vec<&str> = report.errors.iter().map(|e| e.category.name()).collect();
        assert_eq!(found, [category], "{name}");
    }
    let report = check(&testdata("misplaced-910.txt"), ExtractOptions::default());
    assert_eq!((report.counted, report.taeller), (7, Some(7)));
}

#[test]
fn valid_files_are_valid_in_both_framings() {
    for name in ["valid.txt", "valid-cpr-framing.txt"] {
        let report = check(&testdata(name), ExtractOptions::default());
        assert!(report.is_valid(), "{name}: {:?}", report.errors);
        assert_eq!(
            (report.persons, report.counted, report.taeller),
            (2, 7, Some(7))
        );
    }
}

#[test]
fn undefined_types_in_a_block_are_carried_with_a_warning() {
    let input = testdata("unknown-carried.txt");
    let report = check(&input, ExtractOptions::default());
    assert!(report.is_valid(), "{:?}", report.errors);
    assert_eq!(report.warning_count, 1);
    assert_eq!(report.warnings[0].severity, Severity::Warning);
    assert_eq!(report.warnings[0].category.name(), "unknown-record-type");
    assert_eq!(report.warnings[0].position.line, 4);
    let strict = check(
        &input,
        ExtractOptions {
            strict_unknown: true,
        },
    );
    assert!(!strict.is_valid());
    assert_eq!(strict.errors[0].category.name(), "unknown-record-type");
}

/// A file large enough to be checked in several parallel pieces: a person repeated in a later
/// piece is reported once, at its second block, as is a repeat inside one piece.
#[test]
fn duplicates_are_found_across_parallel_pieces() {
    let valid = testdata("valid.txt");
    let lines: Vec<&[u8]> = valid
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let (start, block) = (lines[0], &lines[1..4]);
    let pnr = |i: usize| format!("{:02}03{:02}{:04}", 1 + i % 28, 40 + i / 28 % 50, i);
    let mut out = Vec::new();
    let mut push = |line: &[u8], p: &str| {
        out.extend_from_slice(&line[..3]);
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(&line[13..]);
        out.push(b'\n');
    };
    push(start, "0000000000");
    let persons = 1000;
    let mut order: Vec<usize> = (0..persons).collect();
    order.push(3); // far from its first block: another piece
    order.insert(persons / 2 + 1, persons / 2); // right after its first block: the same piece
    for &i in &order {
        for line in block {
            push(line, &pnr(i));
        }
    }
    let records = order.len() * block.len();
    push(
        format!("999999999999900{records:06}").as_bytes(),
        "9999999999",
    );
    assert!(
        out.len() > 4 << 16,
        "the file must be split into several pieces"
    );

    let report = check(&out, ExtractOptions::default());
    let dups: Vec<(u64, String)> = report
        .errors
        .iter()
        .map(|e| (e.position.line, e.category.name().to_string()))
        .collect();
    let line_of = |index: usize| (2 + index * block.len()) as u64;
    let mut expected = vec![
        (line_of(persons / 2 + 1), "duplicate-person".to_string()),
        (line_of(order.len() - 1), "duplicate-person".to_string()),
    ];
    expected.sort();
    assert_eq!(dups, expected);
    assert_eq!(report.persons, order.len() as u64);
}
