//! `cprsift deliver` and `cprsift initial-load` end to end: a replica built with
//! `cprsift replica init`, subscribers in a TOML file, files in an outbox.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn cprsift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cprsift"))
        .args(args)
        .output()
        .unwrap()
}

/// An extract in CPR's trimmed-line framing: per person 001, 002 (KOMKOD), 099 A01, and a 003.
fn extract(proddto: &str, forrig: &str, persons: &[(&str, &str)]) -> String {
    let mut lines = vec![format!("0000000000000110901{proddto}{forrig}")];
    for (pnr, komkod) in persons {
        lines.push(format!("001{pnr}          01"));
        lines.push(format!("002{pnr}{komkod}"));
        lines.push(format!("099{pnr}200111190000A01"));
    }
    for (pnr, _) in persons {
        lines.push(format!("003{pnr}"));
    }
    lines.push(format!("9999999999999{:08}", persons.len() * 4));
    lines.join("\n") + "\n"
}

const TOML: &str = r#"
[[subscriber]]
id = "k101"
municipality = [101]

[[subscriber]]
id = "all"
no_filter = true

[[subscriber]]
id = "nobody"
"#;

fn setup(dir: &Path) {
    std::fs::write(
        dir.join("full.txt"),
        extract(
            "20240229",
            "00000000",
            &[("0101801234", "0101"), ("0303803456", "0851")],
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("day.txt"),
        extract("20240301", "20240229", &[("0303803456", "0101")]),
    )
    .unwrap();
    std::fs::write(dir.join("subs.toml"), TOML).unwrap();
    let out = cprsift(&[
        "replica",
        "init",
        dir.join("full.txt").to_str().unwrap(),
        "--replica",
        dir.join("replica").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn deliver(dir: &Path, extract: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "deliver".to_string(),
        dir.join(extract).display().to_string(),
        "--replica".into(),
        dir.join("replica").display().to_string(),
        "--subscriptions".into(),
        dir.join("subs.toml").display().to_string(),
        "--outbox".into(),
        dir.join("outbox").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cprsift(&args)
}

#[test]
fn deliver_writes_every_subscriber_then_applies_then_refuses_to_redeliver() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let out = deliver(dir.path(), "day.txt", &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "delivered");
    let file = |id: &str| {
        std::fs::read(dir.path().join("outbox").join(id).join("D240301.L110901")).unwrap()
    };
    let k101 = file("k101");
    assert_eq!(
        k101.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        6
    );
    assert_eq!(file("nobody").len(), 36 + 22); // 000 + 999, TAELLER 0
    assert!(file("nobody").ends_with(b"999999999999900000000\n"));
    // Rerun: a complete manifest means done; with --apply the replica moves on.
    let again = deliver(dir.path(), "day.txt", &["--apply"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("already delivered"));
    assert_eq!(file("k101"), k101);
    let third = deliver(dir.path(), "day.txt", &[]);
    assert!(third.status.success());
    assert!(String::from_utf8_lossy(&third.stdout).contains("already applied"));
}

#[test]
fn lenient_sets_a_malformed_block_aside_and_delivers_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    // The first person's 002 KOMKOD is not numeric.
    let day = extract(
        "20240301",
        "20240229",
        &[("0101801234", "01X1"), ("0303803456", "0101")],
    );
    std::fs::write(dir.path().join("bad.txt"), day).unwrap();
    let strict = deliver(dir.path(), "bad.txt", &[]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("bad-numeric"));
    assert!(!dir.path().join("outbox/all").exists());
    let out = deliver(dir.path(), "bad.txt", &["--lenient", "--apply"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("set aside: 1 malformed person block(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[bad-numeric]") && stdout.contains("010180-xxxx"),
        "{stdout}"
    );
    assert!(!stdout.contains("0101801234"), "{stdout}");
    let all = std::fs::read(dir.path().join("outbox/all/D240301.L110901")).unwrap();
    assert!(!all.windows(10).any(|w| w == b"0101801234"));
    assert!(all.windows(10).any(|w| w == b"0303803456"));
    let reject = dir.path().join("outbox/_runs/D20240301.L110901.rejected");
    let text = std::fs::read(&reject).unwrap();
    let block = b"0010101801234          01\n002010180123401X1\n0990101801234200111190000A01\n";
    assert!(
        text.windows(block.len()).any(|w| w == block),
        "block verbatim"
    );
    let status = cprsift(&[
        "replica",
        "status",
        "--replica",
        dir.path().join("replica").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("2024-03-01"));
}

#[test]
fn a_gap_or_an_invalid_extract_delivers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    std::fs::write(
        dir.path().join("gap.txt"),
        extract("20240310", "20240309", &[("0303803456", "0101")]),
    )
    .unwrap();
    let out = deliver(dir.path(), "gap.txt", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sequence-gap"));
    assert!(!dir.path().join("outbox").exists());
    let bad = extract("20240301", "20240229", &[("0303803456", "0101")])
        .replace("900000004", "900000009");
    std::fs::write(dir.path().join("bad.txt"), bad).unwrap();
    let out = deliver(dir.path(), "bad.txt", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("counter-mismatch"));
    assert!(!dir.path().join("outbox").exists());
}

#[test]
fn initial_load_writes_shards_and_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let out = cprsift(&[
        "initial-load",
        "--replica",
        dir.path().join("replica").to_str().unwrap(),
        "--subscriptions",
        dir.path().join("subs.toml").to_str().unwrap(),
        "--subscriber",
        "all",
        "--subscriber",
        "k101",
        "--outbox",
        dir.path().join("outbox").to_str().unwrap(),
        "--shard-size",
        "800",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<String> = report["manifest"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "all/I240229.L110901.001",
            "all/I240229.L110901.002",
            "k101/I240229.L110901.001"
        ]
    );
    for f in &files {
        let bytes = std::fs::read(dir.path().join("outbox").join(f)).unwrap();
        assert!(bytes.len() <= 800);
        let check = cprsift(&["check", dir.path().join("outbox").join(f).to_str().unwrap()]);
        assert!(
            check.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
    let unknown = cprsift(&[
        "initial-load",
        "--replica",
        dir.path().join("replica").to_str().unwrap(),
        "--subscriptions",
        dir.path().join("subs.toml").to_str().unwrap(),
        "--subscriber",
        "ghost",
        "--outbox",
        dir.path().join("outbox2").to_str().unwrap(),
    ]);
    assert_eq!(unknown.status.code(), Some(1), "a subscriber id is input");
    assert!(String::from_utf8_lossy(&unknown.stderr).starts_with("cprsift: [unknown-subscriber] "));
}

/// The nightly run maps and reads its extract once: delivering and applying (in strict and in
/// lenient mode) open the file one time. Counted with strace where the machine has it.
#[test]
fn the_nightly_run_opens_its_extract_once() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("not checked: strace is not installed (the open count of deliver --apply)");
        return;
    }
    for lenient in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let log = dir.path().join("strace.log");
        let mut args = vec![
            "-f".to_string(),
            "-e".into(),
            "trace=open,openat,openat2".into(),
            "-o".into(),
            log.display().to_string(),
            env!("CARGO_BIN_EXE_cprsift").into(),
            "deliver".into(),
            dir.path().join("day.txt").display().to_string(),
            "--replica".into(),
            dir.path().join("replica").display().to_string(),
            "--subscriptions".into(),
            dir.path().join("subs.toml").display().to_string(),
            "--outbox".into(),
            dir.path().join("outbox").display().to_string(),
            "--apply".into(),
        ];
        if lenient {
            args.push("--lenient".into());
        }
        let out = Command::new("strace").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let trace = std::fs::read_to_string(&log).unwrap();
        let opens = trace.lines().filter(|l| l.contains("day.txt\"")).count();
        assert_eq!(
            opens, 1,
            "lenient {lenient}: the extract was opened {opens} times:\n{trace}"
        );
    }
}
