//! `status`: what an operator asks of a replica.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use cprsift_format::ContentId;
use serde::Serialize;

use crate::dir;
use crate::error::ReplicaError;
use crate::Replica;

/// One segment file.
#[derive(Clone, Debug, Serialize)]
pub struct SegmentStatus {
    /// Its name in the replica directory.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// The bytes the index points at; the rest is dead (replaced persons).
    pub live_bytes: u64,
}

/// One extract the replica has applied, as its history records it.
#[derive(Clone, Debug, Serialize)]
pub struct AppliedExtract {
    /// The file's name (no directory).
    pub file: String,
    /// Its PRODDTO.
    pub proddto: NaiveDate,
    /// Its PRODDTOFORRIG; `None` when zeros (a full extract).
    pub proddto_forrig: Option<NaiveDate>,
    /// Its OPGAVENR; `None` when an older version applied it without recording it.
    pub opgavenr: Option<String>,
    /// Its content identity (`blake3:<hex>`), which tells it from another file of the same
    /// date; `None` when an older version applied it without recording it.
    pub content_id: Option<ContentId>,
    /// Persons delivered in it.
    pub persons: u64,
    /// Of them, persons the replica did not hold before.
    pub new_persons: u64,
    /// A lenient apply: the person blocks set aside (not applied); `None` when strict.
    pub set_aside: Option<u64>,
}

/// The state of a replica.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The directory.
    pub dir: PathBuf,
    /// The current generation.
    pub generation: u64,
    /// PRODDTO of the last extract applied (YYYY-MM-DD).
    pub proddto: String,
    /// OPGAVENR of the last extract applied.
    pub opgavenr: String,
    /// Persons held.
    pub persons: u64,
    /// Persons per 001 STATUS (two digits; "00" for blank).
    pub persons_by_status: BTreeMap<String, u64>,
    /// Index bytes per person.
    pub index_bytes_per_person: usize,
    /// The index's size.
    pub index_bytes: u64,
    /// Bytes in segments.
    pub segment_bytes: u64,
    /// Bytes in segments no entry points at (reclaimed by compaction).
    pub dead_bytes: u64,
    /// The segments.
    pub segments: Vec<SegmentStatus>,
    /// Generation directories present (1 but for a moment during an apply).
    pub generations: u64,
    /// Extracts applied, the full extract included.
    pub extracts_applied: usize,
    /// The last extract applied (file name).
    pub last_extract: Option<String>,
    /// Every extract applied, the full extract first, each with its identity.
    pub history: Vec<AppliedExtract>,
}

/// Reads the status of the replica in `dir`.
pub fn status(dir: &Path) -> Result<Status, ReplicaError> {
    let replica = Replica::open(dir)?;
    let m = replica.manifest();
    let mut by_status = BTreeMap::new();
    for e in replica.entries() {
        *by_status.entry(format!("{:02}", e.status)).or_default() += 1;
    }
    Ok(Status {
        dir: dir.to_path_buf(),
        generation: m.generation,
        proddto: m.proddto.to_string(),
        opgavenr: m.opgavenr.clone(),
        persons: m.persons,
        persons_by_status: by_status,
        index_bytes_per_person: crate::ENTRY_BYTES,
        index_bytes: m.index_bytes,
        segment_bytes: m.segment_bytes(),
        dead_bytes: m.dead_bytes(),
        segments: m
            .segments
            .iter()
            .map(|s| SegmentStatus {
                file: s.file.clone(),
                bytes: s.bytes,
                live_bytes: s.live_bytes,
            })
            .collect(),
        generations: dir::generations_present(dir)?,
        extracts_applied: m.history.len(),
        last_extract: m.history.last().map(|a| a.file.clone()),
        history: m
            .history
            .iter()
            .map(|a| AppliedExtract {
                file: a.file.clone(),
                proddto: a.proddto,
                proddto_forrig: a.proddto_forrig,
                opgavenr: a.opgavenr.clone(),
                content_id: a.content_id,
                persons: a.persons,
                new_persons: a.new_persons,
                set_aside: a.set_aside,
            })
            .collect(),
    })
}
