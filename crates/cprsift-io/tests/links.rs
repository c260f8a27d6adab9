//! Folders, atomic files and locks never write through a link: a link planted at any name a
//! writer uses is refused or harmlessly replaced, and nothing outside the folder changes.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use common::{mode, umask_000, Sentinel};
use cprsift_errors::Category;
use cprsift_io::atomic::{publish, write_atomically};
use cprsift_io::error::{category, unsafe_path, Unsafe};
use cprsift_io::folder::{is_temporary, Kind};
use cprsift_io::lock::lock_within;
use cprsift_io::{AtomicFile, Folder};

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn private_folders_are_created_0700_and_fixed() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let deep = tmp.path().join("a/b/outbox");
    let (outbox, created) = Folder::create_private_reporting(&deep).unwrap();
    assert!(created);
    assert_eq!(mode(&deep), 0o700);
    assert_eq!(
        mode(&tmp.path().join("a")),
        0o700,
        "missing parents are private"
    );
    let sub = outbox.private_child("k101").unwrap();
    assert_eq!(mode(sub.path()), 0o700);
    // Existing folders with a wrong mode are fixed on their descriptor.
    std::fs::set_permissions(
        sub.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    outbox.private_child("k101").unwrap();
    assert_eq!(mode(sub.path()), 0o700);
    std::fs::set_permissions(&deep, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    let (_, created) = Folder::create_private_reporting(&deep).unwrap();
    assert!(!created);
    assert_eq!(mode(&deep), 0o700);
    // Trailing slashes and `.` components name the same folder.
    Folder::create_private(&tmp.path().join("a/b/outbox/./")).unwrap();
    // Names that are not one component are refused.
    for bad in ["", ".", "..", "a/b", "x\0y"] {
        assert!(outbox.private_child(bad).is_err(), "{bad:?}");
    }
}

/// Each case plants something at a folder's name; every private-folder call must refuse it.
const FOLDER_PLANTS: &[(&str, Unsafe)] = &[
    ("link to a folder", Unsafe::Symlink),
    ("link to a file", Unsafe::Symlink),
    ("dangling link", Unsafe::Symlink),
    ("regular file", Unsafe::NotAFolder),
];

fn plant(at: &Path, what: &str, sentinel: &Sentinel) {
    match what {
        "link to a folder" => symlink(&sentinel.folder, at).unwrap(),
        "link to a file" => symlink(&sentinel.file, at).unwrap(),
        "dangling link" => symlink(sentinel.dir.join("nothing"), at).unwrap(),
        "regular file" => std::fs::write(at, b"not a folder").unwrap(),
        "folder" => std::fs::create_dir(at).unwrap(),
        "hard link to a file" => std::fs::hard_link(&sentinel.file, at).unwrap(),
        other => panic!("unknown plant {other}"),
    }
}

#[test]
fn a_planted_folder_name_is_refused_and_nothing_outside_changes() {
    umask_000();
    for &(what, reason) in FOLDER_PLANTS {
        let tmp = tempfile::tempdir().unwrap();
        let sentinel = Sentinel::new(tmp.path());
        let outbox_path = tmp.path().join("outbox");
        // The outbox itself.
        plant(&outbox_path, what, &sentinel);
        for path in [outbox_path.clone(), outbox_path.join("")] {
            let e = Folder::create_private(&path).unwrap_err();
            assert_eq!(category(&e), Category::UnsafePath, "{what}: {e}");
            let refusal = unsafe_path(&e).unwrap();
            assert_eq!(refusal.reason, reason, "{what}");
            assert_eq!(refusal.path, outbox_path, "{what}");
            assert!(e.to_string().contains("outbox"), "{what}: {e}");
        }
        if reason == Unsafe::Symlink {
            assert!(Folder::open(&outbox_path).is_err(), "{what}");
        }
        std::fs::remove_file(&outbox_path).unwrap();
        // A subscriber folder and `_runs` inside a real outbox.
        let outbox = Folder::create_private(&outbox_path).unwrap();
        for name in ["k101", "_runs"] {
            plant(&outbox.join(name), what, &sentinel);
            let e = outbox.private_child(name).unwrap_err();
            assert_eq!(unsafe_path(&e).unwrap().reason, reason, "{what} at {name}");
            assert!(e.to_string().contains(name), "{e}");
            assert!(outbox.child(name).is_err());
        }
        sentinel.assert_unchanged(what);
    }
}

#[test]
fn a_folder_of_another_user_is_refused() {
    umask_000();
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("SKIPPED: needs root to make a folder of another user");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let outbox = Folder::create_private(&tmp.path().join("outbox")).unwrap();
    let foreign = outbox.join("k101");
    std::fs::create_dir(&foreign).unwrap();
    std::os::unix::fs::chown(&foreign, Some(4321), None).unwrap();
    let e = outbox.private_child("k101").unwrap_err();
    assert_eq!(unsafe_path(&e).unwrap().reason, Unsafe::ForeignOwner(4321));
    std::os::unix::fs::chown(tmp.path().join("outbox"), Some(4321), None).unwrap();
    let e = Folder::create_private(&tmp.path().join("outbox")).unwrap_err();
    assert_eq!(category(&e), Category::UnsafePath);
}

#[test]
fn atomic_files_appear_whole_private_and_leave_nothing_on_failure() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let folder = Folder::create_private(&tmp.path().join("out")).unwrap();
    let target = folder.join("D240301.L110901");
    std::fs::write(&target, b"old").unwrap();
    let mut f = AtomicFile::create(&folder, "D240301.L110901").unwrap();
    f.write_all(b"new").unwrap();
    let temp = f.temp_path();
    assert!(is_temporary(&temp.file_name().unwrap().to_string_lossy()));
    assert_eq!(mode(&temp), 0o600);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"old",
        "nothing visible before commit"
    );
    f.commit().unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    assert_eq!(mode(&target), 0o600);
    // Dropped before its commit: the temporary file is removed.
    let mut g = AtomicFile::create(&folder, "other").unwrap();
    g.write_all(b"half").unwrap();
    drop(g);
    assert_eq!(names(folder.path()), vec!["D240301.L110901"]);
    write_atomically(&folder, "small", b"bytes").unwrap();
    assert_eq!(std::fs::read(folder.join("small")).unwrap(), b"bytes");
    // Two writers of one target never share a temporary file.
    let a = AtomicFile::create(&folder, "x").unwrap();
    let b = AtomicFile::create(&folder, "x").unwrap();
    assert_ne!(a.temp_path(), b.temp_path());
}

