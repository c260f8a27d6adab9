//! `apply`: change extracts applied in sequence, each as one new generation whose cost is
//! proportional to the change (a new segment with the delivered persons, a rewritten index),
//! not to the replica.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use cprsift_format::{ExtractOptions, PersonBlock};
use cprsift_io::MappedFile;
use rayon::prelude::*;

use cprsift_io::generations::Writer;

use crate::dir::{self, Applied, Manifest, SegmentInfo};
use crate::error::ReplicaError;
use crate::generation::{cleanup_after_failure, NewGeneration, SegmentWriter};
use crate::index::{decode, encode, IndexEntry, Location};
use crate::init::file_name;
use crate::stored::{
    append_person, check_strict, input_error, open_extract, opgavenr_of, proddto_of, Appended,
};
use crate::{Replica, Sequence};

/// At most this many segments: past it, the smallest are merged into the next new one.
pub const MAX_SEGMENTS: usize = 32;

/// How `apply` reads the extracts. (Crash tests stop an apply with the shared failpoints of
/// `cprsift_io::failpoint`, not with an option.)
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    /// Reading options (strict-unknown).
    pub extract: ExtractOptions,
}

/// What happened to one change extract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied: a new generation is current.
    Applied {
        /// The file.
        path: PathBuf,
        /// Its PRODDTO, now the replica's.
        proddto: NaiveDate,
        /// Persons delivered in it (each replaced or added).
        persons: u64,
        /// Of them, persons the replica did not hold.
        new_persons: u64,
        /// The new generation's number.
        generation: u64,
        /// Bytes written to the new segment (the change, plus live data of compacted segments).
        segment_bytes: u64,
        /// Older segments compacted into the new one.
        compacted_segments: usize,
    },
    /// Its PRODDTO is not newer than the replica's: skipped.
    AlreadyApplied {
        /// The file.
        path: PathBuf,
        /// Its PRODDTO.
        proddto: NaiveDate,
        /// The replica's PRODDTO.
        replica: NaiveDate,
    },
}

/// Applies change extracts to the replica in `dir`, in PRODDTO order, each as its own
/// generation. The whole sequence is checked first: a gap anywhere refuses the call before
/// anything changes. A file already applied is skipped. A file found invalid stops the call:
/// files before it stay applied, nothing of it is.
pub fn apply(
    dir: &Path,
    extract_paths: &[PathBuf],
    opts: ApplyOptions,
) -> Result<Vec<ApplyOutcome>, ReplicaError> {
    let (gens, _) = dir::read_current(dir)?;
    let writer = dir::lock(&gens)?;
    let result = (|| {
        // Finish what an interrupted apply left: files the current generation does not use.
        // This runs even when every file turns out to be applied already.
        let current = Replica::open(dir)?;
        dir::collect_garbage(&writer, dir, Some(current.manifest()))?;
        let ordered = plan(&current, extract_paths, opts.extract)?;
        let mut current = Some(current);
        let mut outcomes = Vec::new();
        for path in ordered {
            // The view opened for the plan serves the first file; later ones need the new
            // generation.
            let replica = match current.take() {
                Some(r) => r,
                None => Replica::open(dir)?,
            };
            outcomes.push(apply_one(replica, &path, opts.extract, &writer)?);
        }
        Ok(outcomes)
    })();
    if result.is_err() {
        cleanup_after_failure(dir, &gens, &writer);
    }
    result
}

/// Orders the files by PRODDTO and checks that they chain onto the replica.
fn plan(
    replica: &Replica,
    paths: &[PathBuf],
    options: ExtractOptions,
) -> Result<Vec<PathBuf>, ReplicaError> {
    let mut dated = Vec::with_capacity(paths.len());
    for path in paths {
        let map = MappedFile::open(path).map_err(ReplicaError::io(path))?;
        let extract = open_extract(&map, path, options)?;
        dated.push((proddto_of(&extract, path)?, extract.proddto_forrig(), path));
    }
    dated.sort_by_key(|&(proddto, _, _)| proddto);
    let mut last = replica.proddto();
    for &(proddto, forrig, path) in &dated {
        if proddto <= last {
            continue;
        }
        if forrig != Some(last) {
            return Err(ReplicaError::SequenceGap {
                path: path.clone(),
                replica: replica.proddto(),
                follows: Some(last),
                proddto,
                proddto_forrig: forrig,
            });
        }
        last = proddto;
    }
    Ok(dated.into_iter().map(|(_, _, p)| p.clone()).collect())
}

/// One delivered person, canonical, ready to be written.
struct Delivered {
    bytes: Vec<u8>,
    appended: Appended,
}

