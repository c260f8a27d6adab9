//! `apply`: change extracts applied in sequence, each as one new generation whose cost is
//! proportional to the change (a new segment with the delivered persons, a rewritten index),
//! not to the replica.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use cprsift_errors::Category;
use cprsift_format::{
    CheckedExtract, ContentId, ExtractOptions, Header, InvalidExtract, ParseError, RecordType,
    ERROR_DETAIL_LIMIT,
};
use cprsift_io::generations::Writer;
use cprsift_io::MappedFile;
use rayon::prelude::*;

use crate::dir::{self, Applied, Manifest, SegmentInfo};
use crate::error::ReplicaError;
use crate::generation::{cleanup_after_failure, NewGeneration, SegmentWriter};
use crate::index::{decode, encode, IndexEntry, Location};
use crate::init::file_name;
use crate::sequence::Standing;
use crate::stored::{append_person, header_of, invalid, Appended};
use crate::{Replica, Sequence};

/// At most this many segments: past it, the smallest are merged into the next new one.
pub const MAX_SEGMENTS: usize = 32;

/// How `apply` reads the extracts and which sequence exceptions the call allows. (Crash tests
/// stop an apply with the shared failpoints of `cprsift_io::failpoint`, not with an option.)
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    /// Reading options (strict-unknown), for [`apply`], which reads the files. Ignored by
    /// [`apply_checked`]: its caller read them.
    pub extract: ExtractOptions,
    /// Accept this job number (OPGAVENR) where the replica expects the one of the last change
    /// extract applied: the documented way to change job number on purpose. It holds for this
    /// call only; once a file of it is applied, it is the job number the replica expects.
    pub accept_opgavenr: Option<[u8; 6]>,
}

/// One change extract, read by the caller, as [`apply_checked`] takes it.
///
/// The caller maps and reads the file once ([`CheckedExtract::read`], which also computes its
/// content identity); the replica applies that value, so a nightly run delivers and applies
/// the same bytes and nothing reads the file twice. `checked` must come from
/// [`CheckedExtract::read`], not `read_unhashed`: the replica records its identity and
/// compares it to tell an extract already applied from another file of the same date.
#[derive(Clone, Copy)]
pub struct ChangeExtract<'c, 'a> {
    /// The file's path: named in messages, and its name in the replica's history.
    pub path: &'c Path,
    /// The file as read once by the caller.
    pub checked: &'c CheckedExtract<'a>,
    /// `None`: strict, the extract must be valid (else [`ReplicaError::Invalid`] with the
    /// report's errors). `Some(blocks)`: lenient, the caller (the nightly run, docs/rules.md
    /// §6.3) has set these person blocks aside (indices of [`CheckedExtract::blocks`]) and
    /// every other block is applied. The caller vouches that the file's remaining errors lie
    /// only in those blocks or in stray records; the replica still refuses a file without a
    /// readable frame, and any block not set aside that has an error of its own or is a
    /// duplicate (storing it would corrupt the index). Indices past the last block are
    /// ignored.
    pub set_aside: Option<&'c [usize]>,
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
        /// Its content identity, now in the replica's history.
        content_id: ContentId,
        /// Persons delivered in it and applied (each replaced or added).
        persons: u64,
        /// Of them, persons the replica did not hold.
        new_persons: u64,
        /// Lenient apply: the person blocks set aside (not applied); `None` when strict.
        set_aside: Option<u64>,
        /// The new generation's number.
        generation: u64,
        /// Bytes written to the new segment (the change, plus live data of compacted segments).
        segment_bytes: u64,
        /// Older segments compacted into the new one.
        compacted_segments: usize,
    },
    /// The replica has applied this very extract (same PRODDTO and content): skipped.
    AlreadyApplied {
        /// The file.
        path: PathBuf,
        /// Its PRODDTO.
        proddto: NaiveDate,
        /// Its content identity.
        content_id: ContentId,
        /// The replica's PRODDTO.
        replica: NaiveDate,
    },
}

