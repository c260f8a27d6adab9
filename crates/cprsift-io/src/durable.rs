//! Private, durable and atomic writes: the low-level file code every crate that writes needs,
//! in one place (SEMANTICS.md §7: output files 0600, folders 0700; nothing half-written).
//!
//! - folders: [`create_private_dir`] (0700 when created), [`ensure_private_dir`] (0700 even
//!   when it existed);
//! - files: [`create_private_file`] (new, 0600), [`replace_private_file`] (created or
//!   truncated, 0600), [`write_new_file_durably`] (new, written, fsynced);
//! - durability of names: [`sync_dir`], [`rename_durably`] (rename, then fsync the folder);
//! - a file that appears only whole: [`AtomicFile`] (a temporary file beside the target,
//!   fsynced, renamed over it, the folder fsynced; the temporary file removed on failure) and
//!   [`write_atomically`] for bytes already in memory;
//! - one writer at a time: [`try_lock_exclusive`] and [`lock_exclusive`] on a lock file (flock
//!   via fs2, released when the returned file is dropped).
//!
//! Every function returns [`io::Result`]: the caller wraps the error in its own error type with
//! the path it concerns. Unix only (modes, folder fsync), like the rest of cprsift.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode of private folders.
const DIR_MODE: u32 = 0o700;
/// The mode of private files.
const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents with mode 0700. A folder that exists is left as it
/// is.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// Creates `path` like [`create_private_dir`] and makes sure it is 0700: a folder that already
/// exists with another mode is changed (output folders must never be readable by others).
pub fn ensure_private_dir(path: &Path) -> io::Result<()> {
    create_private_dir(path)?;
    if fs::metadata(path)?.mode() & 0o7777 != DIR_MODE {
        fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))?;
    }
    Ok(())
}

/// Creates a new file with mode 0600, open for reading and writing; fails if it exists (an
/// existing file is never silently overwritten).
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Opens `path` for writing, created with mode 0600 or truncated: for a temporary file whose
/// name a crashed run may have left behind.
pub fn replace_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Writes a small new file durably: created (0600, failing if it exists), written, fsynced.
/// Its name becomes durable with the next [`sync_dir`] of its folder.
pub fn write_new_file_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = create_private_file(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Fsyncs a folder, so that the names created, renamed or removed in it are durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// The folder holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Renames `from` to `to` (atomically replacing `to`), then fsyncs `to`'s folder so that the
/// rename survives a crash. Both must be in the same file system.
pub fn rename_durably(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_dir(parent_dir(to))
}

/// A file that appears only whole. Written to a temporary file beside the target
/// (`.<name>.tmp-<pid>`, mode 0600: hidden, and never shared with another process);
/// [`AtomicFile::commit`] fsyncs it, renames it over the target and fsyncs the folder, so the
/// target is either absent, the old file, or the new one whole. Dropped without a commit (an
/// error on the way), it removes the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: File,
    renamed: bool,
}

impl AtomicFile {
    /// Starts writing `target` (its folder must exist). A temporary file of the same name left
    /// by a crash of a process with this process id is replaced.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the target has no file name")
        })?;
        let temp = target.with_file_name(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        match fs::remove_file(&temp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = create_private_file(&temp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            file,
            renamed: false,
        })
    }

    /// The open temporary file, to write into (wrap it in a `BufWriter` for many small
    /// writes, and flush that before the commit).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// The temporary file's path, for error messages about writing.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Makes the file durable and puts it in place: fsync, rename over the target, fsync of the
    /// folder. On an error the temporary file is removed and the target is untouched (unless
    /// only the folder's fsync failed: then the rename happened but may not survive a crash).
    pub fn commit(mut self) -> io::Result<()> {
        self.file.sync_all()?;
        fs::rename(&self.temp, &self.target)?;
        self.renamed = true;
        sync_dir(parent_dir(&self.target))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `target` as an [`AtomicFile`]: the target appears only whole, 0600.
pub fn write_atomically(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.file().write_all(bytes)?;
    file.commit()
}

/// Opens (creating it, mode 0600, never truncating) a lock file.
fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
}

/// Takes an exclusive lock (flock) on the lock file `path` without waiting: `Some(file)` holds
/// the lock until dropped, `None` means another holder has it. Other failures are errors.
pub fn try_lock_exclusive(path: &Path) -> io::Result<Option<File>> {
    let file = open_lock_file(path)?;
    match fs2::FileExt::try_lock_exclusive(&file) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e.kind() == fs2::lock_contended_error().kind() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Takes an exclusive lock (flock) on the lock file `path`, waiting for another holder to
/// release it; the returned file holds the lock until dropped.
pub fn lock_exclusive(path: &Path) -> io::Result<File> {
    let file = open_lock_file(path)?;
    fs2::FileExt::lock_exclusive(&file)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn folders_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        create_private_dir(&deep).unwrap();
        assert_eq!(mode(&deep), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        create_private_dir(&deep).unwrap();
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o755, "create leaves an existing folder alone");
        ensure_private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700, "ensure makes it private");
    }

    #[test]
    fn files_are_private_and_new_ones_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_new_file_durably(&path, b"abc").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            create_private_file(&path).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        replace_private_file(&path)
            .unwrap()
            .write_all(b"x")
            .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"x");
        sync_dir(dir.path()).unwrap();
        rename_durably(&path, &dir.path().join("g")).unwrap();
        assert_eq!(names(dir.path()), vec!["g"]);
    }

    #[test]
    fn atomic_files_appear_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.file().write_all(b"new").unwrap();
        assert_eq!(
            fs::read(&target).unwrap(),
            b"old",
            "nothing visible before commit"
        );
        assert!(f.temp_path().starts_with(dir.path()));
        f.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target), 0o600);
        // Dropped before commit (an error while writing): the target and folder are unchanged.
        let mut g = AtomicFile::create(&target).unwrap();
        g.file().write_all(b"half").unwrap();
        drop(g);
        assert_eq!(names(dir.path()), vec!["out"]);
        assert_eq!(fs::read(&target).unwrap(), b"new");
        write_atomically(&target, b"bytes").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"bytes");
        assert_eq!(names(dir.path()), vec!["out"]);
        // A target in a folder that does not exist fails and leaves nothing.
        assert!(write_atomically(&dir.path().join("missing/out"), b"x").is_err());
        assert!(AtomicFile::create(Path::new("/")).is_err());
    }

    #[test]
    fn locks_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let held = try_lock_exclusive(&path).unwrap().unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(try_lock_exclusive(&path).unwrap().is_none());
        drop(held);
        let again = lock_exclusive(&path).unwrap();
        assert!(try_lock_exclusive(&path).unwrap().is_none());
        drop(again);
        assert!(try_lock_exclusive(&path).unwrap().is_some());
    }
}