/// Each case plants something at a file's target name: what happens, and what is left there.
const TARGET_PLANTS: &[(&str, Option<Unsafe>)] = &[
    ("link to a file", Some(Unsafe::Symlink)),
    ("link to a folder", Some(Unsafe::Symlink)),
    ("dangling link", Some(Unsafe::Symlink)),
    ("folder", Some(Unsafe::NotAFile)),
    // A regular file is replaced by the rename: its inode (here shared with the sentinel
    // outside) is never opened, so the other name keeps its bytes.
    ("hard link to a file", None),
];

#[test]
fn a_planted_target_is_refused_or_replaced_and_nothing_outside_changes() {
    umask_000();
    for &(what, refused) in TARGET_PLANTS {
        for batch in [false, true] {
            let tmp = tempfile::tempdir().unwrap();
            let sentinel = Sentinel::new(tmp.path());
            let folder = Folder::create_private(&tmp.path().join("out")).unwrap();
            let target = folder.join("file");
            plant(&target, what, &sentinel);
            let result = AtomicFile::create(&folder, "file").and_then(|mut f| {
                f.write_all(b"CPR data")?;
                if batch {
                    publish(vec![f.stage()?])
                } else {
                    f.commit()
                }
            });
            match refused {
                Some(reason) => {
                    let e = result.unwrap_err();
                    assert_eq!(unsafe_path(&e).unwrap().reason, reason, "{what}");
                    assert_eq!(unsafe_path(&e).unwrap().path, target);
                    assert_eq!(names(folder.path()), vec!["file"], "{what}: only the plant");
                }
                None => {
                    result.unwrap();
                    assert_eq!(std::fs::read(&target).unwrap(), b"CPR data");
                    assert_eq!(mode(&target), 0o600);
                }
            }
            sentinel.assert_unchanged(what);
        }
    }
}

#[test]
fn a_target_that_becomes_a_link_after_staging_is_refused() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let sentinel = Sentinel::new(tmp.path());
    let folder = Folder::create_private(&tmp.path().join("out")).unwrap();
    let mut f = AtomicFile::create(&folder, "file").unwrap();
    f.write_all(b"CPR data").unwrap();
    let staged = f.stage().unwrap();
    symlink(&sentinel.file, folder.join("file")).unwrap();
    let e = publish(vec![staged]).unwrap_err();
    assert_eq!(category(&e), Category::UnsafePath);
    assert_eq!(
        names(folder.path()),
        vec!["file"],
        "the temporary file is removed"
    );
    sentinel.assert_unchanged("link after staging");
}

#[test]
fn a_folder_replaced_after_staging_is_refused() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let sentinel = Sentinel::new(tmp.path());
    let outbox = Folder::create_private(&tmp.path().join("out")).unwrap();
    let sub = outbox.private_child("k101").unwrap();
    let mut f = AtomicFile::create(&sub, "file").unwrap();
    f.write_all(b"CPR data").unwrap();
    let staged = f.stage().unwrap();
    drop(sub);
    // The subscriber folder is moved away and replaced by a link, then by another folder.
    std::fs::rename(outbox.join("k101"), tmp.path().join("moved")).unwrap();
    symlink(&sentinel.folder, outbox.join("k101")).unwrap();
    let e = publish(vec![staged]).unwrap_err();
    assert_eq!(unsafe_path(&e).unwrap().reason, Unsafe::Symlink);
    std::fs::remove_file(outbox.join("k101")).unwrap();
    std::fs::create_dir(outbox.join("k101")).unwrap();
    let sub = outbox.private_child("k101").unwrap();
    let mut f = AtomicFile::create(&sub, "file").unwrap();
    f.write_all(b"x").unwrap();
    let staged = f.stage().unwrap();
    std::fs::rename(outbox.join("k101"), tmp.path().join("moved2")).unwrap();
    std::fs::create_dir(outbox.join("k101")).unwrap();
    let e = publish(vec![staged]).unwrap_err();
    assert_eq!(unsafe_path(&e).unwrap().reason, Unsafe::Replaced);
    assert!(names(&outbox.join("k101")).is_empty());
    sentinel.assert_unchanged("folder replaced");
}

