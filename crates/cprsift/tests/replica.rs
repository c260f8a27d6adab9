//! `cprsift replica ...` end to end, on the small seeded files in testdata/replica/.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/replica")
        .join(name)
}

fn cprsift(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cprsift"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A replica of base.txt plus day1.txt.
fn replica(tmp: &Path) -> PathBuf {
    let dir = tmp.join("replica");
    let o = cprsift(&[&"replica", &"init", &data("base.txt"), &"--replica", &dir]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("12 persons") && text(&o).contains("30 bytes per person"),
        "{}",
        text(&o)
    );
    let o = cprsift(&[&"replica", &"apply", &data("day1.txt"), &"--replica", &dir]);
    assert!(o.status.success(), "{}", text(&o));
    dir
}

#[test]
fn init_apply_export_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = replica(tmp.path());
    let o = cprsift(&[
        &"replica",
        &"apply",
        &data("day3.txt"),
        &data("day2.txt"),
        &data("day1.txt"),
        &"--replica",
        &dir,
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("already applied") && t.contains("day1.txt"),
        "{t}"
    );
    assert!(t.contains("applied") && t.contains("day3.txt"), "{t}");
    let out = tmp.path().join("export.txt");
    let o = cprsift(&[&"replica", &"export", &"--replica", &dir, &out]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read(&out).unwrap() == std::fs::read(data("expected-export-day3.txt")).unwrap()
    );
    let o = cprsift(&[&"check", &out]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cprsift(&[&"replica", &"status", &"--replica", &dir, &"--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["proddto"], "2022-05-15");
    assert_eq!(v["opgavenr"], "123456");
    assert_eq!(v["generations"], 1);
    assert_eq!(v["extracts_applied"], 4);
    let by_status: u64 = v["persons_by_status"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_status, v["persons"].as_u64().unwrap());
    let o = cprsift(&[&"replica", &"status", &"--replica", &dir]);
    assert!(
        o.status.success() && text(&o).contains("PRODDTO:      2022-05-15"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_gap_is_exit_1_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = replica(tmp.path());
    let before = snapshot(&dir);
    let o = cprsift(&[&"replica", &"apply", &data("day3.txt"), &"--replica", &dir]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("sequence-gap")
            && t.contains("2022-05-13")
            && t.contains("2022-05-15")
            && t.contains("2022-05-14"),
        "{t}"
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn an_invalid_file_is_exit_1_with_its_position_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = replica(tmp.path());
    let before = snapshot(&dir);
    let o = cprsift(&[
        &"replica",
        &"apply",
        &data("day2-invalid.txt"),
        &"--replica",
        &dir,
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("day2-invalid.txt: line 3, byte 143, record 002, field KOMKOD")
            && t.contains("bad-numeric"),
        "{t}"
    );
    assert_eq!(snapshot(&dir), before);
    // The valid day still applies afterwards.
    let o = cprsift(&[&"replica", &"apply", &data("day2.txt"), &"--replica", &dir]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn not_a_replica_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [vec!["apply", "x.txt"], vec!["status"]] {
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"replica"];
        for a in &args {
            all.push(a);
        }
        let path = tmp.path().to_path_buf();
        all.push(&"--replica");
        all.push(&path);
        let o = cprsift(&all);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("not a replica"), "{}", text(&o));
    }
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
    // init of an invalid extract creates nothing.
    let target = tmp.path().join("r");
    let o = cprsift(&[
        &"replica",
        &"init",
        &data("day2-invalid.txt"),
        &"--replica",
        &target,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!target.exists());
}
