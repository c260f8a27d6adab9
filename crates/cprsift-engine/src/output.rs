//! Files that appear only whole (SEMANTICS.md §3, §7): each is written to a temporary file in
//! its target folder (mode 0600), hashed while written, optionally zstd-compressed, made
//! durable, then renamed over the target. A single file ([`AtomicFile::commit`]) is fsynced,
//! renamed and its folder fsynced. Many files (a day's delivery: two per subscriber) are
//! [`AtomicFile::stage`]d and published together by [`publish`]: one `syncfs` per file system
//! makes every temporary file durable, then all are renamed, then one more `syncfs` per file
//! system makes the renames and new folders durable: a handful of flushes instead of four
//! fsyncs per subscriber. A writer dropped before commit, and a staged file never published,
//! remove their temporary file. Folders are created mode 0700.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cprsift_io::durable;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EngineError;

/// Output framing and compression (SEMANTICS.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputOptions {
    /// Record terminator (switch `crlf | none`; default LF).
    pub terminator: cprsift_format::write::Terminator,
    /// zstd level, when the files are compressed (`.zst`).
    pub zstd: Option<i32>,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            terminator: cprsift_format::write::Terminator::Lf,
            zstd: None,
        }
    }
}

impl OutputOptions {
    /// A data file's name with the compression suffix.
    pub(crate) fn file_name(&self, base: String) -> String {
        match self.zstd {
            Some(_) => base + ".zst",
            None => base,
        }
    }
}

/// Creates `dir` (and missing parents) with mode 0700 and makes sure it is 0700 (a folder
/// that already exists with another mode is changed).
pub(crate) fn private_dir(dir: &Path) -> Result<(), EngineError> {
    durable::ensure_private_dir(dir).map_err(EngineError::io(dir))
}

/// Counts and hashes the bytes that reach the file.
struct Hashing<W> {
    inner: W,
    sha: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Sink {
    Plain(Hashing<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, Hashing<BufWriter<File>>>),
}

/// What a committed file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Bytes of the file as stored (compressed when `.zst`).
    pub bytes: u64,
    /// Bytes before compression (equal to `bytes` when not compressed).
    pub uncompressed_bytes: u64,
    /// SHA-256 of the file as stored, hex.
    pub sha256: String,
}

/// A file being written; see the module documentation.
pub(crate) struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    sink: Option<Sink>,
    uncompressed: u64,
}

impl AtomicFile {
    /// Starts `dir/name` (the folder must exist). A stale temporary file of the same target
    /// (a crashed run) is replaced.
    pub fn create(dir: &Path, name: &str, zstd: Option<i32>) -> Result<AtomicFile, EngineError> {
        let target = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = durable::replace_private_file(&tmp).map_err(EngineError::io(&tmp))?;
        let hashing = Hashing {
            inner: BufWriter::with_capacity(1 << 20, file),
            sha: Sha256::new(),
            bytes: 0,
        };
        let mut out = AtomicFile {
            target,
            tmp,
            sink: None,
            uncompressed: 0,
        };
        out.sink = Some(match zstd {
            None => Sink::Plain(hashing),
            Some(level) => Sink::Zstd(
                zstd::stream::write::Encoder::new(hashing, level)
                    .map_err(EngineError::io(&out.tmp))?,
            ),
        });
        Ok(out)
    }

