//! Lenient mode (docs/rules.md §6) with the hand-made broken extracts of `testdata/format/`:
//! a malformed person block is set aside into the reject file and the rest is delivered and
//! applied; errors of the file itself still stop the run; strict mode delivers nothing.

#![allow(clippy::unwrap_used)]

mod common;

use cprsift_errors::Categorized;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use cprsift_nightly::{deliver, DeliverRequest, DeliveryReport, NightlyError};

/// The two persons of `testdata/format/valid.txt` (whose PRODDTOFORRIG is 2022-05-12).
const FIRST: &str = "1503859991";
const SECOND: &str = "2207919998";

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/format")
        .join(name)
}

/// A replica of 2022-05-12 holding both persons in 851, a no-filter subscriber (TOML file).
fn setup(dir: &Path) {
    init_replica(
        dir,
        date(2022, 5, 12),
        &[Person::new(FIRST, 851), Person::new(SECOND, 851)],
    );
    std::fs::write(
        dir.join("subs.toml"),
        "[[subscriber]]\nid = \"all\"\nno_filter = true\n",
    )
    .unwrap();
}

fn request(dir: &Path, extract: &str, lenient: bool, apply: bool) -> DeliverRequest {
    DeliverRequest {
        extract: testdata(extract),
        replica: dir.join("replica"),
        subscriptions: dir.join("subs.toml"),
        outbox: dir.join("outbox"),
        extract_options: Default::default(),
        matching: Default::default(),
        daily: Default::default(),
        apply,
        lenient,
        accept_opgavenr: None,
    }
}

fn run(
    extract: &str,
    lenient: bool,
    apply: bool,
) -> (tempfile::TempDir, Result<DeliveryReport, NightlyError>) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let result = deliver(&request(dir.path(), extract, lenient, apply));
    (dir, result)
}

/// The no-filter subscriber's delivered file.
fn delivered(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("outbox/all/D220513.L110901")).unwrap()
}

/// PNRs of the person blocks in a delivered file, in order.
fn persons_in(file: &[u8]) -> Vec<String> {
    file.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"001"))
        .map(|l| String::from_utf8_lossy(&l[3..13]).into_owned())
        .collect()
}

#[test]
fn strict_mode_delivers_nothing_from_a_broken_extract() {
    let (dir, result) = run("bad-numeric.txt", false, false);
    let e = result.unwrap_err();
    assert_eq!(e.category().exit_code(), 1, "{e}");
    assert_eq!(e.category().name(), "bad-numeric");
    assert!(!dir.path().join("outbox/all").exists());
}

