//! `cprsift check` and `cprsift inspect` as an operator runs them: exit codes, the report, JSON
//! with stable categories, masking.

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

use std::path::PathBuf;
use std::process::{Command, Output};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/format")
        .join(name)
}

fn cprsift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cprsift"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn valid_file_exits_0_and_reports_what_it_holds() {
    let out = cprsift(&["check", testdata("valid-cpr-framing.txt").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("terminator CRLF"), "{report}");
    assert!(report.contains("final 0x1A"), "{report}");
    assert!(report.contains("PRODDTO:       2022-05-13"), "{report}");
    assert!(report.contains("TAELLER 7, counted 7"), "{report}");
    assert!(report.contains("persons:       2"), "{report}");
    assert!(report.contains("result:        valid"), "{report}");
    // The content identity: BLAKE3 of the file's bytes.
    let bytes = std::fs::read(testdata("valid-cpr-framing.txt")).unwrap();
    let id = format!("identity:      blake3:{}", blake3::hash(&bytes).to_hex());
    assert!(report.contains(&id), "{report}");
}

#[test]
fn invalid_file_exits_1_with_position_and_category() {
    let file = testdata("bad-numeric.txt");
    let out = cprsift(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(report.contains("line 3, byte"), "{report}");
    assert!(
        report.contains("  [bad-numeric] ")
            && report.contains("record 002, field KOMKOD, person 150385-xxxx: expected"),
        "{report}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("cprsift: [bad-numeric] ")
            && stderr.contains("bad-numeric.txt: line 3, byte ")
            && stderr.contains("record 002, field KOMKOD, person 150385-xxxx"),
        "{stderr}"
    );
    assert!(
        !report.contains("1503859991"),
        "a full PNR was printed: {report}"
    );

    let json = cprsift(&["check", "--json", file.to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["category"], "bad-numeric");
    assert_eq!(v["errors"][0]["field"], "KOMKOD");
    assert_eq!(v["errors"][0]["position"]["line"], 3);
    assert_eq!(v["errors"][0]["person"], "150385-xxxx");
    let id: cprsift_format::ContentId = v["content_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        id.as_bytes(),
        blake3::hash(&std::fs::read(&file).unwrap()).as_bytes()
    );
}

#[test]
fn unreadable_file_exits_2() {
    let out = cprsift(&["check", "/nonexistent/extract.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/extract.txt"));
}

#[test]
fn inspect_prints_one_person_masked_unless_asked() {
    let file = testdata("valid.txt");
    let out = cprsift(&["inspect", file.to_str().unwrap(), "--pnr", "150385-9991"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["record_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["001", "002", "099", "003"]);
    assert_eq!(lines[0]["fields"]["PNR"], "150385-xxxx");
    assert_eq!(lines[0]["fields"]["STILLING"], "Testfører");
    assert_eq!(lines[2]["fields"]["HAENDELSE"], "A01");

    let shown = cprsift(&[
        "inspect",
        file.to_str().unwrap(),
        "--type",
        "001",
        "--show-pnr",
    ]);
    let first: serde_json::Value =
        serde_json::from_str(text(&shown.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["fields"]["PNR"], "1503859991");
    assert_eq!(
        cprsift(&["inspect", file.to_str().unwrap(), "--type", "1"])
            .status
            .code(),
        Some(1),
        "a record type of the wrong form is a bad argument value"
    );
}
