//! The one way cprsift creates a file: it appears only whole, private, and never through a link.
//!
//! Why: a reader (a subscriber's pick-up, the replica, a rerun) must find either the old file
//! or the new one whole (docs/rules.md §7), and a name planted by someone else must never
//! redirect the bytes. An [`AtomicFile`] is created in its [`Folder`] under a fresh temporary
//! name `.<name>.tmp-<16 random hex digits>` with `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600 (a
//! name that exists, a planted link included, is never opened: another random name is tried),
//! written, made durable, and renamed over the target with `renameat`. A target that is a link
//! or a folder is refused, not replaced; a regular file there is replaced by the rename (its
//! inode is never opened, so a hard link to it elsewhere keeps its bytes).
//!
//! Durability comes in two forms: [`AtomicFile::commit`] for one file (fsync, rename, fsync of
//! the folder), and, for many files (a day's delivery: two per subscriber),
//! [`AtomicFile::stage`] + [`publish`]: one `syncfs` per file system makes all the temporary
//! files durable, all are renamed, and one more `syncfs` makes the renames durable: a day to
//! 10,000 subscribers costs two flushes, not 40,000 fsyncs.
//!
//! A file dropped before its commit, and a staged file never published, remove their
//! temporary file (not after a failpoint's simulated crash: [`crate::failpoint::crashed`]).

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;

use rustix::rand::{getrandom, GetRandomFlags};

use crate::failpoint::{self, Step};
use crate::folder::{check_name, Folder, FolderKey};

/// How many fresh temporary names are tried before giving up.
const NAME_ATTEMPTS: usize = 16;

/// A fresh temporary name for `name`: `.<name>.tmp-<16 hex digits>`.
pub(crate) fn temporary_name(name: &str) -> String {
    let mut random = [0u8; 8];
    if getrandom(&mut random[..], GetRandomFlags::empty()).is_err() {
        // No getrandom(2): still unique enough to never reuse a name blindly, since the
        // create is exclusive and retried.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        random = (nanos ^ (u64::from(std::process::id()) << 32)).to_le_bytes();
    }
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!(".{name}.tmp-{hex}")
}

/// A file being written under a temporary name; see the module documentation.
#[derive(Debug)]
pub struct AtomicFile {
    folder: Folder,
    name: String,
    temp: String,
    /// `None` once committed or staged.
    file: Option<File>,
}

impl AtomicFile {
    /// Starts writing `name` in `folder`. Refused when `name` is a link or a folder.
    pub fn create(folder: &Folder, name: &str) -> io::Result<AtomicFile> {
        check_name(name)?;
        folder.check_file_target(name)?;
        let mut last = None;
        for _ in 0..NAME_ATTEMPTS {
            let temp = temporary_name(name);
            match folder.create_new_file(&temp) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        folder: folder.clone(),
                        name: name.to_string(),
                        temp,
                        file: Some(file),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no temporary name could be created")))
    }

    /// The target's path (for messages).
    pub fn path(&self) -> PathBuf {
        self.folder.join(&self.name)
    }

    /// The temporary file's path (for messages about writing).
    pub fn temp_path(&self) -> PathBuf {
        self.folder.join(&self.temp)
    }

    /// The temporary file's metadata (its size so far, once flushed).
    pub fn metadata(&self) -> io::Result<std::fs::Metadata> {
        match &self.file {
            Some(file) => file.metadata(),
            None => Err(io::Error::other("the file was already committed")),
        }
    }

    fn open(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was already committed"))
    }

    /// Makes the file durable and puts it in place: fsync, rename over the target, fsync of
    /// the folder. On an error before the rename the temporary file is removed and the target
    /// is untouched.
    pub fn commit(self) -> io::Result<()> {
        self.commit_at(Step::FileSynced, Step::FileCommitted)
    }

    /// [`AtomicFile::commit`], reaching `synced` after the fsync and `committed` at the end.
    pub(crate) fn commit_at(mut self, synced: Step, committed: Step) -> io::Result<()> {
        self.open()?.sync_all()?;
        failpoint::reach(synced)?;
        self.folder.check_file_target(&self.name)?;
        self.folder.rename(&self.temp, &self.name)?;
        self.file = None;
        self.folder.sync()?;
        failpoint::reach(committed)
    }

    /// Closes the file for a batch: neither synced nor renamed; see [`publish`].
    pub fn stage(mut self) -> io::Result<StagedFile> {
        let device = rustix::fs::fstat(self.open()?)?.st_dev;
        self.file = None;
        Ok(StagedFile {
            folder: self.folder.key().clone(),
            device,
            name: std::mem::take(&mut self.name),
            temp: Some(std::mem::take(&mut self.temp)),
        })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.open()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.open()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.open()?.seek(pos)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() && !failpoint::crashed() {
            let _ = self.folder.remove(&self.temp);
        }
    }
}

/// A finished temporary file waiting for [`publish`]. It holds no descriptor (a batch may have
/// tens of thousands); its folder is opened again by path and checked to be the same one.
/// Dropped unpublished, it removes its temporary file.
#[derive(Debug)]
pub struct StagedFile {
    folder: FolderKey,
    device: u64,
    name: String,
    /// `None` once renamed.
    temp: Option<String>,
}

impl StagedFile {
    /// The target's path (for messages).
    pub fn path(&self) -> PathBuf {
        self.folder.path().join(&self.name)
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            if !failpoint::crashed() {
                if let Ok(folder) = self.folder.open() {
                    let _ = folder.remove(&temp);
                }
            }
        }
    }
}

/// Flushes each file system that holds one of `files` once (`syncfs`).
fn sync_file_systems(files: &[StagedFile]) -> io::Result<()> {
    let mut done: Vec<u64> = Vec::new();
    for f in files {
        if !done.contains(&f.device) {
            f.folder.open()?.sync_file_system()?;
            done.push(f.device);
        }
    }
    Ok(())
}

/// Publishes staged files together: every file system holding one is flushed (the temporary
/// files are durable), all are renamed over their targets in the order given (a target that
/// became a link or a folder is refused), and the file systems are flushed again (the renames
/// and new folders are durable). On an error the files not yet renamed are removed.
pub fn publish(mut files: Vec<StagedFile>) -> io::Result<()> {
    sync_file_systems(&files)?;
    failpoint::reach(Step::BatchSynced)?;
    let mut open: Option<Folder> = None;
    for f in &mut files {
        let folder = match open.take() {
            Some(folder) if *folder.key() == f.folder => folder,
            _ => f.folder.open()?,
        };
        if let Some(temp) = &f.temp {
            folder.check_file_target(&f.name)?;
            folder.rename(temp, &f.name)?;
            f.temp = None;
        }
        open = Some(folder);
        failpoint::reach(Step::BatchRenamed)?;
    }
    drop(open);
    sync_file_systems(&files)
}

/// Writes `bytes` to `name` in `folder` as an [`AtomicFile`], committed.
pub fn write_atomically(folder: &Folder, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(folder, name)?;
    file.write_all(bytes)?;
    file.commit()
}
