//! Replays every input the fuzzers ever found (`testdata/fuzz/<target>/`) through the same
//! entry points as the fuzz targets, plus every hand-made case, as ordinary tests.

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

use std::path::PathBuf;

use cprsift_format::fuzz_entry;

fn inputs(folder: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

#[test]
fn committed_fuzz_inputs_replay_cleanly() {
    for target in ["framing", "extract"] {
        for (path, bytes) in inputs(&format!("fuzz/{target}")) {
            eprintln!("replaying {}", path.display());
            fuzz_entry::framing(&bytes);
            fuzz_entry::extract(&bytes);
        }
    }
}

#[test]
fn hand_made_cases_replay_cleanly() {
    let cases = inputs("format");
    assert!(cases.len() > 10);
    for (_, bytes) in cases {
        fuzz_entry::framing(&bytes);
        fuzz_entry::extract(&bytes);
    }
}
