//! Building a new generation beside the current one and committing it: a new segment, the
//! index and the manifest are written and synced in a `gen-N.tmp` directory, renamed to
//! `gen-N`, and made current by renaming a new `CURRENT` into place. Until that rename
//! nothing the current generation uses has been touched; after it, old files are removed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::dir::{self, Manifest, Steps};
use crate::error::ReplicaError;
use crate::index::{IndexWriter, ENTRY_BYTES, MAX_OFFSET};

/// Output buffer size for segments and indexes.
const WRITE_BUFFER: usize = 1 << 20;

/// A segment being written: appended to, then synced.
pub(crate) struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
}

impl SegmentWriter {
    /// Creates the segment file `name` in `dir`.
    pub fn create(dir: &Path, name: &str) -> Result<Self, ReplicaError> {
        let path = dir.join(name);
        let file = dir::create_file(&path)?;
        Ok(SegmentWriter {
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            path,
            bytes: 0,
        })
    }

    /// Appends stored bytes; returns their offset.
    pub fn append(&mut self, bytes: &[u8]) -> Result<u64, ReplicaError> {
        let offset = self.bytes;
        if offset + bytes.len() as u64 > MAX_OFFSET {
            return Err(ReplicaError::Corrupt {
                path: self.path.clone(),
                reason: "a segment cannot grow beyond 2^48 bytes".into(),
            });
        }
        self.out
            .write_all(bytes)
            .map_err(ReplicaError::io(&self.path))?;
        self.bytes += bytes.len() as u64;
        Ok(offset)
    }

    /// The bytes written so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Flushes and syncs; returns the size.
    pub fn finish(self) -> Result<u64, ReplicaError> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| ReplicaError::io(&self.path)(e.into_error()))?;
        file.sync_all().map_err(ReplicaError::io(&self.path))?;
        Ok(self.bytes)
    }
}

/// A generation being built.
pub(crate) struct NewGeneration {
    pub dir: PathBuf,
    pub generation: u64,
    tmp: PathBuf,
    index_path: PathBuf,
    index: IndexWriter<BufWriter<File>>,
}

impl NewGeneration {
    /// Starts generation `generation` in `dir` (its directory `gen-N.tmp` and its index).
    pub fn start(dir: &Path, generation: u64) -> Result<Self, ReplicaError> {
        let tmp = dir.join(format!("{}.tmp", dir::generation_name(generation)));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(ReplicaError::io(&tmp))?;
        }
        dir::create_dir(&tmp)?;
        let index_path = tmp.join(dir::INDEX);
        let file = dir::create_file(&index_path)?;
        let index = IndexWriter::new(BufWriter::with_capacity(WRITE_BUFFER, file))
            .map_err(ReplicaError::io(&index_path))?;
        Ok(NewGeneration {
            dir: dir.to_path_buf(),
            generation,
            tmp,
            index_path,
            index,
        })
    }

    /// Appends one encoded index entry.
    pub fn push(&mut self, raw: &[u8; ENTRY_BYTES]) -> Result<(), ReplicaError> {
        self.index
            .push_raw(raw)
            .map_err(ReplicaError::io(&self.index_path))
    }

    /// Finishes the index and the manifest (whose `persons` and `index_bytes` are filled in
    /// here), renames the directory into place and makes it current; then removes what the
    /// new generation does not use. On an error before the switch the current generation is
    /// untouched; the caller removes the half-built files ([`cleanup_after_failure`]).
    pub fn commit(
        self,
        mut manifest: Manifest,
        steps: &mut Steps,
    ) -> Result<Manifest, ReplicaError> {
        let NewGeneration {
            dir,
            generation,
            tmp,
            index_path,
            index,
        } = self;
        let (out, persons) = index.finish().map_err(ReplicaError::io(&index_path))?;
        let file = out
            .into_inner()
            .map_err(|e| ReplicaError::io(&index_path)(e.into_error()))?;
        file.sync_all().map_err(ReplicaError::io(&index_path))?;
        manifest.persons = persons;
        manifest.index_bytes = file
            .metadata()
            .map_err(ReplicaError::io(&index_path))?
            .len();
        steps.step()?;
        dir::write_durably(&tmp.join(dir::MANIFEST), &dir::manifest_bytes(&manifest)?)?;
        dir::sync_dir(&tmp)?;
        steps.step()?;
        let final_dir = dir.join(dir::generation_name(generation));
        dir::rename_durably(&tmp, &final_dir)?;
        steps.step()?;
        dir::switch_current(&dir, generation, steps)?;
        dir::collect_garbage(&dir, Some(&manifest), steps)?;
        Ok(manifest)
    }
}

/// After a failed init or apply (not a simulated crash): removes every file the generation
/// that is current on disk does not use, so that a failure leaves no half-written state.
/// Best effort: what cannot be removed now, the next apply removes.
pub(crate) fn cleanup_after_failure(dir: &Path) {
    let mut steps = Steps::new(None);
    match dir::read_current(dir) {
        Ok(generation) => {
            if let Ok(manifest) = dir::read_manifest(dir, generation) {
                let _ = dir::collect_garbage(dir, Some(&manifest), &mut steps);
            }
        }
        // No generation was ever committed (a failed init): nothing of it is in use.
        Err(_) if !dir.join(dir::CURRENT).exists() => {
            let _ = dir::collect_garbage(dir, None, &mut steps);
        }
        Err(_) => {}
    }
}