    /// Appends bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        self.uncompressed += bytes.len() as u64;
        let r = match &mut self.sink {
            Some(Sink::Plain(w)) => w.write_all(bytes),
            Some(Sink::Zstd(w)) => w.write_all(bytes),
            None => Ok(()),
        };
        r.map_err(EngineError::io(&self.tmp))
    }

    /// Flushes and hashes what was written; the open file is returned for the caller to sync.
    /// On an error the temporary file is removed.
    fn finish(&mut self) -> Result<(File, FileDigest), EngineError> {
        let hashing = match self.sink.take() {
            Some(Sink::Plain(w)) => Ok(w),
            Some(Sink::Zstd(w)) => w.finish(),
            None => Err(io::Error::other("the file was already finished")),
        };
        let (file, bytes, sha) = hashing
            .and_then(|mut h| {
                h.flush()?;
                let file = h.inner.into_inner().map_err(|e| e.into_error())?;
                Ok((file, h.bytes, h.sha))
            })
            .map_err(|e| {
                let _ = fs::remove_file(&self.tmp);
                EngineError::io(&self.tmp)(e)
            })?;
        let digest = FileDigest {
            bytes,
            uncompressed_bytes: self.uncompressed,
            sha256: hex::encode(sha.finalize()),
        };
        Ok((file, digest))
    }

    /// The finished temporary file, to be renamed.
    fn staged(&mut self, device: u64) -> StagedFile {
        StagedFile {
            tmp: Some(std::mem::take(&mut self.tmp)),
            target: std::mem::take(&mut self.target),
            device,
        }
    }

    /// Finishes the file alone: flush, fsync, rename over the target, fsync the folder.
    pub fn commit(mut self) -> Result<FileDigest, EngineError> {
        let (file, digest) = self.finish()?;
        let staged = self.staged(0);
        file.sync_all()
            .map_err(EngineError::io(staged.tmp_path()))?;
        drop(file);
        let dir = staged.rename()?;
        durable::sync_dir(&dir).map_err(EngineError::io(&dir))?;
        Ok(digest)
    }

    /// Finishes the file for a batch: flushed and closed, neither synced nor renamed; see
    /// [`publish`].
    pub fn stage(mut self) -> Result<(FileDigest, StagedFile), EngineError> {
        let (file, digest) = self.finish()?;
        let mut staged = self.staged(0);
        staged.device = file
            .metadata()
            .map_err(EngineError::io(staged.tmp_path()))?
            .dev();
        Ok((digest, staged))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.sink.is_some() {
            self.sink = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A finished temporary file waiting to be published; removed when dropped unpublished.
#[derive(Debug)]
pub(crate) struct StagedFile {
    /// The temporary file; `None` once renamed.
    tmp: Option<PathBuf>,
    target: PathBuf,
    /// The file system holding it (`st_dev`).
    device: u64,
}

impl StagedFile {
    fn tmp_path(&self) -> &Path {
        self.tmp.as_deref().unwrap_or(&self.target)
    }

    fn dir(&self) -> PathBuf {
        self.target
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// Renames the temporary file over the target; returns the folder.
    fn rename(mut self) -> Result<PathBuf, EngineError> {
        if let Some(tmp) = self.tmp.take() {
            if let Err(e) = fs::rename(&tmp, &self.target) {
                self.tmp = Some(tmp);
                return Err(EngineError::io(&self.target)(e));
            }
        }
        Ok(self.dir())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Flushes each file system named by one of its folders (syncfs(2): data, inodes, folders).
fn sync_file_systems(dirs: &[PathBuf]) -> Result<(), EngineError> {
    for dir in dirs {
        File::open(dir)
            .and_then(|d| rustix::fs::syncfs(&d).map_err(io::Error::from))
            .map_err(EngineError::io(dir))?;
    }
    Ok(())
}

/// Publishes staged files together: every file system holding one is flushed (the temporary
/// files' bytes are durable), all are renamed over their targets in the order given, and the
/// file systems are flushed again (the renames and any new folders are durable). A file
/// appears only whole; on an error the files not yet renamed are removed.
pub(crate) fn publish(files: Vec<StagedFile>) -> Result<(), EngineError> {
    let mut devices: Vec<u64> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in &files {
        if !devices.contains(&f.device) {
            devices.push(f.device);
            dirs.push(f.dir());
        }
    }
    sync_file_systems(&dirs)?;
    for f in files {
        f.rename()?;
    }
    sync_file_systems(&dirs)
}

/// Writes a small file whole (metadata, manifests), uncompressed.
pub(crate) fn write_whole(dir: &Path, name: &str, bytes: &[u8]) -> Result<FileDigest, EngineError> {
    let mut f = AtomicFile::create(dir, name, None)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Stages a small file (metadata) for [`publish`], uncompressed.
pub(crate) fn stage_whole(dir: &Path, name: &str, bytes: &[u8]) -> Result<StagedFile, EngineError> {
    let mut f = AtomicFile::create(dir, name, None)?;
    f.write_all(bytes)?;
    f.stage().map(|(_, staged)| staged)
}

/// The `.metadata` companion of a data file (SEMANTICS.md §3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMetadata {
    /// The subscriber.
    pub subscriber: String,
    /// The data file's name.
    pub file: String,
    /// PRODDTO of the extract (daily) or the replica's date (initial load), `YYYY-MM-DD`.
    pub proddto: String,
    /// Persons (blocks) in the file.
    pub persons: u64,
    /// Records in the file, 000 and 999 included.
    pub records: u64,
    /// The data file's size as stored and its SHA-256.
    #[serde(flatten)]
    pub digest: FileDigest,
}

impl FileMetadata {
    /// The companion's name and content.
    fn file_and_json(&self, dir: &Path) -> Result<(String, Vec<u8>), EngineError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| EngineError::Outbox {
            path: dir.join(&self.file),
            reason: e.to_string(),
        })?;
        Ok((format!("{}.metadata", self.file), json))
    }

    /// Writes `<file>.metadata` beside the data file.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), EngineError> {
        let (name, json) = self.file_and_json(dir)?;
        write_whole(dir, &name, &json).map(|_| ())
    }

    /// Stages `<file>.metadata` beside the data file, for [`publish`].
    pub(crate) fn stage(&self, dir: &Path) -> Result<StagedFile, EngineError> {
        let (name, json) = self.file_and_json(dir)?;
        stage_whole(dir, &name, &json)
    }
}

/// Where a run's manifests live: `<outbox>/_runs/` (a subscriber id cannot start with `_`, so
/// this folder can never be a subscriber's).
pub(crate) fn runs_dir(outbox: &Path) -> PathBuf {
    outbox.join("_runs")
}

/// Takes the outbox's lock for the duration of a run (one writer per outbox).
pub(crate) fn lock_outbox(outbox: &Path) -> Result<File, EngineError> {
    let runs = runs_dir(outbox);
    private_dir(&runs)?;
    let path = runs.join("LOCK");
    durable::try_lock_exclusive(&path)
        .map_err(EngineError::io(&path))?
        .ok_or(EngineError::Locked { path })
}

/// Reads a manifest if one exists.
pub(crate) fn read_manifest<T: for<'de> Deserialize<'de>>(
    path: &Path,
) -> Result<Option<T>, EngineError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| EngineError::Outbox {
                path: path.to_path_buf(),
                reason: format!("the manifest cannot be read: {e}"),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EngineError::io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_appear_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        private_dir(&sub).unwrap();
        assert_eq!(
            fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let mut f = AtomicFile::create(&sub, "x", None).unwrap();
        f.write_all(b"abc").unwrap();
        assert!(!sub.join("x").exists());
        let d = f.commit().unwrap();
        assert_eq!(fs::read(sub.join("x")).unwrap(), b"abc");
        assert_eq!(
            fs::metadata(sub.join("x")).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(d.bytes, 3);
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Dropped before commit: nothing stays behind.
        let mut g = AtomicFile::create(&sub, "y", Some(3)).unwrap();
        g.write_all(b"abc").unwrap();
        drop(g);
        let names: Vec<_> = fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x")]);
    }

    #[test]
    fn staged_files_appear_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        private_dir(&a).unwrap();
        private_dir(&b).unwrap();
        let staged = vec![
            stage_whole(&a, "x", b"1").unwrap(),
            stage_whole(&b, "y", b"22").unwrap(),
        ];
        assert!(!a.join("x").exists() && !b.join("y").exists());
        publish(staged).unwrap();
        assert_eq!(fs::read(a.join("x")).unwrap(), b"1");
        assert_eq!(fs::read(b.join("y")).unwrap(), b"22");
        // Staged but never published (an error elsewhere in the run): nothing stays behind.
        drop(stage_whole(&a, "z", b"3").unwrap());
        let names: Vec<_> = fs::read_dir(&a)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x")]);
        // A rename that fails (its folder vanished) stops the publish; the rest is removed.
        let c = dir.path().join("c");
        private_dir(&c).unwrap();
        let staged = vec![
            stage_whole(&c, "u", b"4").unwrap(),
            stage_whole(&a, "v", b"5").unwrap(),
        ];
        fs::rename(&c, dir.path().join("gone")).unwrap();
        assert!(publish(staged).is_err());
        assert!(!a.join("v").exists() && !a.join(".v.tmp").exists());
    }

    #[test]
    fn compressed_files_hash_what_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(dir.path(), "z.zst", Some(3)).unwrap();
        f.write_all(&[b'a'; 10_000]).unwrap();
        let d = f.commit().unwrap();
        let stored = fs::read(dir.path().join("z.zst")).unwrap();
        assert_eq!(d.bytes, stored.len() as u64);
        assert_eq!(d.uncompressed_bytes, 10_000);
        assert_eq!(d.sha256, hex::encode(Sha256::digest(&stored)));
        assert_eq!(zstd::decode_all(&stored[..]).unwrap(), vec![b'a'; 10_000]);
    }
}
