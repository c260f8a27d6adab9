//! The generational store: commit, clean-up, the older `current` symlink form, planted links at
//! its names, and a crash at every named step followed by a rerun.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::{mode, umask_000, Sentinel};
use cprsift_errors::Category;
use cprsift_io::error::{category, unsafe_path, Unsafe};
use cprsift_io::failpoint::{self, Failpoint, Step, STEPS};
use cprsift_io::generations::{Claim, Generations};
use cprsift_io::AtomicFile;

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

/// The user's files in the root: `blob-<content>` is referenced by the generation whose
/// `data` names it (as the replica's segments are by its manifest).
fn claim_for(data: Option<String>) -> impl Fn(&str) -> Claim {
    move |name: &str| match name.strip_prefix("blob-") {
        Some(_) if data.as_deref() == Some(name) => Claim::Keep,
        Some(_) => Claim::Remove,
        None => Claim::Foreign,
    }
}

/// What the store holds: the current generation's `data` file.
fn read(root: &Path) -> Option<String> {
    let gens = Generations::open(root).unwrap();
    let current = gens.current().unwrap()?;
    let bytes = gens.folder(&current).unwrap().read("data").unwrap();
    Some(String::from_utf8(bytes).unwrap())
}

/// One writing operation: under the lock, clean up, write a generation holding `content` (and
/// a file `blob-<content>` beside it), commit, clean up.
fn write(root: &Path, content: &str) -> std::io::Result<u64> {
    let (gens, _) = Generations::create_private(root)?;
    let writer = gens.lock()?;
    writer.clean(&claim_for(read_quiet(&gens)))?;
    let new = writer.begin()?;
    let blob = format!("blob-{content}");
    let mut f = AtomicFile::create(new.root(), &blob)?;
    f.write_all(content.as_bytes())?;
    f.commit()?;
    let mut f = AtomicFile::create(new.folder(), "data")?;
    f.write_all(blob.as_bytes())?;
    f.commit()?;
    let number = new.number();
    new.commit()?;
    writer.clean(&claim_for(Some(blob)))?;
    Ok(number)
}

fn read_quiet(gens: &Generations) -> Option<String> {
    let current = gens.current().ok()??;
    let bytes = gens.folder(&current).ok()?.read("data").ok()?;
    String::from_utf8(bytes).ok()
}

#[test]
fn commits_switch_generations_and_clean_up() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    assert_eq!(write(&root, "one").unwrap(), 1);
    assert_eq!(read(&root).as_deref(), Some("blob-one"));
    std::fs::write(root.join("notes.txt"), b"the operator's").unwrap();
    assert_eq!(write(&root, "two").unwrap(), 2);
    assert_eq!(
        std::fs::read_to_string(root.join("CURRENT")).unwrap(),
        "gen-000000000002\n"
    );
    assert_eq!(
        names(&root),
        vec![
            "CURRENT",
            "LOCK",
            "blob-two",
            "gen-000000000002",
            "notes.txt"
        ]
    );
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("gen-000000000002")), 0o700);
    for f in ["CURRENT", "LOCK", "blob-two", "gen-000000000002/data"] {
        assert_eq!(mode(&root.join(f)), 0o600, "{f}");
    }
}

#[test]
fn the_older_symlink_form_is_read_and_replaced_on_the_next_commit() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    std::fs::create_dir(&root).unwrap();
    for g in ["gen-00000006", "gen-00000007"] {
        std::fs::create_dir(root.join(g)).unwrap();
        std::fs::write(root.join(g).join("data"), format!("blob-{g}")).unwrap();
    }
    symlink("gen-00000007", root.join("current")).unwrap();
    std::fs::write(root.join(".lock"), b"").unwrap();
    std::fs::write(root.join("blob-gen-00000007"), b"x").unwrap();
    let gens = Generations::open(&root).unwrap();
    let current = gens.current().unwrap().unwrap();
    assert_eq!((current.number, current.name.as_str()), (7, "gen-00000007"));
    assert_eq!(read(&root).as_deref(), Some("blob-gen-00000007"));
    // A clean-up before the commit keeps the old form's pointer and what it names.
    let writer = gens.lock().unwrap();
    writer
        .clean(&claim_for(Some("blob-gen-00000007".into())))
        .unwrap();
    drop(writer);
    assert_eq!(
        names(&root),
        vec![
            ".lock",
            "LOCK",
            "blob-gen-00000007",
            "current",
            "gen-00000007"
        ]
    );
    assert_eq!(write(&root, "eight").unwrap(), 8);
    assert_eq!(read(&root).as_deref(), Some("blob-eight"));
    assert_eq!(
        names(&root),
        vec!["CURRENT", "LOCK", "blob-eight", "gen-000000000008"]
    );
}

