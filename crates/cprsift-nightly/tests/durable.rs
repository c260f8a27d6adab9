//! The outbox is written only through cprsift's own files and folders: a link planted at any
//! name a delivery or an initial load uses is refused (`unsafe-path`) or harmlessly removed,
//! and nothing outside changes; every file is 0600 and every folder 0700 even under umask
//! 000; a delivery stopped at any named failpoint is completed by a rerun, byte for byte.

#![allow(clippy::unwrap_used)]

mod common;

use cprsift_errors::Categorized;
use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::*;
use cprsift_io::failpoint::{self, Failpoint, STEPS};
use cprsift_nightly::{deliver, initial_load, InitialLoadRequest, NightlyError};

/// Every entry under `dir` (relative path -> file bytes, or `None` for a folder), and modes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u32, Option<Vec<u8>>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if meta.is_dir() {
                out.insert(rel, (meta.mode() & 0o7777, None));
                stack.push(p);
            } else {
                out.insert(
                    rel,
                    (meta.mode() & 0o7777, Some(std::fs::read(&p).unwrap())),
                );
            }
        }
    }
    out
}

/// A folder outside the outbox that planted links point at; nothing in it may change.
struct Sentinel {
    dir: PathBuf,
    before: BTreeMap<PathBuf, (u32, Option<Vec<u8>>)>,
}

impl Sentinel {
    fn new(root: &Path) -> Sentinel {
        let dir = root.join("outside");
        std::fs::create_dir_all(dir.join("folder")).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("sentinel"), b"precious bytes\n").unwrap();
        std::fs::set_permissions(dir.join("sentinel"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let before = tree(&dir);
        Sentinel { dir, before }
    }

    fn assert_unchanged(&self, case: &str) {
        assert_eq!(
            tree(&self.dir),
            self.before,
            "{case}: something outside changed"
        );
    }
}

fn initial_request(dir: &Path) -> InitialLoadRequest {
    InitialLoadRequest {
        replica: dir.join("replica"),
        subscriptions: dir.join("store"),
        subscribers: vec!["k101".into(), "pnr-sub".into()],
        outbox: dir.join("outbox"),
        options: Default::default(),
    }
}

/// The two writers of the outbox, run on the folders of `nightly_setup`.
#[derive(Clone, Copy, Debug)]
enum Writer {
    Deliver,
    InitialLoad,
}

impl Writer {
    /// The outbox a run without plants leaves.
    fn reference_outbox(self) -> BTreeMap<PathBuf, (u32, Option<Vec<u8>>)> {
        let tmp = tempfile::tempdir().unwrap();
        let day = nightly_setup(tmp.path());
        self.run(tmp.path(), &day).unwrap();
        tree(&tmp.path().join("outbox"))
    }

