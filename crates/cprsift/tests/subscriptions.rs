//! `cprsift subscriptions ...` end to end with the built binary: answers, exit codes, nothing
//! changed by a refusal, read-only TOML files, bulk reports, the replica's NON_EXISTING_PNR, and
//! no full PNR in any message.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(area: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(area)
        .join(name)
}

fn cprsift(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cprsift"));
    cmd.arg("subscriptions");
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a command that must answer one word with exit 0.
fn word(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let o = cprsift(args);
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert_eq!(o.status.code(), Some(0), "{shown:?}: {}", stderr(&o));
    stdout(&o).trim().to_owned()
}

/// A store imported from testdata/subscriptions/sample.toml.
fn sample_store(tmp: &Path) -> PathBuf {
    let store = tmp.join("store");
    let o = cprsift(&[
        &"import",
        &data("subscriptions", "sample.toml"),
        &"--subscriptions",
        &store,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("imported 5 subscriber(s)"));
    store
}

fn export(path: &Path) -> String {
    let o = cprsift(&[&"export", &"--subscriptions", &path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

fn current(store: &Path) -> PathBuf {
    let pointer = std::fs::read_to_string(store.join("CURRENT")).unwrap();
    PathBuf::from(pointer.trim())
}

#[test]
fn import_export_and_permissions() {
    let tmp = tempfile::tempdir().unwrap();
    let store = sample_store(tmp.path());
    let golden = std::fs::read_to_string(data("subscriptions", "sample.export.toml")).unwrap();
    assert_eq!(export(&store), golden);
    // The TOML file itself is a valid --subscriptions PATH for reading.
    assert_eq!(export(&data("subscriptions", "sample.toml")), golden);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o700);
    let generation = store.join(current(&store));
    assert_eq!(mode(&generation), 0o700);
    for f in std::fs::read_dir(&generation).unwrap() {
        assert_eq!(mode(&f.unwrap().path()), 0o600);
    }
    // export --output writes a private file; re-importing it gives the same store content.
    let out = tmp.path().join("out.toml");
    let o = cprsift(&[&"export", &"--subscriptions", &store, &"--output", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&out), 0o600);
    let second = tmp.path().join("second");
    assert_eq!(
        cprsift(&[&"import", &out, &"--subscriptions", &second])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(export(&second), golden);
    // Importing over an existing store replaces its content; a file without subscribers does
    // so only when --allow-empty says it is meant.
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let refused = cprsift(&[&"import", &empty, &"--subscriptions", &store]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).starts_with("cprsift: [empty-import] "),
        "{}",
        stderr(&refused)
    );
    assert_eq!(export(&store), golden, "the store is unchanged");
    assert_eq!(
        cprsift(&[
            &"import",
            &empty,
            &"--subscriptions",
            &store,
            &"--allow-empty"
        ])
        .status
        .code(),
        Some(0)
    );
    assert_eq!(export(&store), "");
}

#[test]
fn every_operation_answers_the_service_word() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sample_store(tmp.path());
    let sub: &[&dyn AsRef<std::ffi::OsStr>] = &[&"--subscriptions", &s, &"--subscriber", &"new"];
    let run = |op: &str, rest: &[&str]| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&op];
        args.extend_from_slice(sub);
        for r in rest {
            args.push(r);
        }
        word(&args)
    };
    assert_eq!(run("remove-pnr", &["0101651234"]), "NON_EXISTING");
    assert_eq!(run("add-pnr", &["0101651234"]), "ADDED");
    assert_eq!(run("add-pnr", &["010165-1234"]), "ALREADY_EXISTED");
    assert_eq!(run("remove-pnr", &["0101651234"]), "REMOVED");
    assert_eq!(
        run("add-age-range", &["--start", "0", "--end", "17"]),
        "ADDED"
    );
    assert_eq!(
        run("add-age-range", &["--start", "0", "--end", "17"]),
        "ALREADY_EXISTED"
    );
    assert_eq!(
        run("remove-age-range", &["--start", "0", "--end", "18"]),
        "NON_EXISTING"
    );
    assert_eq!(
        run("remove-age-range", &["--start", "0", "--end", "17"]),
        "REMOVED"
    );
    assert_eq!(run("add-municipality-code", &["101"]), "ADDED");
    assert_eq!(run("add-municipality-code", &["0101"]), "ALREADY_EXISTED");
    assert_eq!(run("remove-municipality-code", &["0101"]), "REMOVED");
    assert_eq!(run("remove-municipality-code", &["101"]), "NON_EXISTING");
    assert_eq!(run("add-change-code", &["A01"]), "ADDED");
    assert_eq!(run("add-change-code", &["A01"]), "ALREADY_EXISTED");
    assert_eq!(run("remove-change-code", &["A01"]), "REMOVED");
    assert_eq!(run("remove-change-code", &["A01"]), "NON_EXISTING");
    assert_eq!(run("add-municipality-code", &["851"]), "ADDED");
    assert_eq!(
        run("remove-all", &["--group", "MunicipalityCode"]),
        "REMOVED"
    );
    assert_eq!(
        run("remove-all", &["--group", "MunicipalityCode"]),
        "NON_EXISTING"
    );
    assert_eq!(run("set-no-filter", &["on"]), "ADDED");
    assert_eq!(run("set-no-filter", &["off"]), "REMOVED");
    // The service's own names work too.
    assert_eq!(run("AddPNRSubscription", &["0202651234"]), "ADDED");
    assert_eq!(run("delete", &[]), "REMOVED");
    assert_eq!(run("delete", &[]), "NON_EXISTING");
    assert_eq!(run("create", &[]), "ADDED");
    assert_eq!(run("create", &[]), "ALREADY_EXISTED");

    let o = cprsift(&[
        &"get-all-filters",
        &"--subscriptions",
        &s,
        &"--subscriber",
        &"pnr-only",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pnr_count"], 4);
    assert_eq!(v["pnr"][0], "010165-xxxx");
    assert_eq!(v["change_code"][0], "B02");
    assert!(!stdout(&o).contains("0101651234"));
    let o = cprsift(&[
        &"get-all-filters",
        &"--subscriptions",
        &s,
        &"--subscriber",
        &"K0706.aarhus",
        &"--unmasked",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["municipality"],
        serde_json::json!(["0101", "0706", "0751"])
    );
    assert_eq!(v["age"], serde_json::json!([[18, 29], [65, 999]]));
}

#[test]
fn invalid_values_exit_1_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sample_store(tmp.path());
    let before = (export(&s), current(&s));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["add-pnr", "3213651234"], "invalid pnr \"321365-xxxx\""),
        (
            vec!["add-pnr", "01016512345"],
            "invalid pnr \"010165-xxxx\"",
        ),
        (vec!["add-pnr", "010165123"], "invalid pnr"),
        (
            vec!["add-age-range", "--start", "18", "--end", "17"],
            "after its end",
        ),
        (
            vec!["add-age-range", "--start", "-1", "--end", "17"],
            "0-999",
        ),
        (
            vec!["add-age-range", "--start", "0", "--end", "1000"],
            "0-999",
        ),
        (
            vec!["add-municipality-code", "0"],
            "invalid municipality \"0\"",
        ),
        (vec!["add-municipality-code", "1000"], "1-999"),
        (
            vec!["add-change-code", "a01"],
            "invalid change_code \"a01\"",
        ),
        (
            vec!["remove-all", "--group", "Everything"],
            "invalid group \"Everything\"",
        ),
        (vec!["set-no-filter", "maybe"], "invalid no_filter"),
    ];
    for (args, message) in cases {
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&args[0]];
        all.extend([
            &"--subscriptions" as &dyn AsRef<_>,
            &s,
            &"--subscriber",
            &"sub-1",
        ]);
        for a in &args[1..] {
            all.push(a);
        }
        let o = cprsift(&all);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("subscriber \"sub-1\""), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(
            !err.contains("3213651234") && !err.contains("01016512345"),
            "{err}"
        );
        assert_eq!(
            (export(&s), current(&s)),
            before,
            "{args:?} changed the store"
        );
    }
    let o = cprsift(&[
        &"add-pnr",
        &"--subscriptions",
        &s,
        &"--subscriber",
        &"../up",
        &"0101651234",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid id \"../up\""),
        "{}",
        stderr(&o)
    );
    let o = cprsift(&[
        &"get-all-filters",
        &"--subscriptions",
        &s,
        &"--subscriber",
        &"nobody",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no subscriber \"nobody\""));
    // A bad TOML file is exit 1 with its line, and creates no store.
    let bad = tmp.path().join("bad");
    let o = cprsift(&[
        &"import",
        &data("subscriptions", "bad-pnr.toml"),
        &"--subscriptions",
        &bad,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bad-pnr.toml:7:22: subscriber \"s2\""),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists());
    assert_eq!((export(&s), current(&s)), before);
}