#[test]
fn a_valid_extract_is_the_same_in_both_modes() {
    let (strict_dir, strict) = run("valid.txt", false, false);
    let (lenient_dir, lenient) = run("valid.txt", true, false);
    let (strict, lenient) = (strict.unwrap(), lenient.unwrap());
    assert!(lenient.set_aside.is_empty() && lenient.reject_file.is_none());
    assert_eq!(strict.manifest, lenient.manifest);
    assert_eq!(delivered(strict_dir.path()), delivered(lenient_dir.path()));
    let runs: Vec<_> = std::fs::read_dir(lenient_dir.path().join("outbox/_runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(runs.iter().all(|n| !n.ends_with(".rejected")), "{runs:?}");
}

/// Each block-level case: the file, the category, the line of each error set aside (as in
/// testdata/format/cases.tsv), and the persons still delivered.
const BLOCK_CASES: &[(&str, &str, &[u64], &[&str])] = &[
    ("bad-numeric.txt", "bad-numeric", &[3], &[SECOND]),
    ("bad-date.txt", "bad-date", &[2], &[SECOND]),
    ("bad-date-ts12.txt", "bad-date", &[4], &[SECOND]),
    ("line-too-long.txt", "line-too-long", &[6], &[FIRST]),
    ("bad-pnr.txt", "bad-pnr", &[5], &[FIRST, SECOND]),
    (
        "misplaced-record.txt",
        "misplaced-record",
        &[5],
        &[FIRST, SECOND],
    ),
    (
        "misplaced-003.txt",
        "misplaced-record",
        &[5],
        &[FIRST, SECOND],
    ),
    (
        "unknown-record-type.txt",
        "unknown-record-type",
        &[5],
        &[FIRST, SECOND],
    ),
    (
        "truncated-record.txt",
        "truncated-record",
        &[5],
        &[FIRST, SECOND],
    ),
    (
        "duplicate-person.txt",
        "duplicate-person",
        &[2, 7],
        &[SECOND],
    ),
    (
        "duplicate-adjacent.txt",
        "duplicate-person",
        &[2, 5],
        &[SECOND],
    ),
];

#[test]
fn malformed_blocks_are_set_aside_and_the_rest_is_delivered() {
    let valid = std::fs::read(testdata("valid.txt")).unwrap();
    for &(file, category, lines, kept) in BLOCK_CASES {
        let (dir, result) = run(file, true, false);
        let report = result.unwrap_or_else(|e| panic!("{file}: {e}"));
        let got: Vec<u64> = report.set_aside.iter().map(|s| s.line).collect();
        assert_eq!(got, lines, "{file}");
        for s in &report.set_aside {
            assert!(
                s.category.name() == category || s.category.name() == "duplicate-person",
                "{file}: {s:?}"
            );
            assert!(
                s.reason.contains(&format!("line {}", s.line)),
                "{file}: {s:?}"
            );
            assert!(s.reason.contains(file), "{file}: {s:?}");
        }
        let out = delivered(dir.path());
        assert_eq!(persons_in(&out), kept, "{file}");
        let manifest = report.manifest.as_ref().unwrap();
        assert_eq!(manifest.set_aside, report.set_aside, "{file}");
        // The reject file: private, next to the manifest, every block verbatim with its
        // reason, no full PNR in the reasons.
        let reject = report.reject_file.clone().unwrap();
        assert_eq!(
            reject.parent(),
            report.manifest_path.as_ref().unwrap().parent()
        );
        let mode = std::fs::metadata(&reject).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
        let text = std::fs::read(&reject).unwrap();
        let input = std::fs::read(testdata(file)).unwrap();
        let mut blocks = Vec::new();
        for line in text.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"#") {
                let line = String::from_utf8_lossy(line);
                assert!(
                    !line.contains(FIRST) && !line.contains(SECOND),
                    "{file}: {line}"
                );
                assert!(
                    !line.starts_with("# block")
                        || line.contains(category)
                        || line.contains("duplicate-person"),
                    "{file}: {line}"
                );
            } else {
                blocks.extend_from_slice(line);
            }
        }
        let mut expected = Vec::new();
        for s in &report.set_aside {
            expected.extend_from_slice(&input[s.offset as usize..(s.offset + s.bytes) as usize]);
        }
        assert_eq!(blocks, expected, "{file}: blocks verbatim");
        // Nothing of the valid file's accepted blocks is lost: the delivered file is the valid
        // one's with the set-aside persons' blocks and 003 records removed.
        assert!(out.starts_with(&valid[..36]), "{file}");
    }
}

#[test]
fn errors_of_the_file_itself_still_stop_a_lenient_run() {
    for (file, category) in [
        ("missing-000.txt", "missing-000"),
        ("missing-999.txt", "missing-999"),
        ("counter-mismatch.txt", "counter-mismatch"),
        ("misplaced-000.txt", "misplaced-000"),
        ("record-after-999.txt", "record-after-999"),
        ("bad-date-d8.txt", "bad-date"),
    ] {
        let (dir, result) = run(file, true, true);
        let e = result.unwrap_err();
        assert_eq!(e.category().name(), category, "{file}: {e}");
        assert_eq!(e.category().exit_code(), 1, "{file}");
        assert!(!dir.path().join("outbox/all").exists(), "{file}");
        let replica = cprsift_replica::Replica::open(&dir.path().join("replica")).unwrap();
        assert_eq!(
            replica.proddto(),
            date(2022, 5, 12),
            "{file}: nothing applied"
        );
    }
}

#[test]
fn the_replica_gets_the_accepted_blocks_and_reruns_finish_identically() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let req = request(dir.path(), "bad-numeric.txt", true, true);
    let first = deliver(&req).unwrap();
    assert!(first.applied);
    assert_eq!(first.set_aside.len(), 1);
    let replica = cprsift_replica::Replica::open(&dir.path().join("replica")).unwrap();
    assert_eq!(replica.proddto(), date(2022, 5, 13));
    // The person set aside keeps the state before the day; the other one is updated.
    assert_eq!(replica.lookup(pnr(FIRST)).unwrap().municipality, Some(851));
    assert!(replica.lookup(pnr(SECOND)).is_some());
    let files = delivered(dir.path());
    // A rerun after the apply: already applied, nothing delivered again.
    let again = deliver(&req).unwrap();
    assert_eq!(
        again.outcome,
        cprsift_nightly::DeliveryOutcome::AlreadyApplied
    );
    assert_eq!(delivered(dir.path()), files);
}