#[test]
fn planted_temporary_names_are_never_written_through_and_are_cleaned() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let sentinel = Sentinel::new(tmp.path());
    let folder = Folder::create_private(&tmp.path().join("out")).unwrap();
    // The names older versions used, and names of this version's form.
    let planted = [
        ".file.tmp",
        ".file.tmp-4242",
        ".file.tmp-00000000000000ff",
        ".tmp-gen-00000007",
    ];
    for name in planted {
        symlink(&sentinel.file, folder.join(name)).unwrap();
    }
    std::fs::hard_link(&sentinel.file, folder.join(".other.tmp")).unwrap();
    std::fs::create_dir(folder.join(".gen-000000000003.tmp-abc")).unwrap();
    std::fs::write(folder.join(".gen-000000000003.tmp-abc/index.bin"), b"x").unwrap();
    std::fs::write(folder.join("keep.txt"), b"an operator's file").unwrap();
    write_atomically(&folder, "file", b"CPR data").unwrap();
    assert_eq!(std::fs::read(folder.join("file")).unwrap(), b"CPR data");
    assert_eq!(folder.remove_stale_temporaries().unwrap(), 6);
    assert_eq!(names(folder.path()), vec!["file", "keep.txt"]);
    sentinel.assert_unchanged("temporary names");
    for name in ["file", "keep.txt", ".file", "file.tmp", ".tmp", "..tmp-"] {
        assert!(!is_temporary(name), "{name}");
    }
}

#[test]
fn reading_refuses_links_and_special_files() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let sentinel = Sentinel::new(tmp.path());
    let folder = Folder::create_private(&tmp.path().join("out")).unwrap();
    symlink(&sentinel.file, folder.join("manifest.json")).unwrap();
    let e = folder.read("manifest.json").unwrap_err();
    assert_eq!(unsafe_path(&e).unwrap().reason, Unsafe::Symlink);
    assert_eq!(folder.kind("manifest.json").unwrap(), Some(Kind::Link));
    assert_eq!(folder.kind("missing").unwrap(), None);
    let fifo = folder.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let e = folder.read("fifo").unwrap_err();
        assert_eq!(unsafe_path(&e).unwrap().reason, Unsafe::NotAFile);
    }
    // Removing a link removes the link only; removing a folder never follows a link in it.
    std::fs::create_dir(folder.join("tree")).unwrap();
    symlink(&sentinel.folder, folder.join("tree/inner")).unwrap();
    symlink(&sentinel.file, folder.join("tree/file")).unwrap();
    assert!(folder.remove("tree").unwrap());
    assert!(folder.remove("manifest.json").unwrap());
    assert!(!folder.remove("manifest.json").unwrap());
    sentinel.assert_unchanged("reading");
}

#[test]
fn locks_wait_a_bounded_time_and_refuse_links() {
    umask_000();
    let tmp = tempfile::tempdir().unwrap();
    let sentinel = Sentinel::new(tmp.path());
    let folder = Folder::create_private(&tmp.path().join("store")).unwrap();
    let held = lock_within(&folder, "LOCK", Duration::ZERO).unwrap();
    assert_eq!(mode(&folder.join("LOCK")), 0o600);
    assert_eq!(held.path(), folder.join("LOCK"));
    let start = std::time::Instant::now();
    let e = lock_within(&folder, "LOCK", Duration::from_millis(200)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(category(&e), Category::Locked);
    assert!(e.to_string().contains("LOCK"), "{e}");
    // Released while a second writer waits: it gets the lock.
    let waiter = {
        let folder = folder.clone();
        std::thread::spawn(move || lock_within(&folder, "LOCK", Duration::from_secs(5)).is_ok())
    };
    std::thread::sleep(Duration::from_millis(100));
    drop(held);
    assert!(waiter.join().unwrap());
    for (i, &(what, _)) in FOLDER_PLANTS.iter().enumerate() {
        let other = folder.private_child(&format!("case-{i}")).unwrap();
        plant(&other.join("LOCK"), what, &sentinel);
        let result = lock_within(&other, "LOCK", Duration::ZERO);
        if what == "regular file" {
            // An ordinary file of ours at the lock's name is a lock file: used, not written.
            drop(result.unwrap());
            assert_eq!(std::fs::read(other.join("LOCK")).unwrap(), b"not a folder");
            assert_eq!(mode(&other.join("LOCK")), 0o600);
            continue;
        }
        let e = result.unwrap_err();
        assert_eq!(category(&e), Category::UnsafePath, "{what}: {e}");
    }
    sentinel.assert_unchanged("locks");
}