    fn run(self, dir: &Path, day: &Path) -> Result<(), NightlyError> {
        match self {
            Writer::Deliver => deliver(&nightly_request(dir, day, false)).map(drop),
            Writer::InitialLoad => initial_load(&initial_request(dir)).map(drop),
        }
    }
}

#[test]
fn every_file_and_folder_is_private_under_umask_000() {
    rustix::process::umask(rustix::fs::Mode::empty());
    for writer in [Writer::Deliver, Writer::InitialLoad] {
        let tmp = tempfile::tempdir().unwrap();
        let day = nightly_setup(tmp.path());
        writer.run(tmp.path(), &day).unwrap();
        for folder in ["outbox", "replica", "store"] {
            let root = tmp.path().join(folder);
            assert_eq!(root.metadata().unwrap().mode() & 0o7777, 0o700, "{folder}");
            for (path, (mode, bytes)) in tree(&root) {
                let expected = if bytes.is_some() { 0o600 } else { 0o700 };
                assert_eq!(mode, expected, "{writer:?}: {folder}/{}", path.display());
            }
        }
    }
}

#[test]
fn a_link_at_any_name_a_writer_uses_is_refused_and_nothing_outside_changes() {
    for writer in [Writer::Deliver, Writer::InitialLoad] {
        // Every name the writer creates in the outbox, from a run without plants.
        let reference = writer.reference_outbox();
        let mut names: Vec<(PathBuf, bool)> = vec![(PathBuf::new(), true)];
        names.extend(reference.iter().map(|(p, (_, b))| (p.clone(), b.is_none())));
        assert!(names.len() >= 8, "{writer:?}: {names:?}");
        for (name, is_folder) in names {
            let tmp = tempfile::tempdir().unwrap();
            let day = nightly_setup(tmp.path());
            let sentinel = Sentinel::new(tmp.path());
            let outbox = tmp.path().join("outbox");
            let at = if name.as_os_str().is_empty() {
                outbox
            } else {
                outbox.join(&name)
            };
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            let target = if is_folder { "folder" } else { "sentinel" };
            symlink(sentinel.dir.join(target), &at).unwrap();
            let case = format!("{writer:?}: a link at outbox/{}", name.display());
            let e = writer.run(tmp.path(), &day).unwrap_err();
            assert_eq!(e.category().name(), "unsafe-path", "{case}: {e}");
            assert_eq!(e.category().exit_code(), 2, "{case}");
            assert!(e.to_string().contains("symbolic link"), "{case}: {e}");
            sentinel.assert_unchanged(&case);
            // Once the link is gone, the writer completes.
            std::fs::remove_file(&at).unwrap_or_else(|e| panic!("{case}: {e}"));
            writer.run(tmp.path(), &day).unwrap();
            sentinel.assert_unchanged(&case);
        }
    }
}

#[test]
fn links_at_temporary_names_are_removed_unused_and_the_output_is_unchanged() {
    for writer in [Writer::Deliver, Writer::InitialLoad] {
        let reference = writer.reference_outbox();
        let tmp = tempfile::tempdir().unwrap();
        let day = nightly_setup(tmp.path());
        let sentinel = Sentinel::new(tmp.path());
        // The temporary names older versions used (`.<name>.tmp`), and this version's form,
        // for every file the writer creates; and a hard link, which must not be written either.
        for (path, (_, bytes)) in &reference {
            if bytes.is_none() {
                std::fs::create_dir_all(tmp.path().join("outbox").join(path)).unwrap();
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy();
            let folder = tmp.path().join("outbox").join(path.parent().unwrap());
            std::fs::create_dir_all(&folder).unwrap();
            symlink(
                sentinel.dir.join("sentinel"),
                folder.join(format!(".{name}.tmp")),
            )
            .unwrap();
            symlink(
                sentinel.dir.join("sentinel"),
                folder.join(format!(".{name}.tmp-0123456789abcdef")),
            )
            .unwrap();
            std::fs::hard_link(
                sentinel.dir.join("sentinel"),
                folder.join(format!(".{name}.tmp-1")),
            )
            .unwrap();
        }
        writer.run(tmp.path(), &day).unwrap();
        sentinel.assert_unchanged(&format!("{writer:?}"));
        let outbox = tree(&tmp.path().join("outbox"));
        let files = |t: &BTreeMap<PathBuf, (u32, Option<Vec<u8>>)>| {
            t.iter()
                .map(|(p, (_, b))| (p.clone(), b.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(files(&outbox), files(&reference), "{writer:?}");
    }
}

#[test]
fn a_regular_file_at_a_target_is_replaced_without_writing_into_it() {
    let tmp = tempfile::tempdir().unwrap();
    let day = nightly_setup(tmp.path());
    let sentinel = Sentinel::new(tmp.path());
    let folder = tmp.path().join("outbox/k101");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::hard_link(
        sentinel.dir.join("sentinel"),
        folder.join("D240301.L110901"),
    )
    .unwrap();
    deliver(&nightly_request(tmp.path(), &day, false)).unwrap();
    sentinel.assert_unchanged("hard link at a target");
    let delivered = std::fs::read(folder.join("D240301.L110901")).unwrap();
    assert!(delivered.starts_with(b"000"));
}

/// The outbox's files (relative path, bytes; `None` for a folder).
type Files = Vec<(PathBuf, Option<Vec<u8>>)>;

/// The outbox, the replica's export and the store's registry after a run.
fn state(dir: &Path) -> (Files, Vec<u8>, cprsift_subscriptions::Registry) {
    let outbox = tree(&dir.join("outbox"))
        .into_iter()
        .map(|(p, (_, b))| (p, b))
        .collect();
    let export = dir.join("export.txt");
    cprsift_replica::export(&dir.join("replica"), &export).unwrap();
    let replica = std::fs::read(&export).unwrap();
    std::fs::remove_file(&export).unwrap();
    let store = cprsift_subscriptions::Store::open(&dir.join("store")).unwrap();
    (outbox, replica, store.load().unwrap())
}

#[test]
fn a_delivery_stopped_at_any_failpoint_is_completed_by_a_rerun_byte_for_byte() {
    let reference = {
        let tmp = tempfile::tempdir().unwrap();
        let day = nightly_setup(tmp.path());
        deliver(&nightly_request(tmp.path(), &day, true)).unwrap();
        state(tmp.path())
    };
    let mut crashes = Vec::new();
    for (step, name, _) in STEPS {
        for nth in 1.. {
            let tmp = tempfile::tempdir().unwrap();
            let day = nightly_setup(tmp.path());
            let request = nightly_request(tmp.path(), &day, true);
            let result = {
                let _armed = failpoint::arm(Failpoint { step, nth });
                deliver(&request)
            };
            if result.is_ok() {
                assert_eq!(state(tmp.path()), reference, "{name}:{nth} not reached");
                break;
            }
            crashes.push(format!("{name}:{nth}"));
            deliver(&request).unwrap();
            assert_eq!(
                state(tmp.path()),
                reference,
                "{name}:{nth}: the rerun differs"
            );
            let replica = cprsift_replica::status(&tmp.path().join("replica")).unwrap();
            assert_eq!(
                replica.generations, 1,
                "{name}:{nth}: the old generation is left"
            );
        }
    }
    // The delivery's batch, its manifest, the store's moves and the replica's apply were
    // each stopped.
    for expected in [
        "batch-synced:1",
        "batch-renamed:4",
        "file-committed:1",
        "switched:1",
        "switched:2",
        "removed:1",
    ] {
        assert!(
            crashes.iter().any(|c| c == expected),
            "{expected}: {crashes:?}"
        );
    }
}

#[test]
fn a_second_writer_of_an_outbox_waits_a_bounded_time_then_is_refused_as_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let day = nightly_setup(tmp.path());
    let runs = tmp.path().join("outbox/_runs");
    std::fs::create_dir_all(&runs).unwrap();
    let held = std::fs::File::create(runs.join("LOCK")).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let e = initial_load(&initial_request(tmp.path())).unwrap_err();
    assert_eq!(e.category().name(), "locked", "{e}");
    assert!(e.to_string().contains("LOCK"), "{e}");
    drop(held);
    deliver(&nightly_request(tmp.path(), &day, false)).unwrap();
}
