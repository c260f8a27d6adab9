//! The CPR replica: "the full extract plus every change since" (docs/rules.md §5), kept exact,
//! cheap to update and impossible to corrupt.
//!
//! A replica directory holds immutable **segment** files (each person's canonical block and
//! its 003 record(s), back to back) and **generations**: a small JSON manifest plus a
//! fixed-width index sorted by PNR ([`ENTRY_BYTES`] bytes per person). A `CURRENT` file names the
//! current generation; changing the replica builds a new generation beside it and renames a
//! new `CURRENT` into place, through the shared generational store of
//! `cprsift_io::generations` (its lock, clean-up rule and failpoints). See `ARCHITECTURE.md`
//! for the design and its guarantees.
//!
//! - [`init`] builds a replica from a full extract ([`init_checked`] from one the caller has
//!   read);
//! - [`apply`] applies change extracts in sequence ([`apply_checked`] applies extracts the
//!   caller has read: the nightly run delivers and applies one read of the file);
//! - [`Replica::sequence`] says where a change extract stands (the rule both use);
//! - [`export`] writes the replica as one extract;
//! - [`Replica`] is the read-only, memory-mapped view the fan-out engine uses.
//!
//! Every extract is read once, by [`cprsift_format::CheckedExtract::read`], by the caller:
//! nothing here maps or validates an extract a second time. The replica's history records each
//! extract's content identity, so "already applied" means the same file, not just the same
//! date.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use cprsift_format::{ContentId, Header, Pnr};
use cprsift_io::generations::{Current, Generations};
use cprsift_io::MappedFile;

mod apply;
mod dir;
mod error;
mod export;
mod generation;
mod index;
mod init;
mod sequence;
mod status;
mod stored;

pub use apply::{apply, apply_checked, ApplyOptions, ApplyOutcome, ChangeExtract, MAX_SEGMENTS};
pub use error::ReplicaError;
pub use export::{export, ExportReport};
pub use index::{IndexEntry, ENTRY_BYTES};
pub use init::{init, init_checked, InitOptions, InitReport};
pub use sequence::{short_id, Difference, Sequence};
pub use status::{status, AppliedExtract, SegmentStatus, Status};

use dir::Manifest;
use index::{decode, key_of, location_of, Location, HEADER_BYTES};
use sequence::Standing;

/// One stored person: its index entry and its bytes, borrowed from the mapped segment.
#[derive(Clone, Copy, Debug)]
pub struct StoredPerson<'a> {
    /// What the index holds for the person.
    pub entry: IndexEntry,
    /// The block's canonical records (LF-terminated), without 003 and without 099.
    pub block: &'a [u8],
    /// The person's 003 record(s), canonical and LF-terminated; empty when none.
    pub clear_address: &'a [u8],
}

/// A read-only view of a replica's current generation. Everything is memory-mapped: opening
/// costs one pass over the index to check it (no parsing of blocks), and every block handed
/// out is a slice of a mapped segment. A view stays valid while later applies run: segments
/// are never rewritten in place, and removed files stay readable while mapped.
#[derive(Debug)]
pub struct Replica {
    dir: PathBuf,
    manifest: Manifest,
    opgavenr: [u8; 6],
    index: MappedFile,
    len: usize,
    segments: Vec<MappedFile>,
}

/// How often [`Replica::open`] retries when an apply removes the generation it was opening.
const OPEN_ATTEMPTS: usize = 5;

