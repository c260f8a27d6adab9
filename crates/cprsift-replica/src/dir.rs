//! The replica directory on disk: names, the manifest, the CURRENT pointer, durable writes,
//! the lock, and removing what no generation uses.
//!
//! ```text
//! DIR/CURRENT                    "gen-000000000007\n": the current generation (atomic rename)
//! DIR/LOCK                       flock'd by init and apply
//! DIR/gen-000000000007/manifest.json
//! DIR/gen-000000000007/index.bin
//! DIR/seg-000000000001.dat ...   immutable segments, named by a counter never reused
//! ```

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use cprsift_io::durable;
use serde::{Deserialize, Serialize};

use crate::error::ReplicaError;

/// The pointer file naming the current generation.
pub(crate) const CURRENT: &str = "CURRENT";
const CURRENT_TMP: &str = "CURRENT.tmp";
/// The lock file.
pub(crate) const LOCK: &str = "LOCK";
/// The manifest's name inside a generation directory.
pub(crate) const MANIFEST: &str = "manifest.json";
/// The index's name inside a generation directory.
pub(crate) const INDEX: &str = "index.bin";
/// The manifest's format tag.
pub(crate) const FORMAT: &str = "cprsift-replica 1";

/// A generation directory's name.
pub(crate) fn generation_name(generation: u64) -> String {
    format!("gen-{generation:012}")
}

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

/// One applied extract, as the manifest's history records it.
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

/// Creates a directory with mode 0700 (and its parents as needed).
pub(crate) fn create_dir(path: &Path) -> Result<(), ReplicaError> {
    durable::create_private_dir(path).map_err(ReplicaError::io(path))
}

/// Creates a new file with mode 0600; fails if it exists.
pub(crate) fn create_file(path: &Path) -> Result<File, ReplicaError> {
    durable::create_private_file(path).map_err(ReplicaError::io(path))
}

/// Flushes a directory's entries (new names, renames) to disk.
pub(crate) fn sync_dir(path: &Path) -> Result<(), ReplicaError> {
    durable::sync_dir(path).map_err(ReplicaError::io(path))
}

/// Writes a small file durably: create, write, fsync.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), ReplicaError> {
    durable::write_new_file_durably(path, bytes).map_err(ReplicaError::io(path))
}

/// Renames `from` over `to` and fsyncs `to`'s directory.
pub(crate) fn rename_durably(from: &Path, to: &Path) -> Result<(), ReplicaError> {
    durable::rename_durably(from, to).map_err(ReplicaError::io(to))
}

/// Makes `generation` current: CURRENT.tmp written and synced, renamed over CURRENT, the
/// directory synced. The rename is the commit point.
pub(crate) fn switch_current(
    dir: &Path,
    generation: u64,
    steps: &mut Steps,
) -> Result<(), ReplicaError> {
    let tmp = dir.join(CURRENT_TMP);
    remove_if_present(&tmp)?;
    write_durably(
        &tmp,
        format!("{}\n", generation_name(generation)).as_bytes(),
    )?;
    steps.step()?;
    rename_durably(&tmp, &dir.join(CURRENT))?;
    steps.step()
}

fn remove_if_present(path: &Path) -> Result<(), ReplicaError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ReplicaError::io(path)(e)),
        _ => Ok(()),
    }
}

/// Reads CURRENT: the current generation's number.
pub(crate) fn read_current(dir: &Path) -> Result<u64, ReplicaError> {
    if !dir.is_dir() {
        return Err(ReplicaError::NotAReplica {
            dir: dir.to_path_buf(),
            reason: if dir.exists() {
                "it is not a directory"
            } else {
                "no such directory"
            }
            .into(),
        });
    }
    let path = dir.join(CURRENT);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ReplicaError::NotAReplica {
                dir: dir.to_path_buf(),
                reason: "it has no CURRENT file (if an init was interrupted, run it again)".into(),
            });
        }
        Err(e) => return Err(ReplicaError::io(&path)(e)),
    };
    text.trim()
        .strip_prefix("gen-")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ReplicaError::NotAReplica {
            dir: dir.to_path_buf(),
            reason: "its CURRENT file does not name a generation".into(),
        })
}

