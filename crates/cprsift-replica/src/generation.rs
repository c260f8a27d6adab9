//! Building a new generation beside the current one and committing it, through the shared
//! generational store (`cprsift_io::generations`): a new segment is written beside the
//! generations (an atomic file, committed), the index and the manifest are written into the
//! new generation's temporary folder, which is named `gen-N` and made current by replacing
//! `CURRENT`. Until that switch nothing the current generation uses has been touched; after
//! it, what the new generation does not use is removed.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use cprsift_io::generations::{self, Generations, Writer};
use cprsift_io::{failpoint, AtomicFile, Folder};

use crate::dir::{self, Manifest};
use crate::error::ReplicaError;
use crate::index::{IndexWriter, ENTRY_BYTES, HEADER_BYTES, MAX_OFFSET};

/// Output buffer size for segments and indexes.
const WRITE_BUFFER: usize = 1 << 20;

/// A segment being written: appended to, then committed under its name.
pub(crate) struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<AtomicFile>,
    bytes: u64,
}

impl SegmentWriter {
    /// Starts the segment file `name` in the replica folder `root`.
    pub fn create(root: &Folder, name: &str) -> Result<Self, ReplicaError> {
        let path = root.join(name);
        let file = AtomicFile::create(root, name).map_err(ReplicaError::io(&path))?;
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

    /// Flushes, syncs and names the file; returns the size. Until a generation lists it, the
    /// clean-up removes it.
    pub fn finish(self) -> Result<u64, ReplicaError> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| ReplicaError::io(&self.path)(e.into_error()))?;
        file.commit().map_err(ReplicaError::io(&self.path))?;
        Ok(self.bytes)
    }
}

/// A generation being built.
pub(crate) struct NewGeneration<'w> {
    dir: PathBuf,
    writer: &'w Writer<'w>,
    gen: generations::NewGeneration<'w>,
    index_path: PathBuf,
    index: IndexWriter<BufWriter<AtomicFile>>,
}

impl<'w> NewGeneration<'w> {
    /// Starts the next generation (its temporary folder and its index), under `writer`'s lock.
    pub fn start(dir: &Path, writer: &'w Writer<'w>) -> Result<Self, ReplicaError> {
        let gen = writer.begin().map_err(ReplicaError::io(dir))?;
        let index_path = gen.folder().join(dir::INDEX);
        let file =
            AtomicFile::create(gen.folder(), dir::INDEX).map_err(ReplicaError::io(&index_path))?;
        let index = IndexWriter::new(BufWriter::with_capacity(WRITE_BUFFER, file))
            .map_err(ReplicaError::io(&index_path))?;
        Ok(NewGeneration {
            dir: dir.to_path_buf(),
            writer,
            gen,
            index_path,
            index,
        })
    }

    /// The replica folder (where segments are written).
    pub fn root(&self) -> &Folder {
        self.gen.root()
    }

    /// The new generation's number.
    pub fn generation(&self) -> u64 {
        self.gen.number()
    }

    /// Appends one encoded index entry.
    pub fn push(&mut self, raw: &[u8; ENTRY_BYTES]) -> Result<(), ReplicaError> {
        self.index
            .push_raw(raw)
            .map_err(ReplicaError::io(&self.index_path))
    }

    /// Finishes the index and the manifest (whose `generation`, `persons` and `index_bytes`
    /// are filled in here) and makes the generation current; then removes what it does not
    /// use. On an error before the switch the current generation is untouched; the caller
    /// removes the half-built files ([`cleanup_after_failure`]).
    pub fn commit(self, mut manifest: Manifest) -> Result<Manifest, ReplicaError> {
        let NewGeneration {
            dir,
            writer,
            gen,
            index_path,
            index,
        } = self;
        let (out, persons) = index.finish().map_err(ReplicaError::io(&index_path))?;
        let file = out
            .into_inner()
            .map_err(|e| ReplicaError::io(&index_path)(e.into_error()))?;
        file.commit().map_err(ReplicaError::io(&index_path))?;
        manifest.generation = gen.number();
        manifest.persons = persons;
        manifest.index_bytes = HEADER_BYTES as u64 + persons * ENTRY_BYTES as u64;
        let manifest_path = gen.folder().join(dir::MANIFEST);
        let mut file = AtomicFile::create(gen.folder(), dir::MANIFEST)
            .map_err(ReplicaError::io(&manifest_path))?;
        file.write_all(&dir::manifest_bytes(&manifest)?)
            .and_then(|()| file.commit())
            .map_err(ReplicaError::io(&manifest_path))?;
        gen.commit().map_err(ReplicaError::io(&dir))?;
        dir::collect_garbage(writer, &dir, Some(&manifest))?;
        Ok(manifest)
    }
}

/// After a failed init or apply (not a failpoint's simulated crash): removes every file the
/// generation that is current on disk does not use, so that a failure leaves no half-written
/// state. Best effort: what cannot be removed now, the next init or apply removes.
pub(crate) fn cleanup_after_failure(dir: &Path, gens: &Generations, writer: &Writer<'_>) {
    if failpoint::crashed() {
        return;
    }
    match gens.current() {
        Ok(Some(current)) => {
            if let Ok(manifest) = dir::read_manifest(gens, &current) {
                let _ = dir::collect_garbage(writer, dir, Some(&manifest));
            }
        }
        // No generation was ever committed (a failed init): nothing of it is in use.
        Ok(None) => {
            let _ = dir::collect_garbage(writer, dir, None);
        }
        Err(_) => {}
    }
}
