//! Files that appear only whole (docs/rules.md §3, §7), written through `cprsift_io`'s one
//! atomic file (created exclusively under a fresh temporary name in its folder, mode 0600,
//! never through a link, made durable, renamed over the target). What is the engine's own is
//! here: an [`OutputFile`] hashes the bytes that reach the file and optionally zstd-compresses
//! them; a single file is committed alone ([`OutputFile::commit`]); a day's files (two per
//! subscriber) are staged and published together ([`publish`]: one `syncfs` per file system
//! before and after the renames, not four fsyncs per subscriber). Folders are opened once,
//! never through a link, and made private (0700): the outbox, each subscriber's folder,
//! `_runs/`.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use cprsift_io::lock::LockFile;
use cprsift_io::{AtomicFile, Folder, StagedFile};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EngineError;

/// Output framing and compression (docs/rules.md §3).
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

/// Opens the outbox (created 0700 with missing parents; made 0700; refused when it is a link
/// or another user's).
pub(crate) fn outbox_folder(outbox: &Path) -> Result<Folder, EngineError> {
    Folder::create_private(outbox).map_err(EngineError::io(outbox))
}

/// Opens a private folder in the outbox (a subscriber's, `_runs`): created 0700 or fixed to
/// it; a link, a non-folder or another user's folder is refused. Temporary files a crashed
/// run left in it are removed: the caller holds the outbox lock and has none there yet.
pub(crate) fn private_child(outbox: &Folder, name: &str) -> Result<Folder, EngineError> {
    let folder = outbox
        .private_child(name)
        .map_err(EngineError::io(outbox.join(name)))?;
    folder
        .remove_stale_temporaries()
        .map_err(EngineError::io(folder.path()))?;
    Ok(folder)
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
    Plain(Hashing<BufWriter<AtomicFile>>),
    Zstd(zstd::stream::write::Encoder<'static, Hashing<BufWriter<AtomicFile>>>),
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

/// An output file being written; see the module documentation. Dropped before its commit or
/// stage (an error on the way), its temporary file is removed.
pub(crate) struct OutputFile {
    tmp: PathBuf,
    sink: Option<Sink>,
    uncompressed: u64,
}

impl OutputFile {
    /// Starts `name` in `folder`; a target that is a link or a folder is refused.
    pub fn create(folder: &Folder, name: &str, zstd: Option<i32>) -> Result<Self, EngineError> {
        let file = AtomicFile::create(folder, name).map_err(EngineError::io(folder.join(name)))?;
        let tmp = file.temp_path();
        let hashing = Hashing {
            inner: BufWriter::with_capacity(1 << 20, file),
            sha: Sha256::new(),
            bytes: 0,
        };
        let sink = match zstd {
            None => Sink::Plain(hashing),
            Some(level) => Sink::Zstd(
                zstd::stream::write::Encoder::new(hashing, level).map_err(EngineError::io(&tmp))?,
            ),
        };
        Ok(OutputFile {
            tmp,
            sink: Some(sink),
            uncompressed: 0,
        })
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

    /// Flushes and hashes what was written; returns the atomic file, to be committed or staged.
    fn finish(mut self) -> Result<(AtomicFile, FileDigest), EngineError> {
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
            .map_err(EngineError::io(&self.tmp))?;
        let digest = FileDigest {
            bytes,
            uncompressed_bytes: self.uncompressed,
            sha256: hex::encode(sha.finalize()),
        };
        Ok((file, digest))
    }

    /// Finishes the file alone: flush, fsync, rename over the target, fsync the folder.
    pub fn commit(self) -> Result<FileDigest, EngineError> {
        let (file, digest) = self.finish()?;
        let target = file.path();
        file.commit().map_err(EngineError::io(target))?;
        Ok(digest)
    }

    /// Finishes the file for a batch: flushed and closed, neither synced nor renamed; see
    /// [`publish`].
    pub fn stage(self) -> Result<(FileDigest, StagedFile), EngineError> {
        let (file, digest) = self.finish()?;
        let target = file.path();
        let staged = file.stage().map_err(EngineError::io(target))?;
        Ok((digest, staged))
    }
}

/// Publishes staged files together (`cprsift_io::atomic::publish`: one `syncfs` per file
/// system, the renames in the order given, one more `syncfs`). A file appears only whole; on
/// an error the files not yet renamed are removed. `outbox` names the delivery in errors.
pub(crate) fn publish(files: Vec<StagedFile>, outbox: &Path) -> Result<(), EngineError> {
    cprsift_io::atomic::publish(files).map_err(EngineError::io(outbox))
}

/// Writes a small file whole (metadata, manifests), uncompressed.
pub(crate) fn write_whole(
    folder: &Folder,
    name: &str,
    bytes: &[u8],
) -> Result<FileDigest, EngineError> {
    let mut f = OutputFile::create(folder, name, None)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Stages a small file (metadata) for [`publish`], uncompressed.
pub(crate) fn stage_whole(
    folder: &Folder,
    name: &str,
    bytes: &[u8],
) -> Result<StagedFile, EngineError> {
    let mut f = OutputFile::create(folder, name, None)?;
    f.write_all(bytes)?;
    f.stage().map(|(_, staged)| staged)
}

/// The `.metadata` companion of a data file (docs/rules.md §3).
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
    pub(crate) fn write(&self, folder: &Folder) -> Result<(), EngineError> {
        let (name, json) = self.file_and_json(folder.path())?;
        write_whole(folder, &name, &json).map(|_| ())
    }

    /// Stages `<file>.metadata` beside the data file, for [`publish`].
    pub(crate) fn stage(&self, folder: &Folder) -> Result<StagedFile, EngineError> {
        let (name, json) = self.file_and_json(folder.path())?;
        stage_whole(folder, &name, &json)
    }
}

/// Where a run's manifests live: `<outbox>/_runs/` (a subscriber id cannot start with `_`, so
/// this folder can never be a subscriber's).
pub(crate) fn runs_dir(outbox: &Path) -> PathBuf {
    outbox.join(RUNS)
}

/// The name of `_runs/`, where a run's manifests live (see [`runs_dir`]).
pub(crate) const RUNS: &str = "_runs";

/// Checks the outbox's place without writing anything: absent (a run creates it) or a folder
/// cprsift may write in, by the same rules as every writer ([`Folder::open`]: a link or
/// something other than a folder is refused). For a run that turns out to write nothing.
pub fn check_outbox(outbox: &Path) -> Result<(), EngineError> {
    match Folder::open(outbox) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EngineError::io(outbox)(e)),
    }
}

/// Takes the outbox's lock (`_runs/LOCK`) for the duration of a run: one writer per outbox,
/// with the project's one lock policy (`cprsift_io::lock`: a bounded wait, then `locked`).
pub fn lock_outbox(outbox: &Path) -> Result<LockFile, EngineError> {
    let outbox = outbox_folder(outbox)?;
    let runs = outbox
        .private_child(RUNS)
        .map_err(EngineError::io(outbox.join(RUNS)))?;
    let lock = cprsift_io::lock::lock(&runs, "LOCK").map_err(EngineError::io(runs.join("LOCK")))?;
    runs.remove_stale_temporaries()
        .map_err(EngineError::io(runs.path()))?;
    Ok(lock)
}

/// Reads a manifest if one exists (never through a link).
pub(crate) fn read_manifest<T: for<'de> Deserialize<'de>>(
    path: &Path,
) -> Result<Option<T>, EngineError> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Ok(None);
    };
    match Folder::open(parent).and_then(|f| f.read(name)) {
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
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        let mut n: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn files_appear_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox_folder(&dir.path().join("a")).unwrap();
        let sub = private_child(&outbox, "b").unwrap();
        assert_eq!(
            fs::metadata(sub.path()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let mut f = OutputFile::create(&sub, "x", None).unwrap();
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
        let mut g = OutputFile::create(&sub, "y", Some(3)).unwrap();
        g.write_all(b"abc").unwrap();
        drop(g);
        assert_eq!(names(sub.path()), vec![std::ffi::OsString::from("x")]);
    }

    #[test]
    fn staged_files_appear_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox_folder(dir.path()).unwrap();
        let a = private_child(&outbox, "a").unwrap();
        let b = private_child(&outbox, "b").unwrap();
        let staged = vec![
            stage_whole(&a, "x", b"1").unwrap(),
            stage_whole(&b, "y", b"22").unwrap(),
        ];
        assert!(!a.join("x").exists() && !b.join("y").exists());
        publish(staged, dir.path()).unwrap();
        assert_eq!(fs::read(a.join("x")).unwrap(), b"1");
        assert_eq!(fs::read(b.join("y")).unwrap(), b"22");
        // Staged but never published (an error elsewhere in the run): nothing stays behind.
        drop(stage_whole(&a, "z", b"3").unwrap());
        assert_eq!(names(a.path()), vec![std::ffi::OsString::from("x")]);
        // A rename that fails (its folder vanished) stops the publish; the rest is removed.
        let c = private_child(&outbox, "c").unwrap();
        let staged = vec![
            stage_whole(&c, "u", b"4").unwrap(),
            stage_whole(&a, "v", b"5").unwrap(),
        ];
        fs::rename(c.path(), dir.path().join("gone")).unwrap();
        assert!(publish(staged, dir.path()).is_err());
        assert_eq!(names(a.path()), vec![std::ffi::OsString::from("x")]);
    }

    #[test]
    fn compressed_files_hash_what_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let folder = outbox_folder(dir.path()).unwrap();
        let mut f = OutputFile::create(&folder, "z.zst", Some(3)).unwrap();
        f.write_all(&[b'a'; 10_000]).unwrap();
        let d = f.commit().unwrap();
        let stored = fs::read(dir.path().join("z.zst")).unwrap();
        assert_eq!(d.bytes, stored.len() as u64);
        assert_eq!(d.uncompressed_bytes, 10_000);
        assert_eq!(d.sha256, hex::encode(Sha256::digest(&stored)));
        assert_eq!(zstd::decode_all(&stored[..]).unwrap(), vec![b'a'; 10_000]);
    }
}
