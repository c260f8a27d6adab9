//! The replica directory on disk: the manifest, segment names, and what the replica adds to
//! the shared generational store (`cprsift_io::generations`: `CURRENT`, `LOCK`, `gen-N/`, the
//! clean-up rule): which files a generation references.
//!
//! ```text
//! DIR/CURRENT                    "gen-000000000007\n": the current generation (atomic rename)
//! DIR/LOCK                       flock'd by init and apply
//! DIR/gen-000000000007/manifest.json
//! DIR/gen-000000000007/index.bin
//! DIR/seg-000000000001.dat ...   immutable segments, named by a counter never reused
//! ```

use std::io;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use cprsift_format::ContentId;
use cprsift_io::generations::{parse_generation_name, Claim, Current, Generations, Writer};
use serde::{Deserialize, Serialize};

use crate::error::ReplicaError;

/// The manifest's name inside a generation directory.
pub(crate) const MANIFEST: &str = "manifest.json";
/// The index's name inside a generation directory.
pub(crate) const INDEX: &str = "index.bin";
/// The manifest's format tag.
pub(crate) const FORMAT: &str = "cprsift-replica 1";

/// A segment file's name.
pub(crate) fn segment_name(id: u64) -> String {
    format!("seg-{id:012}.dat")
}

/// One segment as the manifest lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SegmentInfo {
    /// The file name in the replica directory.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// The bytes of it that the index points at.
    pub live_bytes: u64,
}

/// One applied extract, as the manifest's history records it. The identity fields
/// (`content_id`, `opgavenr`, `set_aside`) came with the sequence rules that use them;
/// manifests written before have none, so they default to absent when read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Applied {
    /// The file's name (no directory), for the operator.
    pub file: String,
    /// Its PRODDTO.
    pub proddto: NaiveDate,
    /// Its PRODDTOFORRIG, when not zeros.
    pub proddto_forrig: Option<NaiveDate>,
    /// Persons delivered in it.
    pub persons: u64,
    /// Of them, persons the replica did not hold before.
    pub new_persons: u64,
    /// Its content identity (BLAKE3 of the file, `blake3:<hex>`): what "already applied"
    /// compares. `None` in entries written before identities were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<ContentId>,
    /// Its OPGAVENR (six digits). `None` in entries written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opgavenr: Option<String>,
    /// For a lenient apply, the number of person blocks the caller set aside (not applied);
    /// `None` for a strict apply (and for init, always strict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_aside: Option<u64>,
}

/// Everything a generation is, apart from its index: small JSON, written once.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The generation number (also in the directory's name).
    pub generation: u64,
    /// PRODDTO of the last extract applied (or of the full extract).
    pub proddto: NaiveDate,
    /// OPGAVENR of the last extract applied.
    pub opgavenr: String,
    /// Persons in the index.
    pub persons: u64,
    /// The index file's size.
    pub index_bytes: u64,
    /// The segments, in slot order (an index entry's segment number is a position here).
    pub segments: Vec<SegmentInfo>,
    /// The next segment file number.
    pub next_segment: u64,
    /// The full extract, then every change extract applied, oldest first.
    pub history: Vec<Applied>,
}

impl Manifest {
    /// Bytes in segments that no index entry points at.
    pub fn dead_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes - s.live_bytes).sum()
    }

    /// Bytes in segments.
    pub fn segment_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }
}

/// Opens the replica folder and reads its current generation.
pub(crate) fn read_current(dir: &Path) -> Result<(Generations, Current), ReplicaError> {
    let not_a_replica = |reason: &str| ReplicaError::NotAReplica {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    };
    let gens = match Generations::open(dir) {
        Ok(g) => g,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(not_a_replica("no such directory"))
        }
        Err(e) => {
            return Err(match cprsift_io::error::unsafe_path(&e) {
                Some(r) if r.reason == cprsift_io::error::Unsafe::NotAFolder => {
                    not_a_replica("it is not a directory")
                }
                _ => ReplicaError::io(dir)(e),
            })
        }
    };
    match gens.current() {
        Ok(Some(current)) => Ok((gens, current)),
        Ok(None) => Err(not_a_replica(
            "it has no CURRENT file (if an init was interrupted, run it again)",
        )),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            Err(not_a_replica("its CURRENT file does not name a generation"))
        }
        Err(e) => Err(ReplicaError::io(gens.root().join("CURRENT"))(e)),
    }
}

/// Reads a generation's manifest.
pub(crate) fn read_manifest(
    gens: &Generations,
    current: &Current,
) -> Result<Manifest, ReplicaError> {
    let path = gens.root().join(&current.name).join(MANIFEST);
    let bytes = gens
        .folder(current)
        .and_then(|f| f.read(MANIFEST))
        .map_err(ReplicaError::io(&path))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| ReplicaError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if manifest.format != FORMAT || manifest.generation != current.number {
        return Err(ReplicaError::Corrupt {
            path,
            reason: format!(
                "expected format {FORMAT:?}, generation {}; found {:?}, {}",
                current.number, manifest.format, manifest.generation
            ),
        });
    }
    Ok(manifest)
}

/// Serialises a manifest.
pub(crate) fn manifest_bytes(manifest: &Manifest) -> Result<Vec<u8>, ReplicaError> {
    let mut bytes = serde_json::to_vec_pretty(manifest).map_err(|e| ReplicaError::Corrupt {
        path: PathBuf::from(MANIFEST),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// True for a segment file's name.
pub(crate) fn is_segment(name: &str) -> bool {
    name.starts_with("seg-") && name.ends_with(".dat")
}

/// Takes the replica's lock (bounded wait, then `locked`: `cprsift_io::lock`).
pub(crate) fn lock(gens: &Generations) -> Result<Writer<'_>, ReplicaError> {
    gens.lock()
        .map_err(ReplicaError::io(gens.root().join(cprsift_io::lock::LOCK)))
}

/// Removes everything in the replica folder that the current generation (`current`; none
/// before an init's first commit) does not use: other generations, temporaries, segments it
/// does not list. Runs under the lock at the start of every init and apply (finishing an
/// interrupted one) and after every commit.
pub(crate) fn collect_garbage(
    writer: &Writer<'_>,
    dir: &Path,
    current: Option<&Manifest>,
) -> Result<(), ReplicaError> {
    let claim = |name: &str| {
        if !is_segment(name) {
            Claim::Foreign
        } else if current.is_some_and(|m| m.segments.iter().any(|s| s.file == name)) {
            Claim::Keep
        } else {
            Claim::Remove
        }
    };
    writer.clean(&claim).map_err(ReplicaError::io(dir))
}

/// The generation directories present (the current one and any not yet removed).
pub(crate) fn generations_present(dir: &Path) -> Result<u64, ReplicaError> {
    let gens = Generations::open(dir).map_err(ReplicaError::io(dir))?;
    let names = gens.root().names().map_err(ReplicaError::io(dir))?;
    Ok(names
        .iter()
        .filter(|n| parse_generation_name(n).is_some())
        .count() as u64)
}