#[test]
fn planted_links_at_the_stores_names_are_refused_or_removed() {
    umask_000();
    // (name planted, refused by the next write (else removed by its clean-up))
    let cases: &[(&str, bool)] = &[
        ("CURRENT", true),
        ("LOCK", true),
        ("gen-000000000002", false),
        ("gen-000000000003", false),
        (".CURRENT.tmp-0123456789abcdef", false),
        (".gen-000000000002.tmp-0123456789abcdef", false),
        ("blob-two", false),
    ];
    for &(name, refused) in cases {
        for target in ["file", "folder"] {
            let tmp = tempfile::tempdir().unwrap();
            let sentinel = Sentinel::new(tmp.path());
            let root = tmp.path().join("store");
            write(&root, "one").unwrap();
            let to = if target == "file" {
                &sentinel.file
            } else {
                &sentinel.folder
            };
            if name == "CURRENT" {
                std::fs::remove_file(root.join(name)).unwrap();
            }
            if name != "LOCK" {
                symlink(to, root.join(name)).unwrap();
            } else {
                std::fs::remove_file(root.join(name)).unwrap();
                symlink(to, root.join(name)).unwrap();
            }
            let result = write(&root, "two");
            if refused {
                let e = result.unwrap_err();
                assert_eq!(
                    category(&e),
                    Category::UnsafePath,
                    "{name} -> {target}: {e}"
                );
                assert_eq!(unsafe_path(&e).unwrap().reason, Unsafe::Symlink);
            } else {
                result.unwrap();
                assert_eq!(read(&root).as_deref(), Some("blob-two"), "{name}");
                assert_eq!(
                    names(&root),
                    vec!["CURRENT", "LOCK", "blob-two", "gen-000000000002"],
                    "{name} -> {target}"
                );
            }
            sentinel.assert_unchanged(name);
        }
    }
    // The root itself, and a current generation that is a link.
    let tmp = tempfile::tempdir().unwrap();
    let sentinel = Sentinel::new(tmp.path());
    let root = tmp.path().join("store");
    symlink(&sentinel.folder, &root).unwrap();
    assert_eq!(
        category(&write(&root, "x").unwrap_err()),
        Category::UnsafePath
    );
    assert_eq!(
        category(&Generations::open(&root).unwrap_err()),
        Category::UnsafePath
    );
    std::fs::remove_file(&root).unwrap();
    write(&root, "one").unwrap();
    std::fs::rename(root.join("gen-000000000001"), tmp.path().join("moved")).unwrap();
    symlink(tmp.path().join("moved"), root.join("gen-000000000001")).unwrap();
    let gens = Generations::open(&root).unwrap();
    let current = gens.current().unwrap().unwrap();
    assert_eq!(
        category(&gens.folder(&current).unwrap_err()),
        Category::UnsafePath
    );
    sentinel.assert_unchanged("root");
}

#[test]
fn a_crash_at_every_step_leaves_old_or_new_and_a_rerun_completes() {
    umask_000();
    let mut stopped = Vec::new();
    for (step, name, _) in STEPS {
        for nth in 1.. {
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().join("store");
            write(&root, "one").unwrap();
            let result = {
                let _armed = failpoint::arm(Failpoint { step, nth });
                let r = write(&root, "two");
                assert_eq!(failpoint::crashed(), r.is_err(), "{name}:{nth}");
                r
            };
            let Err(e) = result else { break };
            assert_eq!(category(&e), Category::Failpoint, "{name}:{nth}: {e}");
            stopped.push(format!("{name}:{nth}"));
            let state = read(&root);
            let switched = matches!(step, Step::Switched | Step::Removed);
            let expected = if switched { "blob-two" } else { "blob-one" };
            assert_eq!(state.as_deref(), Some(expected), "{name}:{nth}");
            // The rerun completes, and leaves nothing of the crash behind.
            write(&root, "two").unwrap();
            assert_eq!(read(&root).as_deref(), Some("blob-two"), "{name}:{nth}");
            let left = names(&root);
            assert_eq!(left.len(), 4, "{name}:{nth}: {left:?}");
            assert!(left.contains(&"blob-two".to_string()), "{name}:{nth}");
        }
    }
    // Every step of a generation's commit was exercised (batch steps belong to `publish`).
    for step in [
        "file-synced:1",
        "file-synced:2",
        "file-committed:2",
        "generation-written:1",
        "generation-named:1",
        "pointer-written:1",
        "switched:1",
        "removed:1",
        "removed:2",
    ] {
        assert!(stopped.contains(&step.to_string()), "{step}: {stopped:?}");
    }
}
