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

/// `blake3:<hex>` of a file, computed here independently of cprsift.
fn identity(path: &Path) -> String {
    format!(
        "blake3:{}",
        blake3::hash(&std::fs::read(path).unwrap()).to_hex()
    )
}

/// `file` copied to `to` with `edit` applied to its bytes.
fn edited(file: &Path, to: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(file).unwrap();
    edit(&mut bytes);
    std::fs::write(to, &bytes).unwrap();
    to.to_path_buf()
}

#[test]
fn status_shows_each_extracts_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = replica(tmp.path());
    let o = cprsift(&[&"replica", &"status", &"--replica", &dir, &"--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let history = v["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    for (entry, name) in history.iter().zip(["base.txt", "day1.txt"]) {
        assert_eq!(entry["file"], name);
        assert_eq!(entry["content_id"], identity(&data(name)).as_str());
        assert_eq!(entry["opgavenr"], "123456");
    }
    let o = cprsift(&[&"replica", &"status", &"--replica", &dir]);
    let t = text(&o);
    for name in ["base.txt", "day1.txt"] {
        let short = &identity(&data(name))[..23];
        assert!(t.contains(short) && t.contains(name), "{t}");
    }
}

#[test]
fn a_different_file_for_an_applied_day_is_exit_1_and_changes_nothing() {
    use cprsift_format::layout::fields::r008;
    let tmp = tempfile::tempdir().unwrap();
    let dir = replica(tmp.path());
    let before = snapshot(&dir);
    // Same dates, job number, size and persons as day1.txt; one letter of a name differs.
    let fake = edited(&data("day1.txt"), &tmp.path().join("fake.txt"), |b| {
        let at = b.windows(4).position(|w| w == b"\n008").unwrap() + 1 + r008::FORNVN.start;
        b[at] = if b[at] == b'Q' { b'R' } else { b'Q' };
    });
    assert_eq!(
        std::fs::metadata(&fake).unwrap().len(),
        std::fs::metadata(data("day1.txt")).unwrap().len()
    );
    let o = cprsift(&[&"replica", &"apply", &fake, &"--replica", &dir]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("[different-extract]") && t.contains("fake.txt"),
        "{t}"
    );
    assert_eq!(snapshot(&dir), before);
    let o = cprsift(&[&"replica", &"apply", &data("day1.txt"), &"--replica", &dir]);
    assert!(
        o.status.success() && text(&o).contains("already applied"),
        "{}",
        text(&o)
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn another_job_number_needs_accept_opgavenr() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = replica(tmp.path());
    let before = snapshot(&dir);
    let job = |name: &str| {
        edited(&data(name), &tmp.path().join(format!("job-{name}")), |b| {
            b[13..19].copy_from_slice(b"999999")
        })
    };
    let (day2, day3) = (job("day2.txt"), job("day3.txt"));
    let o = cprsift(&[&"replica", &"apply", &day2, &"--replica", &dir]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("[opgavenr-mismatch]") && t.contains("--accept-opgavenr 999999"),
        "{t}"
    );
    assert_eq!(snapshot(&dir), before);
    for bad in ["99999", "99999x", "1234567"] {
        let o = cprsift(&[
            &"replica",
            &"apply",
            &day2,
            &"--replica",
            &dir,
            &"--accept-opgavenr",
            &bad,
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("[bad-argument]"), "{}", text(&o));
    }
    assert_eq!(snapshot(&dir), before);
    let o = cprsift(&[
        &"replica",
        &"apply",
        &day3,
        &day2,
        &"--replica",
        &dir,
        &"--accept-opgavenr",
        &"999999",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cprsift(&[&"replica", &"status", &"--replica", &dir, &"--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["opgavenr"], "999999");
    assert_eq!(v["proddto"], "2022-05-15");
}

/// How many times the traced process opened a file whose path ends in `name`.
fn opens(trace: &str, name: &str) -> usize {
    let needle = format!("/{name}\"");
    trace
        .lines()
        .filter(|l| l.contains("openat(") && l.contains(&needle))
        .count()
}

/// `cprsift args...` under `strace -f -e trace=openat`; `None` when strace cannot run here.
fn traced(tmp: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Option<(Output, String)> {
    let log = tmp.join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-s", "4096", "-e", "trace=openat", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_cprsift"));
    for a in args {
        cmd.arg(a);
    }
    let o = cmd.output().ok()?;
    let trace = std::fs::read_to_string(&log).ok()?;
    if !trace.contains("openat(") {
        eprintln!("strace did not trace here: {}", text(&o));
        return None;
    }
    Some((o, trace))
}

#[test]
fn each_extract_is_opened_once_per_call() {
    let usable = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        eprintln!("skipped: strace is not available");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("replica");
    let Some((o, trace)) = traced(
        tmp.path(),
        &[&"replica", &"init", &data("base.txt"), &"--replica", &dir],
    ) else {
        eprintln!("skipped: strace cannot trace a process here");
        return;
    };
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(opens(&trace, "base.txt"), 1, "{trace}");
    let (o, trace) = traced(
        tmp.path(),
        &[
            &"replica",
            &"apply",
            &data("day2.txt"),
            &data("day1.txt"),
            &"--replica",
            &dir,
        ],
    )
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for name in ["day1.txt", "day2.txt"] {
        assert_eq!(opens(&trace, name), 1, "{name}: {trace}");
    }
    // A rerun that finds both applied reads each once too.
    let (o, trace) = traced(
        tmp.path(),
        &[
            &"replica",
            &"apply",
            &data("day1.txt"),
            &data("day2.txt"),
            &"--replica",
            &dir,
        ],
    )
    .unwrap();
    assert!(
        o.status.success() && text(&o).contains("already applied"),
        "{}",
        text(&o)
    );
    for name in ["day1.txt", "day2.txt"] {
        assert_eq!(opens(&trace, name), 1, "{name}: {trace}");
    }
}