/// Reads a generation's manifest.
pub(crate) fn read_manifest(dir: &Path, generation: u64) -> Result<Manifest, ReplicaError> {
    let path = dir.join(generation_name(generation)).join(MANIFEST);
    let bytes = fs::read(&path).map_err(ReplicaError::io(&path))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| ReplicaError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if manifest.format != FORMAT || manifest.generation != generation {
        return Err(ReplicaError::Corrupt {
            path,
            reason: format!(
                "expected format {FORMAT:?}, generation {generation}; found {:?}, {}",
                manifest.format, manifest.generation
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

/// How long taking the lock waits before reporting another writer.
pub(crate) const LOCK_GRACE: Duration = Duration::from_secs(2);

/// The replica's lock, held while the value lives.
pub(crate) struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock of `dir`, waiting at most [`LOCK_GRACE`]: a second init or apply fails
    /// instead of queueing behind a running one.
    pub fn take(dir: &Path) -> Result<Lock, ReplicaError> {
        let path = dir.join(LOCK);
        // A short grace period: a lock can outlive its holder for a moment when a process
        // forked between its taking and its release (the child shares the open file until it
        // execs). A real concurrent writer holds it far longer.
        let deadline = Instant::now() + LOCK_GRACE;
        loop {
            match durable::try_lock_exclusive(&path).map_err(ReplicaError::io(&path))? {
                Some(file) => return Ok(Lock { _file: file }),
                None if Instant::now() >= deadline => {
                    return Err(ReplicaError::Locked {
                        dir: dir.to_path_buf(),
                    })
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

/// Counts durable steps and, for tests, stops after a chosen one as a crash would.
#[derive(Debug, Default)]
pub(crate) struct Steps {
    crash_after: Option<u32>,
    done: u32,
}

impl Steps {
    /// Steps that stop after `crash_after` steps (never, for `None`).
    pub fn new(crash_after: Option<u32>) -> Steps {
        Steps {
            crash_after,
            done: 0,
        }
    }

    /// Marks a step done; the failpoint error when it is the chosen one.
    pub fn step(&mut self) -> Result<(), ReplicaError> {
        self.done += 1;
        match self.crash_after {
            Some(k) if k == self.done => Err(ReplicaError::InjectedCrash { step: k }),
            _ => Ok(()),
        }
    }
}

/// Removes everything in `dir` that the current generation does not use: other generation
/// directories, segments it does not list, a stray CURRENT.tmp. Runs under the lock, after a
/// generation became current and before an apply starts (finishing an interrupted one).
pub(crate) fn collect_garbage(
    dir: &Path,
    current: Option<&Manifest>,
    steps: &mut Steps,
) -> Result<(), ReplicaError> {
    let keep_gen = current.map(|m| generation_name(m.generation));
    let entries = fs::read_dir(dir).map_err(ReplicaError::io(dir))?;
    let mut names: Vec<String> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(ReplicaError::io(dir))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let used = match name.as_str() {
            CURRENT | LOCK => true,
            CURRENT_TMP => false,
            n if n.starts_with("gen-") => keep_gen.as_deref() == Some(n),
            n if n.starts_with("seg-") => {
                current.is_some_and(|m| m.segments.iter().any(|s| s.file == n))
            }
            _ => true,
        };
        if used {
            continue;
        }
        if path.is_dir() {
            fs::remove_dir_all(&path).map_err(ReplicaError::io(&path))?;
        } else {
            fs::remove_file(&path).map_err(ReplicaError::io(&path))?;
        }
        steps.step()?;
    }
    sync_dir(dir)
}

/// The generation directories present (the current one and any not yet removed).
pub(crate) fn generations_present(dir: &Path) -> Result<u64, ReplicaError> {
    let mut n = 0;
    for entry in fs::read_dir(dir).map_err(ReplicaError::io(dir))? {
        let entry = entry.map_err(ReplicaError::io(dir))?;
        if entry.file_name().to_string_lossy().starts_with("gen-") {
            n += 1;
        }
    }
    Ok(n)
}
