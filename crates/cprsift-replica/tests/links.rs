//! A link planted at any name the replica's writers use (the folder itself, CURRENT, LOCK, the
//! next generation's folder, the next segment, temporary names, an export's target) is refused
//! (`unsafe-path`) or harmlessly removed, and nothing outside the replica changes.
#![allow(clippy::unwrap_used)]

mod common;

use cprsift_errors::Categorized;
use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use common::{exported, reference_after, write_series};
use cprsift_replica::{apply, export, init, ApplyOptions, InitOptions};

/// Every entry under `dir`: mode and bytes (`None` for a folder).
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u32, Option<Vec<u8>>)> {
    let mut out = BTreeMap::new();
    out.insert(
        PathBuf::new(),
        (dir.metadata().unwrap().mode() & 0o7777, None),
    );
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let bytes = meta.is_file().then(|| std::fs::read(&p).unwrap());
        out.insert(
            p.strip_prefix(dir).unwrap().into(),
            (meta.mode() & 0o7777, bytes),
        );
    }
    out
}

/// The outside folder links point at: a file and a folder.
fn sentinel(root: &Path) -> PathBuf {
    let dir = root.join("outside");
    std::fs::create_dir_all(dir.join("folder")).unwrap();
    std::fs::write(dir.join("sentinel"), b"precious bytes\n").unwrap();
    dir
}

/// (name in the replica folder, whether an apply refuses it; else its clean-up removes it)
const APPLY_CASES: &[(&str, bool)] = &[
    ("CURRENT", true),
    ("LOCK", true),
    ("gen-000000000003", false),
    ("seg-000000000003.dat", false),
    (".CURRENT.tmp-0123456789abcdef", false),
    (".seg-000000000003.dat.tmp-0123456789abcdef", false),
    (".gen-000000000003.tmp-0123456789abcdef", false),
    // Older versions' temporary names.
    ("CURRENT.tmp", false),
    ("gen-000000000003.tmp", false),
];

#[test]
fn a_link_at_a_name_apply_uses_is_refused_or_removed() {
    for &(name, refused) in APPLY_CASES {
        for target in ["sentinel", "folder"] {
            let tmp = tempfile::tempdir().unwrap();
            let series = write_series(tmp.path(), 51, 60, 2, 20);
            let dir = tmp.path().join("replica");
            init(&series.base, &dir, InitOptions::default()).unwrap();
            apply(&dir, &series.days[..1], ApplyOptions::default()).unwrap();
            let outside = sentinel(tmp.path());
            let before = tree(&outside);
            let at = dir.join(name);
            if at.exists() || at.is_symlink() {
                std::fs::remove_file(&at).unwrap();
            }
            symlink(outside.join(target), &at).unwrap();
            let case = format!("a link at {name} to the {target}");
            let result = apply(&dir, &series.days[1..], ApplyOptions::default());
            if refused {
                let e = result.unwrap_err();
                assert_eq!(e.category().name(), "unsafe-path", "{case}: {e}");
                assert_eq!(e.category().exit_code(), 2);
                assert!(e.to_string().contains(name), "{case}: {e}");
            } else {
                result.unwrap_or_else(|e| panic!("{case}: {e}"));
                assert_eq!(
                    exported(&dir),
                    reference_after(&series, 2).export(),
                    "{case}"
                );
                assert!(!at.is_symlink(), "{case}: the link was not removed");
            }
            assert_eq!(tree(&outside), before, "{case}: something outside changed");
        }
    }
}

#[test]
fn a_linked_replica_folder_or_export_target_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 52, 40, 1, 10);
    let outside = sentinel(tmp.path());
    let before = tree(&outside);
    // init and apply into a replica folder that is a link.
    let linked = tmp.path().join("linked");
    symlink(outside.join("folder"), &linked).unwrap();
    let e = init(&series.base, &linked, InitOptions::default()).unwrap_err();
    assert_eq!(e.category().name(), "unsafe-path", "{e}");
    let dir = tmp.path().join("replica");
    init(&series.base, &dir, InitOptions::default()).unwrap();
    std::fs::remove_file(&linked).unwrap();
    symlink(&dir, &linked).unwrap();
    let e = apply(&linked, &series.days, ApplyOptions::default()).unwrap_err();
    assert_eq!(e.category().name(), "unsafe-path", "{e}");
    // An export over a link (to a file, to a folder) is refused; its folder may be a link.
    for target in ["sentinel", "folder"] {
        let out = tmp.path().join(format!("export-{target}.txt"));
        symlink(outside.join(target), &out).unwrap();
        let e = export(&dir, &out).unwrap_err();
        assert_eq!(e.category().name(), "unsafe-path", "{e}");
    }
    let via_link = tmp.path().join("via");
    symlink(tmp.path(), &via_link).unwrap();
    export(&dir, &via_link.join("export.txt")).unwrap();
    assert_eq!(tree(&outside), before, "something outside changed");
    // A generation folder that is a link: the replica is not read through it.
    let gen = dir.join("gen-000000000001");
    std::fs::rename(&gen, tmp.path().join("moved")).unwrap();
    symlink(tmp.path().join("moved"), &gen).unwrap();
    let e = cprsift_replica::Replica::open(&dir).unwrap_err();
    assert_eq!(e.category().name(), "unsafe-path", "{e}");
}