/// Applies the change extracts at `extract_paths` to the replica in `dir`: the command line's
/// way in. Each file is mapped once and read once ([`CheckedExtract::read`], the files in
/// parallel on the current rayon pool, each with its content identity); then
/// [`apply_checked`] applies them strictly.
pub fn apply(
    dir: &Path,
    extract_paths: &[PathBuf],
    options: ApplyOptions,
) -> Result<Vec<ApplyOutcome>, ReplicaError> {
    // A folder that is no replica is said so before any file is read.
    dir::read_current(dir)?;
    let maps = extract_paths
        .iter()
        .map(|path| MappedFile::open(path).map_err(ReplicaError::io(path)))
        .collect::<Result<Vec<_>, _>>()?;
    let checked: Vec<CheckedExtract<'_>> = maps
        .par_iter()
        .map(|map| CheckedExtract::read(map, options.extract))
        .collect();
    let extracts: Vec<ChangeExtract<'_, '_>> = extract_paths
        .iter()
        .zip(&checked)
        .map(|(path, checked)| ChangeExtract {
            path,
            checked,
            set_aside: None,
        })
        .collect();
    apply_checked(dir, &extracts, options)
}

/// Applies change extracts the caller has read to the replica in `dir`, in PRODDTO order, each
/// as its own generation.
///
/// The whole call is checked first against the sequence rules ([`Replica::sequence`], with
/// the replica advanced by the files before each one): a gap, a file that is not the extract
/// the replica applied under its date ([`ReplicaError::DifferentExtract`]) or a job number
/// not expected ([`ReplicaError::OpgavenrMismatch`]) anywhere refuses the call before
/// anything changes. A file already applied (same PRODDTO and content) is skipped. A file
/// found invalid (strict) stops the call there: files before it stay applied, nothing of it
/// is. It opens no extract: everything it applies comes from `extracts`.
pub fn apply_checked(
    dir: &Path,
    extracts: &[ChangeExtract<'_, '_>],
    options: ApplyOptions,
) -> Result<Vec<ApplyOutcome>, ReplicaError> {
    let (gens, _) = dir::read_current(dir)?;
    let writer = dir::lock(&gens)?;
    let result = (|| {
        // Finish what an interrupted apply left: files the current generation does not use.
        // This runs even when every file turns out to be applied already.
        let current = Replica::open(dir)?;
        dir::collect_garbage(&writer, dir, Some(current.manifest()))?;
        let ordered = plan(&current, extracts, options.accept_opgavenr)?;
        let mut current = Some(current);
        let mut outcomes = Vec::new();
        for (change, header) in ordered {
            // The view opened for the plan serves the first file; later ones need the new
            // generation.
            let replica = match current.take() {
                Some(r) => r,
                None => Replica::open(dir)?,
            };
            outcomes.push(apply_one(
                replica,
                change,
                &header,
                options.accept_opgavenr,
                &writer,
            )?);
        }
        Ok(outcomes)
    })();
    if result.is_err() {
        cleanup_after_failure(dir, &gens, &writer);
    }
    result
}

/// Reads each file's header, orders the files by PRODDTO (stable: files of one date keep
/// their order) and checks that the chain fits the replica, by the one sequence rule.
fn plan<'e, 'c, 'a>(
    replica: &Replica,
    extracts: &'e [ChangeExtract<'c, 'a>],
    accept_opgavenr: Option<[u8; 6]>,
) -> Result<Vec<(&'e ChangeExtract<'c, 'a>, Header)>, ReplicaError> {
    let mut dated = extracts
        .iter()
        .map(|e| Ok((e, header_of(e.checked, e.path)?)))
        .collect::<Result<Vec<_>, ReplicaError>>()?;
    dated.sort_by_key(|(_, header)| header.proddto);
    let mut standing = Standing::of(replica.manifest(), replica.opgavenr());
    for (e, header) in &dated {
        let id = e.checked.content_id();
        match standing.decide(header, id, accept_opgavenr) {
            Ok(Sequence::AlreadyApplied) => {}
            Ok(Sequence::Next) => standing.advance(header, id),
            Err(refusal) => return Err(standing.error(refusal, e.path, header)),
        }
    }
    Ok(dated)
}

