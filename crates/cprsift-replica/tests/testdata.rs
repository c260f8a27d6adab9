//! The small files in `testdata/replica/` (used by the CLI tests) are exactly what the seeded
//! builder makes. Regenerate them with `CPRSIFT_REGENERATE_TESTDATA=1 cargo test -p
//! cprsift-replica --test testdata`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/replica")
}

/// Name -> bytes of every test file.
fn build() -> Vec<(&'static str, Vec<u8>)> {
    let tmp = tempfile::tempdir().unwrap();
    let series = common::write_series(tmp.path(), 1, 12, 3, 5);
    let read = |p: &PathBuf| std::fs::read(p).unwrap();
    let mut invalid = read(&series.days[1]);
    let at = invalid.windows(4).position(|w| w == b"\n002").unwrap() + 1;
    invalid[at + 13..at + 17].copy_from_slice(b"1x1 ");
    vec![
        ("base.txt", read(&series.base)),
        ("day1.txt", read(&series.days[0])),
        ("day2.txt", read(&series.days[1])),
        ("day3.txt", read(&series.days[2])),
        ("day2-invalid.txt", invalid),
        (
            "expected-export-day3.txt",
            common::reference_after(&series, 3).export(),
        ),
    ]
}

#[test]
fn testdata_is_what_the_builder_makes() {
    let dir = testdata();
    let regenerate = std::env::var_os("CPRSIFT_REGENERATE_TESTDATA").is_some();
    if regenerate {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, bytes) in build() {
        let path = dir.join(name);
        if regenerate {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert!(
            std::fs::read(&path).unwrap() == bytes,
            "{name} is stale: regenerate it"
        );
    }
}
