//! The one error language, as an operator meets it: every command fails with one line
//! `cprsift: [category] message` on standard error and the exit code of the category's class,
//! no message ever holds a full personal number, and no command panics when standard output is
//! closed or full. The cases are data: testdata/cli/failures.tsv, testdata/cli/pnr-in-toml.txt
//! and testdata/format/cases.tsv.

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cprsift_errors::Category;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn cprsift<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_cprsift"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// True when `s` holds ten digits in a row: a personal number may be among them.
fn ten_digits_in_a_row(s: &str) -> bool {
    s.as_bytes()
        .windows(10)
        .any(|w| w.iter().all(u8::is_ascii_digit))
}

/// Asserts that a failed command said `[category]` on one first line of standard error and
/// exited with the category's code.
fn assert_fails_as(out: &Output, category: Category, what: &str) {
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("cprsift: [{}] ", category.name())),
        "{what}: expected [{category}], got: {stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(i32::from(category.exit_code())),
        "{what}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

/// The fixtures the placeholders of failures.tsv name, made in `root`.
struct Fixtures {
    replica: PathBuf,
    store: PathBuf,
}

fn fixtures(root: &Path) -> Fixtures {
    let data = testdata();
    let replica = root.join("replica");
    let init = cprsift([
        "replica".as_ref(),
        "init".as_ref(),
        data.join("replica/base.txt").as_os_str(),
        "--replica".as_ref(),
        replica.as_os_str(),
    ]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    let store = root.join("store");
    let import = cprsift([
        "subscriptions".as_ref(),
        "import".as_ref(),
        data.join("subscriptions/sample.toml").as_os_str(),
        "--subscriptions".as_ref(),
        store.as_os_str(),
    ]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    Fixtures { replica, store }
}

#[test]
fn every_command_fails_in_one_format_with_its_category_exit_code() {
    let root = tempfile::tempdir().unwrap();
    let f = fixtures(root.path());
    let table = std::fs::read_to_string(testdata().join("cli/failures.tsv")).unwrap();
    let mut rows = 0;
    for (n, line) in table.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (args, category) = line.split_once('\t').unwrap();
        let category: Category = category.trim().parse().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let args: Vec<String> = args
            .split(' ')
            .map(|a| {
                a.replace("{data}", testdata().to_str().unwrap())
                    .replace("{tmp}", tmp.path().to_str().unwrap())
                    .replace("{replica}", f.replica.to_str().unwrap())
                    .replace("{store}", f.store.to_str().unwrap())
            })
            .collect();
        let out = cprsift(&args);
        let what = format!("failures.tsv line {}: {}", n + 1, args.join(" "));
        assert_fails_as(&out, category, &what);
        let stderr = text(&out.stderr);
        assert!(!ten_digits_in_a_row(&stderr), "{what}: {stderr}");
        rows += 1;
    }
    assert!(rows >= 30, "the table has its rows");
}

#[test]
fn check_json_names_each_malformed_case_first_and_the_cases_cover_the_format_table() {
    let cases = std::fs::read_to_string(testdata().join("format/cases.tsv")).unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for line in cases.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (file, category) = (cols.next().unwrap(), cols.next().unwrap());
        let category: Category = category.parse().unwrap();
        let path = testdata().join("format").join(file);
        let out = cprsift(["check".as_ref(), "--json".as_ref(), path.as_os_str()]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["errors"][0]["category"],
            category.name(),
            "{file}: {report}"
        );
        assert_fails_as(&out, category, file);
        covered.insert(category);
    }
    // Every category the extract format itself defines has a hand-made case. Those are the
    // table's rows up to bad-pnr, but for sequence-gap, which needs a replica (failures.tsv).
    let format_rows = Category::ALL
        .iter()
        .take_while(|&&c| c != Category::DifferentExtract)
        .filter(|&&c| c != Category::SequenceGap);
    for c in format_rows {
        assert!(covered.contains(c), "no testdata/format case for {c}");
    }
}

#[test]
fn no_message_echoes_a_personal_number_from_a_subscription_file() {
    let root = tempfile::tempdir().unwrap();
    let f = fixtures(root.path());
    let fields = std::fs::read_to_string(testdata().join("cli/pnr-in-toml.txt")).unwrap();
    for field in fields.lines().filter(|l| !l.starts_with('#')) {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("subs.toml");
        let id = if field.starts_with("id ") {
            ""
        } else {
            "id = \"x\"\n"
        };
        std::fs::write(&file, format!("[[subscriber]]\n{id}{field}\n")).unwrap();
        let store = tmp.path().join("s");
        let outbox = tmp.path().join("o");
        let day = testdata().join("replica/day1.txt");
        for args in [
            vec![
                "subscriptions".as_ref(),
                "import".as_ref(),
                file.as_os_str(),
                "--subscriptions".as_ref(),
                store.as_os_str(),
            ],
            vec![
                "deliver".as_ref(),
                day.as_os_str(),
                "--replica".as_ref(),
                f.replica.as_os_str(),
                "--subscriptions".as_ref(),
                file.as_os_str(),
                "--outbox".as_ref(),
                outbox.as_os_str(),
            ],
        ] {
            let out = cprsift(&args);
            let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(!out.status.success(), "{field}: accepted");
            assert!(!ten_digits_in_a_row(&said), "{field}: {said}");
        }
    }
}

/// Commands whose output an operator pipes: a reader that goes away ends them quietly (exit 0),
/// a full disk fails them with `[io]` (exit 2); none panics.
#[test]
fn closed_pipes_and_full_disks_never_panic() {
    let root = tempfile::tempdir().unwrap();
    let f = fixtures(root.path());
    let valid = testdata().join("format/valid.txt");
    let commands: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["check".as_ref(), valid.as_os_str()],
        vec!["check".as_ref(), "--json".as_ref(), valid.as_os_str()],
        vec!["inspect".as_ref(), valid.as_os_str()],
        vec![
            "subscriptions".as_ref(),
            "export".as_ref(),
            "--subscriptions".as_ref(),
            f.store.as_os_str(),
        ],
        vec![
            "subscriptions".as_ref(),
            "list".as_ref(),
            "--subscriptions".as_ref(),
            f.store.as_os_str(),
        ],
        vec![
            "replica".as_ref(),
            "status".as_ref(),
            "--replica".as_ref(),
            f.replica.as_os_str(),
        ],
        vec![
            "replica".as_ref(),
            "status".as_ref(),
            "--json".as_ref(),
            "--replica".as_ref(),
            f.replica.as_os_str(),
        ],
    ];
    for args in &commands {
        let what = format!("{args:?}");
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let closed = Command::new(env!("CARGO_BIN_EXE_cprsift"))
            .args(args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            closed.status.code(),
            Some(0),
            "{what}: {}",
            text(&closed.stderr)
        );
        assert!(closed.stderr.is_empty(), "{what}: {}", text(&closed.stderr));
        let full = Command::new(env!("CARGO_BIN_EXE_cprsift"))
            .args(args)
            .stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        assert_fails_as(&full, Category::Io, &format!("{what} into /dev/full"));
    }
}