/// One delivered person, canonical, ready to be written.
struct Delivered {
    bytes: Vec<u8>,
    appended: Appended,
}

/// The blocks of `change` to apply, in PNR order, and how many were set aside (lenient).
fn blocks_to_apply(
    change: &ChangeExtract<'_, '_>,
) -> Result<(Vec<usize>, Option<u64>), ReplicaError> {
    let checked = change.checked;
    let Some(set_aside) = change.set_aside else {
        if !checked.is_valid() {
            return Err(invalid(checked, change.path));
        }
        return Ok((
            checked.keys().iter().map(|&(_, b)| b as usize).collect(),
            None,
        ));
    };
    let mut aside = vec![false; checked.len()];
    for &i in set_aside {
        if let Some(slot) = aside.get_mut(i) {
            *slot = true;
        }
    }
    let count = aside.iter().filter(|&&a| a).count() as u64;
    // What the caller did not set aside must be sound: a block with an error of its own or a
    // duplicate PNR would store wrong facts or two entries of one person.
    let faulty: Vec<usize> = checked
        .blocks()
        .iter()
        .enumerate()
        .filter(|&(i, facts)| facts.is_faulty() && !aside[i])
        .map(|(i, _)| i)
        .collect();
    if !faulty.is_empty() {
        let mut errors: Vec<ParseError> = Vec::new();
        for &i in &faulty {
            let mut own = checked.block_errors(i);
            if own.is_empty() {
                // The first block of a duplicated person: the report names only the later ones.
                if let Some(facts) = checked.blocks().get(i) {
                    own.push(
                        ParseError::new(
                            Category::DuplicatePerson,
                            facts.offset(),
                            "this person has another block in the file, which was not set aside",
                        )
                        .with_record_type(Some(RecordType::PERSON))
                        .with_person(Some(facts.pnr())),
                    );
                }
            }
            errors.extend(own);
        }
        let count = errors.len() as u64;
        checked.locate(&mut errors);
        errors.truncate(ERROR_DETAIL_LIMIT);
        return Err(ReplicaError::Invalid(InvalidExtract {
            path: change.path.to_path_buf(),
            errors,
            count,
        }));
    }
    let blocks = checked
        .keys()
        .iter()
        .map(|&(_, b)| b as usize)
        .filter(|&b| !aside.get(b).copied().unwrap_or(true))
        .collect();
    Ok((blocks, Some(count)))
}

fn apply_one(
    replica: Replica,
    change: &ChangeExtract<'_, '_>,
    header: &Header,
    accept_opgavenr: Option<[u8; 6]>,
    writer: &Writer<'_>,
) -> Result<ApplyOutcome, ReplicaError> {
    let dir = replica.dir().to_path_buf();
    let dir = dir.as_path();
    let path = change.path;
    let checked = change.checked;
    let content_id = checked.content_id();
    match replica.sequence(header, content_id, accept_opgavenr, path)? {
        Sequence::Next => {}
        Sequence::AlreadyApplied => {
            return Ok(ApplyOutcome::AlreadyApplied {
                path: path.to_path_buf(),
                proddto: header.proddto,
                content_id,
                replica: replica.proddto(),
            })
        }
    }
    let (blocks, set_aside) = blocks_to_apply(change)?;
    let delivered: Vec<Delivered> = blocks
        .par_iter()
        .map(|&i| {
            let mut bytes = Vec::new();
            let appended = append_person(&mut bytes, checked, i, path)?;
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
        proddto: header.proddto,
        proddto_forrig: header.proddto_forrig,
        persons: delivered.len() as u64,
        new_persons,
        content_id: Some(content_id),
        opgavenr: Some(header.opgavenr_text().to_string()),
        set_aside,
    });
    let manifest = Manifest {
        format: dir::FORMAT.into(),
        generation,
        proddto: header.proddto,
        opgavenr: header.opgavenr_text().to_string(),
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
        proddto: header.proddto,
        content_id,
        persons: delivered.len() as u64,
        new_persons,
        set_aside,
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
