//! One identity per extract: "already delivered" and "already applied" mean the same content
//! (the BLAKE3 of the file), not the same dates, size and person count; another file claiming a
//! day already delivered or applied is refused before anything is written; a change extract of
//! another job number is refused unless the run accepts it on purpose.

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use cprsift_errors::{Categorized, Category};
use cprsift_format::write::Terminator;
use cprsift_nightly::{deliver, DeliveryOutcome};

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    out
}

/// `day` with one person's municipality changed (0851 -> 0852): another extract with the same
/// 000 record, size and person count.
fn lookalike(day: &Path) -> PathBuf {
    let bytes = std::fs::read(day).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("0020303803456") && l[13..17] == *"0851")
        .unwrap();
    let changed = format!("{}0852{}", &line[..13], &line[17..]);
    let other = text.replacen(line, &changed, 1);
    assert_eq!(other.len(), text.len());
    let path = day.with_file_name("lookalike.txt");
    std::fs::write(&path, other).unwrap();
    path
}

/// The day after `nightly_setup`'s, with job number `opgavenr`.
fn next_day(dir: &Path, opgavenr: &str) -> PathBuf {
    let mut bytes = extract_bytes(
        date(2024, 3, 2),
        Some(date(2024, 3, 1)),
        &[Person::new("0303803456", 101)],
        &[0],
        Terminator::Lf,
        false,
    );
    // 000: type (3), a 10-byte sort field, then OPGAVENR (6).
    bytes[13..19].copy_from_slice(opgavenr.as_bytes());
    let path = dir.join(format!("next-{opgavenr}.txt"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn another_file_claiming_a_delivered_day_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let day = nightly_setup(dir.path());
    let first = deliver(&nightly_request(dir.path(), &day, false)).unwrap();
    assert_eq!(first.outcome, DeliveryOutcome::Delivered);
    let other = lookalike(&day);
    let before = snapshot(dir.path());

    let e = deliver(&nightly_request(dir.path(), &other, false)).unwrap_err();
    assert_eq!(e.category(), Category::DifferentExtract, "{e}");
    assert_eq!(e.category().exit_code(), 1);
    assert!(e.to_string().contains("blake3:"), "{e}");
    let mut after = snapshot(dir.path());
    after.retain(|p, _| !p.ends_with("LOCK"));
    let mut expected = before.clone();
    expected.retain(|p, _| !p.ends_with("LOCK"));
    assert_eq!(after, expected, "nothing written, nothing moved");

    // The real file is still the one delivered; applying it records its identity.
    let rerun = deliver(&nightly_request(dir.path(), &day, true)).unwrap();
    assert_eq!(rerun.outcome, DeliveryOutcome::AlreadyDelivered);
    assert!(rerun.applied);
    assert_eq!(rerun.extract_id, first.extract_id);

    // Now the replica holds the day: the lookalike is refused by the replica's history too,
    // and the replica is unchanged.
    let replica_before = snapshot(&dir.path().join("replica"));
    let e = deliver(&nightly_request(dir.path(), &other, true)).unwrap_err();
    assert_eq!(e.category(), Category::DifferentExtract, "{e}");
    assert_eq!(snapshot(&dir.path().join("replica")), replica_before);
    let again = deliver(&nightly_request(dir.path(), &day, true)).unwrap();
    assert_eq!(again.outcome, DeliveryOutcome::AlreadyApplied);
}

#[test]
fn another_job_number_is_refused_unless_accepted_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let day = nightly_setup(dir.path());
    // The first change extract after the full one sets the daily job number (110901).
    deliver(&nightly_request(dir.path(), &day, true)).unwrap();
    let other_job = next_day(dir.path(), "222222");
    let replica_before = snapshot(&dir.path().join("replica"));
    let e = deliver(&nightly_request(dir.path(), &other_job, true)).unwrap_err();
    assert_eq!(e.category(), Category::OpgavenrMismatch, "{e}");
    assert_eq!(e.category().exit_code(), 1);
    assert!(!dir.path().join("outbox/k101/D240302.L222222").exists());
    assert_eq!(snapshot(&dir.path().join("replica")), replica_before);

    let mut accepted = nightly_request(dir.path(), &other_job, true);
    accepted.accept_opgavenr = Some(*b"222222");
    let report = deliver(&accepted).unwrap();
    assert_eq!(report.outcome, DeliveryOutcome::Delivered);
    assert!(report.applied);
    assert!(dir.path().join("outbox/k101/D240302.L222222").exists());
}