impl Replica {
    /// Opens the current generation of the replica in `dir`.
    pub fn open(dir: &Path) -> Result<Replica, ReplicaError> {
        let mut attempt = 0;
        loop {
            let (gens, current) = dir::read_current(dir)?;
            match Self::open_generation(dir, &gens, &current) {
                // An apply switched generations and removed this one while we opened it.
                Err(ReplicaError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && attempt + 1 < OPEN_ATTEMPTS
                        && dir::read_current(dir)?.1 != current =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Maps a generation's index and segments, each opened without following a link.
    fn open_generation(
        dir: &Path,
        gens: &Generations,
        current: &Current,
    ) -> Result<Replica, ReplicaError> {
        let manifest = dir::read_manifest(gens, current)?;
        let gen_dir = dir.join(&current.name);
        let index_path = gen_dir.join(dir::INDEX);
        let index = gens
            .folder(current)
            .and_then(|f| f.open_file(dir::INDEX))
            .and_then(|f| MappedFile::map(f, &index_path))
            .map_err(ReplicaError::io(&index_path))?;
        let corrupt = |path: &Path, reason: String| ReplicaError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let len = index::read_header(&index).map_err(|r| corrupt(&index_path, r))?;
        if len as u64 != manifest.persons {
            return Err(corrupt(
                &index_path,
                format!("{len} persons, the manifest says {}", manifest.persons),
            ));
        }
        let mut segments = Vec::with_capacity(manifest.segments.len());
        for s in &manifest.segments {
            let path = dir.join(&s.file);
            let map = gens
                .root()
                .open_file(&s.file)
                .and_then(|f| MappedFile::map(f, &path))
                .map_err(ReplicaError::io(&path))?;
            if map.len() as u64 != s.bytes {
                return Err(corrupt(
                    &path,
                    format!("{} bytes, the manifest says {}", map.len(), s.bytes),
                ));
            }
            segments.push(map);
        }
        let opgavenr = <[u8; 6]>::try_from(manifest.opgavenr.as_bytes())
            .ok()
            .filter(|o| o.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| {
                corrupt(
                    &gen_dir.join(dir::MANIFEST),
                    "OPGAVENR is not 6 digits".into(),
                )
            })?;
        let replica = Replica {
            dir: dir.to_path_buf(),
            manifest,
            opgavenr,
            index,
            len,
            segments,
        };
        replica
            .verify_index()
            .map_err(|r| corrupt(&index_path, r))?;
        Ok(replica)
    }

    /// Checks that keys ascend and every entry points inside its segment, so that no later
    /// access can fail.
    fn verify_index(&self) -> Result<(), String> {
        let mut last = None;
        for i in 0..self.len {
            let raw = self.raw(i);
            let (key, loc) = (key_of(raw), location_of(raw));
            if last.is_some_and(|l| l >= key) {
                return Err(format!("entry {i} is out of order"));
            }
            last = Some(key);
            let fits = self
                .segments
                .get(usize::from(loc.segment))
                .is_some_and(|s| loc.offset.saturating_add(loc.len()) <= s.len() as u64);
            if !fits {
                return Err(format!("entry {i} points outside its segment"));
            }
        }
        Ok(())
    }

    fn raw(&self, i: usize) -> &[u8] {
        let at = HEADER_BYTES + i * ENTRY_BYTES;
        &self.index[at..at + ENTRY_BYTES]
    }

    /// The replica's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The generation number of this view.
    pub fn generation(&self) -> u64 {
        self.manifest.generation
    }

    /// PRODDTO of the last extract applied: the date the replica's state is of.
    pub fn proddto(&self) -> NaiveDate {
        self.manifest.proddto
    }

    /// OPGAVENR of the last extract applied.
    pub fn opgavenr(&self) -> [u8; 6] {
        self.opgavenr
    }

    /// The number of persons (PNRs) held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the replica holds nobody.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The position of `pnr` in the index.
    fn position(&self, pnr: Pnr) -> Option<usize> {
        let key = pnr.key();
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = key_of(self.raw(mid));
            match k.cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// True when the replica holds `pnr`.
    pub fn contains(&self, pnr: Pnr) -> bool {
        self.position(pnr).is_some()
    }

    /// The index entry of `pnr`.
    pub fn lookup(&self, pnr: Pnr) -> Option<IndexEntry> {
        self.position(pnr).map(|i| self.entry_at(i))
    }

    /// Every index entry, in ascending PNR order.
    pub fn entries(&self) -> impl Iterator<Item = IndexEntry> + '_ {
        (0..self.len).map(|i| self.entry_at(i))
    }

    /// The `i`-th entry in PNR order (`i < len()`), for splitting work into ranges.
    pub fn entry_at(&self, i: usize) -> IndexEntry {
        decode(self.raw(i)).0
    }

    pub(crate) fn location_at(&self, i: usize) -> Location {
        decode(self.raw(i)).1
    }

    /// The stored person `pnr`.
    pub fn person(&self, pnr: Pnr) -> Option<StoredPerson<'_>> {
        self.position(pnr).map(|i| self.person_at(i))
    }

    /// The `i`-th stored person in PNR order (`i < len()`).
    pub fn person_at(&self, i: usize) -> StoredPerson<'_> {
        let (entry, loc) = decode(self.raw(i));
        let bytes = self.stored_bytes(&loc);
        let split = (loc.block_len as usize).min(bytes.len());
        StoredPerson {
            entry,
            block: &bytes[..split],
            clear_address: &bytes[split..],
        }
    }

    /// The bytes a location points at (checked on open to lie inside the segment).
    pub(crate) fn stored_bytes(&self, loc: &Location) -> &[u8] {
        let start = usize::try_from(loc.offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(loc.len()).unwrap_or(usize::MAX));
        self.segments
            .get(usize::from(loc.segment))
            .and_then(|s| s.get(start..end))
            .unwrap_or(&[])
    }

    /// Where a change extract stands against this replica (docs/rules.md §5.5), by the one
    /// rule `apply` uses: the nightly run asks it before delivering anything.
    ///
    /// - PRODDTO not newer than the replica's: [`Sequence::AlreadyApplied`] when the history
    ///   holds an extract of that PRODDTO with the same content identity `id` (an entry
    ///   written by an older version, without identity, matches by its date alone); otherwise
    ///   [`ReplicaError::DifferentExtract`].
    /// - Otherwise PRODDTOFORRIG must be the replica's PRODDTO, else
    ///   [`ReplicaError::SequenceGap`].
    /// - Once a change extract has been applied, OPGAVENR must be that of the last one applied,
    ///   or `accept_opgavenr`, else [`ReplicaError::OpgavenrMismatch`]. The first change
    ///   extract after `init` may carry any job number (a full extract's job differs from the
    ///   daily one's).
    /// - Otherwise [`Sequence::Next`].
    ///
    /// `path` names the file in the error.
    pub fn sequence(
        &self,
        header: &Header,
        id: ContentId,
        accept_opgavenr: Option<[u8; 6]>,
        path: &Path,
    ) -> Result<Sequence, ReplicaError> {
        let standing = Standing::of(&self.manifest, self.opgavenr);
        standing
            .decide(header, id, accept_opgavenr)
            .map_err(|refusal| standing.error(refusal, path, header))
    }

    pub(crate) fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}