#[test]
fn toml_files_are_read_only_and_missing_stores_are_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("subs.toml");
    std::fs::copy(data("subscriptions", "sample.toml"), &file).unwrap();
    let before = std::fs::read(&file).unwrap();
    let o = cprsift(&[
        &"add-pnr",
        &"--subscriptions",
        &file,
        &"--subscriber",
        &"x",
        &"0101651234",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("read only"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing written beside it"
    );
    let o = cprsift(&[
        &"get-all-filters",
        &"--subscriptions",
        &file,
        &"--subscriber",
        &"all-of-it",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let missing = tmp.path().join("missing");
    let o = cprsift(&[
        &"add-pnr",
        &"--subscriptions",
        &missing,
        &"--subscriber",
        &"x",
        &"0101651234",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!missing.exists());
    let o = cprsift(&[&"export", &"--subscriptions", &tmp.path()]);
    assert_eq!(o.status.code(), Some(2), "a folder that is no store");
    assert!(
        stderr(&o).contains("not a subscription store"),
        "{}",
        stderr(&o)
    );
}

fn report(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn bulk_add_remove_sync_report_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sample_store(tmp.path());
    let list = data("subscriptions", "pnr-list.txt");
    let bad = data("subscriptions", "pnr-list-bad.txt");
    let target: [&dyn AsRef<std::ffi::OsStr>; 4] =
        [&"--subscriptions", &s, &"--subscriber", &"pnr-only"];
    let bulk = |op: &str, file: &Path, extra: &[&str]| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&op];
        args.extend_from_slice(&target);
        args.push(&"--file");
        args.push(&file);
        for e in extra {
            args.push(e);
        }
        cprsift(&args)
    };
    // pnr-only holds 0101651234, 1503859991, 2902004321, 3112999999; the list holds
    // 0101651234, 0202651234, 0101651234 (dash form) and 1503859991.
    let r = report(&bulk("sync-pnr", &list, &[]));
    assert_eq!(
        (&r["added"], &r["already_existed"], &r["removed"]),
        (&1.into(), &3.into(), &2.into())
    );
    let r = report(&bulk("bulk-remove-pnr", &list, &[]));
    assert_eq!((&r["removed"], &r["non_existing"]), (&3.into(), &1.into()));
    let r = report(&bulk("bulk-add-pnr", &list, &[]));
    assert_eq!((&r["added"], &r["already_existed"]), (&3.into(), &1.into()));
    let before = (export(&s), current(&s));
    for op in ["bulk-add-pnr", "bulk-remove-pnr", "sync-pnr"] {
        let o = bulk(op, &bad, &[]);
        assert_eq!(o.status.code(), Some(1), "{op}");
        let err = stderr(&o);
        assert!(err.contains("2 invalid line(s): line 2"), "{err}");
        assert!(err.contains("line 3: \"321365-xxxx\""), "{err}");
        assert!(!err.contains("3213651234"), "{err}");
        assert_eq!((export(&s), current(&s)), before, "{op} changed the store");
    }
    let o = bulk("sync-pnr", &bad, &["--skip-invalid"]);
    assert_eq!(o.status.code(), Some(2), "sync has no --skip-invalid");
    let r = report(&bulk("bulk-remove-pnr", &bad, &["--skip-invalid"]));
    assert_eq!(r["removed"], 2);
    assert_eq!(r["rejected"][0]["line"], 2);
    assert_eq!(r["rejected"][1]["value"], "321365-xxxx");
    let o = bulk("bulk-add-pnr", &tmp.path().join("nope.txt"), &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_replica_answers_non_existing_pnr() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sample_store(tmp.path());
    let replica = tmp.path().join("replica");
    let o = Command::new(env!("CARGO_BIN_EXE_cprsift"))
        .args(["replica", "init"])
        .arg(data("replica", "base.txt"))
        .arg("--replica")
        .arg(&replica)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let add = |pnr: &str| {
        word(&[
            &"add-pnr",
            &"--subscriptions",
            &s,
            &"--subscriber",
            &"r",
            &pnr,
            &"--replica",
            &replica,
        ])
    };
    // 2901320009 is the first person of base.txt; 0101651234 is not in it.
    assert_eq!(add("0101651234"), "NON_EXISTING_PNR");
    assert!(
        !export(&s).contains("id = \"r\""),
        "no subscriber created by a refused add"
    );
    assert_eq!(add("2901320009"), "ADDED");
    assert_eq!(add("2901320009"), "ALREADY_EXISTED");
    let list = tmp.path().join("list.txt");
    std::fs::write(&list, "2901320009\n2804230014\n0101651234\n").unwrap();
    let r = report(&cprsift(&[
        &"bulk-add-pnr",
        &"--subscriptions",
        &s,
        &"--subscriber",
        &"r",
        &"--file",
        &list,
        &"--replica",
        &replica,
    ]));
    assert_eq!(
        (&r["added"], &r["already_existed"], &r["non_existing_pnr"]),
        (&1.into(), &1.into(), &1.into())
    );
    let o = cprsift(&[
        &"add-pnr",
        &"--subscriptions",
        &s,
        &"--subscriber",
        &"r",
        &"0101651234",
        &"--replica",
        &tmp.path().join("no-replica"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