fn apply_one(
    replica: Replica,
    path: &Path,
    options: ExtractOptions,
    writer: &Writer<'_>,
) -> Result<ApplyOutcome, ReplicaError> {
    let dir = replica.dir().to_path_buf();
    let dir = dir.as_path();
    let map = MappedFile::open(path).map_err(ReplicaError::io(path))?;
    let extract = open_extract(&map, path, options)?;
    let proddto = proddto_of(&extract, path)?;
    let forrig = extract.proddto_forrig();
    match replica.sequence(forrig, proddto) {
        Sequence::Next => {}
        Sequence::AlreadyApplied => {
            return Ok(ApplyOutcome::AlreadyApplied {
                path: path.to_path_buf(),
                proddto,
                replica: replica.proddto(),
            })
        }
        Sequence::Gap => {
            return Err(ReplicaError::SequenceGap {
                path: path.to_path_buf(),
                replica: replica.proddto(),
                follows: None,
                proddto,
                proddto_forrig: forrig,
            })
        }
    }
    let opgavenr = opgavenr_of(&extract, path)?;
    check_strict(&extract, path)?;
    let mut blocks: Vec<PersonBlock<'_>> = extract
        .blocks()
        .map(|b| b.map_err(|e| input_error(&extract, path, e)))
        .collect::<Result<_, _>>()?;
    blocks.sort_by_key(PersonBlock::pnr);
    let tail = extract.tail_index();
    let delivered: Vec<Delivered> = blocks
        .par_iter()
        .map(|block| {
            let mut bytes = Vec::new();
            let appended = append_person(&mut bytes, block, &tail, path)?;
            Ok(Delivered { bytes, appended })
        })
        .collect::<Result<_, ReplicaError>>()?;
    drop(blocks);

    let old = replica.manifest();
    let compaction = Compaction::plan(&replica, &delivered);
    let mut gen = NewGeneration::start(dir, writer)?;
    let generation = gen.generation();
    let segment_file = dir::segment_name(old.next_segment);
    let mut segment = SegmentWriter::create(gen.root(), &segment_file)?;
    let new_slot = compaction.kept.len() as u16;
    let mut live = vec![0u64; compaction.kept.len() + 1];
    let mut new_persons = 0u64;
    let mut put = |gen: &mut NewGeneration<'_>, entry: &IndexEntry, loc: Location| {
        live[usize::from(loc.segment)] += loc.len();
        gen.push(&encode(entry, &loc))
    };
    let mut j = 0;
    for i in 0..=replica.len() {
        let old_key = (i < replica.len()).then(|| replica.entry_at(i).pnr.key());
        // Delivered persons that sort before this old entry (or replace it).
        while let Some(d) = delivered.get(j) {
            let key = d.appended.entry.pnr.key();
            if old_key.is_some_and(|k| k < key) {
                break;
            }
            if old_key != Some(key) {
                new_persons += 1;
            }
            let offset = segment.append(&d.bytes)?;
            put(&mut gen, &d.appended.entry, d.appended.at(new_slot, offset))?;
            j += 1;
        }
        let Some(k) = old_key else { break };
        if j > 0 && delivered[j - 1].appended.entry.pnr.key() == k {
            continue; // replaced
        }
        let (entry, loc) = decode(replica.raw(i));
        let loc = match compaction.remap[usize::from(loc.segment)] {
            Some(slot) => Location {
                segment: slot,
                ..loc
            },
            None => {
                let offset = segment.append(replica.stored_bytes(&loc))?;
                Location {
                    segment: new_slot,
                    offset,
                    ..loc
                }
            }
        };
        put(&mut gen, &entry, loc)?;
    }
    let written = segment.len();
    let mut segments: Vec<SegmentInfo> = compaction
        .kept
        .iter()
        .zip(&live)
        .map(|(&s, &live_bytes)| SegmentInfo {
            live_bytes,
            ..old.segments[s].clone()
        })
        .collect();
    let segment_bytes = segment.finish()?;
    if written > 0 {
        segments.push(SegmentInfo {
            file: segment_file,
            bytes: segment_bytes,
            live_bytes: live[usize::from(new_slot)],
        });
    }
    let mut history = old.history.clone();
    history.push(Applied {
        file: file_name(path),
        proddto,
        proddto_forrig: forrig,
        persons: delivered.len() as u64,
        new_persons,
    });
    let manifest = Manifest {
        format: dir::FORMAT.into(),
        generation,
        proddto,
        opgavenr,
        persons: 0,
        index_bytes: 0,
        segments,
        next_segment: old.next_segment + 1,
        history,
    };
    let compacted_segments = old.segments.len() - compaction.kept.len();
    drop(replica);
    gen.commit(manifest)?;
    Ok(ApplyOutcome::Applied {
        path: path.to_path_buf(),
        proddto,
        persons: delivered.len() as u64,
        new_persons,
        generation,
        segment_bytes: written,
        compacted_segments,
    })
}

/// Which old segments survive this apply and which are compacted (their live persons copied
/// into the new segment, in PNR order with the delivered ones).
struct Compaction {
    /// Old slots kept, in order; their new slot is their position here.
    kept: Vec<usize>,
    /// Old slot -> new slot, or `None` when compacted.
    remap: Vec<Option<u16>>,
}

impl Compaction {
    /// A segment is compacted when, after this apply, nothing of it is live, or more than half
    /// of it is dead; and when there would be more than [`MAX_SEGMENTS`], the smallest ones
    /// are added until half that many remain.
    fn plan(replica: &Replica, delivered: &[Delivered]) -> Compaction {
        let segments = &replica.manifest().segments;
        let mut live: Vec<u64> = segments.iter().map(|s| s.live_bytes).collect();
        for d in delivered {
            if let Some(i) = replica.position(d.appended.entry.pnr) {
                let loc = replica.location_at(i);
                if let Some(l) = live.get_mut(usize::from(loc.segment)) {
                    *l = l.saturating_sub(loc.len());
                }
            }
        }
        let mut compact: Vec<bool> = segments
            .iter()
            .zip(&live)
            .map(|(s, &l)| l == 0 || l * 2 < s.bytes)
            .collect();
        let mut kept: Vec<usize> = (0..segments.len()).filter(|&s| !compact[s]).collect();
        if kept.len() + 1 > MAX_SEGMENTS {
            let mut by_size = kept.clone();
            by_size.sort_by_key(|&s| (segments[s].bytes, s));
            for s in by_size {
                if kept.len() < MAX_SEGMENTS / 2 {
                    break;
                }
                compact[s] = true;
                kept.retain(|&k| k != s);
            }
        }
        let mut remap = vec![None; segments.len()];
        for (slot, &s) in kept.iter().enumerate() {
            remap[s] = Some(slot as u16);
        }
        Compaction { kept, remap }
    }
}
