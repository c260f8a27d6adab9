//! Bad input and misuse: each a clear error, and nothing changed.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{snapshot, write_series};
use cprsift_errors::Categorized;
use cprsift_replica::{
    apply, init, ApplyOptions, ApplyOutcome, InitOptions, Replica, ReplicaError,
};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    series: common::Series,
    dir: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let series = write_series(&root, 41, 150, 3, 30);
    let dir = root.join("replica");
    init(&series.base, &dir, InitOptions::default()).unwrap();
    apply(&dir, &series.days[..1], ApplyOptions::default()).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        series,
        dir,
    }
}

#[test]
fn a_gap_names_both_dates_and_changes_nothing() {
    let f = fixture();
    let before = snapshot(&f.dir);
    let err = apply(&f.dir, &f.series.days[2..3], ApplyOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "sequence-gap");
    let m = err.to_string();
    assert!(
        m.contains("day03.txt")
            && m.contains("2022-05-13")
            && m.contains("2022-05-15")
            && m.contains("2022-05-14"),
        "{m}"
    );
    // A gap anywhere in a batch refuses the whole batch before anything changes.
    let batch = vec![
        f.series.days[1].clone(),
        f.series.days[2].clone(),
        f.root.join("missing.txt"),
    ];
    assert!(apply(&f.dir, &batch, ApplyOptions::default()).is_err());
    let batch = vec![f.series.days[2].clone()];
    assert!(matches!(
        apply(&f.dir, &batch, ApplyOptions::default()),
        Err(ReplicaError::SequenceGap { .. })
    ));
    assert_eq!(snapshot(&f.dir), before);
}

#[test]
fn a_day_applied_twice_is_reported_and_skipped() {
    let f = fixture();
    let before = snapshot(&f.dir);
    let out = apply(&f.dir, &f.series.days[..1], ApplyOptions::default()).unwrap();
    assert!(matches!(out[..], [ApplyOutcome::AlreadyApplied { .. }]));
    assert_eq!(snapshot(&f.dir), before);
}

#[test]
fn an_invalid_change_file_names_file_line_record_and_field() {
    let f = fixture();
    let before = snapshot(&f.dir);
    let mut bytes = std::fs::read(&f.series.days[1]).unwrap();
    // Break 002 KOMKOD (positions 14-17) of the first 002 record.
    let at = bytes.windows(4).position(|w| w == b"\n002").unwrap() + 1;
    bytes[at + 13..at + 17].copy_from_slice(b"1x1 ");
    let bad = f.root.join("bad.txt");
    std::fs::write(&bad, &bytes).unwrap();
    let err = apply(&f.dir, &[bad], ApplyOptions::default()).unwrap_err();
    let line = bytes[..at].iter().filter(|&&c| c == b'\n').count() + 1;
    let m = err.to_string();
    assert_eq!(err.category().name(), "bad-numeric");
    assert!(
        m.contains("bad.txt")
            && m.contains(&format!("line {line}"))
            && m.contains("record 002")
            && m.contains("KOMKOD"),
        "{m}"
    );
    assert!(
        !m.contains(&String::from_utf8_lossy(&bytes[at + 3..at + 13]).into_owned()),
        "a full PNR in {m}"
    );
    // Not an extract at all.
    let junk = f.root.join("junk.txt");
    std::fs::write(&junk, b"hello\n").unwrap();
    let err = apply(&f.dir, &[junk], ApplyOptions::default()).unwrap_err();
    assert!(
        err.category().exit_code() == 1 && err.to_string().contains("junk.txt"),
        "{err}"
    );
    assert_eq!(snapshot(&f.dir), before);
}

#[test]
fn a_directory_that_is_not_a_replica_is_refused_untouched() {
    let f = fixture();
    let empty = f.root.join("empty");
    std::fs::create_dir(&empty).unwrap();
    for dir in [empty.clone(), f.root.join("absent"), f.series.base.clone()] {
        let err = apply(&dir, &f.series.days[..1], ApplyOptions::default()).unwrap_err();
        assert_eq!(err.category().name(), "not-a-replica", "{err}");
        assert!(matches!(
            Replica::open(&dir),
            Err(ReplicaError::NotAReplica { .. })
        ));
        assert!(cprsift_replica::export(&dir, &f.root.join("x.txt")).is_err());
    }
    assert!(std::fs::read_dir(&empty).unwrap().next().is_none());
    assert!(!f.root.join("absent").exists() && !f.root.join("x.txt").exists());
    // A damaged replica: the index cut short.
    let gen = std::fs::read_dir(&f.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let index = gen.join("index.bin");
    let bytes = std::fs::read(&index).unwrap();
    std::fs::write(&index, &bytes[..bytes.len() - 1]).unwrap();
    let err = Replica::open(&f.dir).unwrap_err();
    assert_eq!(err.category().name(), "replica-damaged", "{err}");
}

#[test]
fn init_refuses_invalid_extracts_and_used_directories() {
    let f = fixture();
    // An invalid full extract: nothing is created.
    let mut bytes = std::fs::read(&f.series.base).unwrap();
    let n = bytes.len();
    bytes[n - 3] = b'7'; // 999 TAELLER off
    let bad = f.root.join("badbase.txt");
    std::fs::write(&bad, &bytes).unwrap();
    let target = f.root.join("new-replica");
    let err = init(&bad, &target, InitOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "counter-mismatch", "{err}");
    assert!(!target.exists());
    // Into an existing replica, or a directory with other files.
    let before = snapshot(&f.dir);
    let err = init(&f.series.base, &f.dir, InitOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "not-empty");
    assert_eq!(snapshot(&f.dir), before);
    let other = f.root.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"x").unwrap();
    assert_eq!(
        init(&f.series.base, &other, InitOptions::default())
            .unwrap_err()
            .category()
            .name(),
        "not-empty"
    );
}

#[test]
fn a_second_apply_cannot_run_at_once() {
    use fs2::FileExt;
    let f = fixture();
    let before = snapshot(&f.dir);
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(f.dir.join("LOCK"))
        .unwrap();
    lock.lock_exclusive().unwrap();
    let err = apply(&f.dir, &f.series.days[1..2], ApplyOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "locked", "{err}");
    assert_eq!(snapshot(&f.dir), before);
    lock.unlock().unwrap();
    apply(&f.dir, &f.series.days[1..2], ApplyOptions::default()).unwrap();
}

#[test]
fn files_and_folders_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let out = f.root.join("export.txt");
    cprsift_replica::export(&f.dir, &out).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o600);
    assert_eq!(mode(&f.dir), 0o700);
    for (path, _) in snapshot(&f.dir) {
        assert_eq!(mode(&f.dir.join(&path)), 0o600, "{}", path.display());
    }
}
