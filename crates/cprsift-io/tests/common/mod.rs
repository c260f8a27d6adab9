//! Shared by the io crate's tests: a sentinel tree outside the folder under test, to prove
//! that nothing outside changed; modes; umask 000.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Every test runs under umask 000: modes must be 0600/0700 by cprsift's doing, not the umask's.
pub fn umask_000() {
    rustix::process::umask(rustix::fs::Mode::empty());
}

/// The permission bits of `path` (not following a link).
pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

/// A folder outside the tree under test holding a file and a folder that planted links point
/// at; [`Sentinel::assert_unchanged`] proves that nothing in it changed.
pub struct Sentinel {
    pub dir: PathBuf,
    pub file: PathBuf,
    pub folder: PathBuf,
    before: BTreeMap<PathBuf, (u32, Option<Vec<u8>>)>,
}

impl Sentinel {
    pub fn new(root: &Path) -> Sentinel {
        let dir = root.join("outside");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("sentinel");
        std::fs::write(&file, b"precious bytes\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let folder = dir.join("folder");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut s = Sentinel {
            dir,
            file,
            folder,
            before: BTreeMap::new(),
        };
        s.before = s.state();
        s
    }

    fn state(&self) -> BTreeMap<PathBuf, (u32, Option<Vec<u8>>)> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(d) = stack.pop() {
            out.insert(d.clone(), (mode(&d), None));
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let meta = std::fs::symlink_metadata(&p).unwrap();
                if meta.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(p.clone(), (mode(&p), Some(std::fs::read(&p).unwrap())));
                }
            }
        }
        out
    }

    pub fn assert_unchanged(&self, case: &str) {
        assert_eq!(
            self.state(),
            self.before,
            "{case}: something outside changed"
        );
    }
}
