//! `init`: a replica from a full extract (status layout U12180 or change layout U12170).

use std::path::Path;

use cprsift_format::{taeller_of, Blocks, Extract, ExtractOptions, TailIndex};
use cprsift_io::MappedFile;
use rayon::prelude::*;
use serde::Serialize;

use cprsift_io::generations::{Generations, Writer};

use crate::dir::{self, Applied, Manifest, SegmentInfo};
use crate::error::ReplicaError;
use crate::generation::{cleanup_after_failure, NewGeneration, SegmentWriter};
use crate::index::{encode, key_of, ENTRY_BYTES};
use crate::stored::{append_person, check_strict, open_extract, opgavenr_of, proddto_of};

/// How `init` reads the extract.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitOptions {
    /// Reading options (strict-unknown).
    pub extract: ExtractOptions,
}

/// What `init` built.
#[derive(Clone, Debug, Serialize)]
pub struct InitReport {
    /// Persons stored.
    pub persons: u64,
    /// The extract's size.
    pub input_bytes: u64,
    /// Bytes in the segment.
    pub segment_bytes: u64,
    /// The index's size.
    pub index_bytes: u64,
    /// Index bytes per person.
    pub index_bytes_per_person: usize,
    /// PRODDTO of the extract (YYYY-MM-DD).
    pub proddto: String,
    /// OPGAVENR of the extract.
    pub opgavenr: String,
    /// Warnings the check reported (undefined record types carried).
    pub warnings: u64,
}

/// About this much input per unit of parallel work.
const CHUNK_BYTES: usize = 8 << 20;

/// Builds a replica in `dir` (new, or empty) from the full extract at `extract_path`, in one
/// parallel pass that validates and stores every block with its 003 record(s) and builds the
/// index. Strict: when the pass meets anything `Extract::check` would reject, `check` gives the
/// verdict and the report; an invalid extract leaves nothing behind (a directory this call
/// created is removed).
pub fn init(
    extract_path: &Path,
    dir: &Path,
    opts: InitOptions,
) -> Result<InitReport, ReplicaError> {
    let map = MappedFile::open(extract_path).map_err(ReplicaError::io(extract_path))?;
    let extract = open_extract(&map, extract_path, opts.extract)?;
    let proddto = proddto_of(&extract, extract_path)?;
    let opgavenr = opgavenr_of(&extract, extract_path)?;
    let (gens, created) = prepare_dir(dir)?;
    let result = dir::lock(&gens).and_then(|writer| {
        let result = build(&extract, extract_path, dir, &writer, proddto, opgavenr);
        if result.is_err() && !created {
            cleanup_after_failure(dir, &gens, &writer);
        }
        result
    });
    match result {
        Ok((manifest, warnings)) => Ok(InitReport {
            persons: manifest.persons,
            input_bytes: map.len() as u64,
            segment_bytes: manifest.segment_bytes(),
            index_bytes: manifest.index_bytes,
            index_bytes_per_person: ENTRY_BYTES,
            proddto: proddto.to_string(),
            opgavenr: manifest.opgavenr,
            warnings,
        }),
        Err(e) => {
            if created && !cprsift_io::failpoint::crashed() {
                remove_created(&gens, dir);
            }
            Err(e)
        }
    }
}

/// Removes a replica folder this init created (everything in it, each name by `unlinkat`).
fn remove_created(gens: &Generations, dir: &Path) {
    if let Ok(names) = gens.root().names() {
        for name in names {
            let _ = gens.root().remove(&name);
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Makes sure `dir` can take a new replica: absent (created, mode 0700; the flag is true),
/// empty, or holding only what an interrupted init left (no CURRENT). Opened for writing: a
/// link is refused.
fn prepare_dir(dir: &Path) -> Result<(Generations, bool), ReplicaError> {
    let not_empty = |reason: &str| ReplicaError::NotEmpty {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    };
    let meta = std::fs::symlink_metadata(dir);
    if meta
        .as_ref()
        .is_ok_and(|m| !m.is_dir() && !m.file_type().is_symlink())
    {
        return Err(not_empty("it is not a directory"));
    }
    let (gens, created) = Generations::create_private(dir).map_err(ReplicaError::io(dir))?;
    if created {
        return Ok((gens, true));
    }
    let root = gens.root();
    if root
        .kind(cprsift_io::generations::CURRENT)
        .map_err(ReplicaError::io(dir))?
        .is_some()
    {
        return Err(not_empty("it already holds a replica"));
    }
    for name in root.names().map_err(ReplicaError::io(dir))? {
        if !Generations::is_own(&name) && !dir::is_segment(&name) {
            return Err(not_empty("it holds files that are not a replica's"));
        }
    }
    Ok((gens, false))
}

/// What one chunk contributes: stored bytes, (unsorted) index entries with offsets relative
/// to the chunk, records counted, warnings, and whether anything was invalid.
#[derive(Default)]
struct ChunkOut {
    bytes: Vec<u8>,
    entries: Vec<[u8; ENTRY_BYTES]>,
    records: u64,
    warnings: u64,
    invalid: bool,
}

/// Validates and stores the blocks of one chunk; stops at the first invalid block.
fn store_chunk(
    blocks: Blocks<'_>,
    tail: &TailIndex<'_>,
    path: &Path,
) -> Result<ChunkOut, ReplicaError> {
    let mut out = ChunkOut::default();
    for item in blocks {
        let block = match item {
            Ok(b) if b.validate(|_| out.warnings += 1).is_ok() => b,
            _ => {
                out.invalid = true;
                return Ok(out);
            }
        };
        out.records += u64::from(block.record_count());
        let offset = out.bytes.len() as u64;
        let appended = append_person(&mut out.bytes, &block, tail, path)?;
        out.entries
            .push(encode(&appended.entry, &appended.at(0, offset)));
    }
    Ok(out)
}

/// The checks of [`Extract::check`] outside the person blocks: receipts, the 003 tail and the
/// 910 records read cleanly, tail records have a PNR, and 999 TAELLER equals the records.
fn edges_valid(extract: &Extract<'_>, block_records: u64) -> bool {
    let mut counted = block_records;
    for (records, is_tail) in [(extract.receipts(), false), (extract.tail(), true)] {
        for record in records {
            let Ok(r) = record else { return false };
            counted += 1;
            if r.check_fields().is_err() || (is_tail && r.pnr().is_none()) {
                return false;
            }
        }
    }
    let trailer_ok = extract
        .trailer()
        .all(|r| r.is_ok_and(|r| r.check_fields().is_ok()));
    trailer_ok && extract.taeller() == Some(taeller_of(counted))
}

fn build(
    extract: &Extract<'_>,
    path: &Path,
    dir: &Path,
    writer: &Writer<'_>,
    proddto: chrono::NaiveDate,
    opgavenr: String,
) -> Result<(Manifest, u64), ReplicaError> {
    // Whatever an interrupted init left (no generation is current yet).
    dir::collect_garbage(writer, dir, None)?;
    let mut gen = NewGeneration::start(dir, writer)?;
    let generation = gen.generation();
    let segment_file = dir::segment_name(1);
    let mut segment = SegmentWriter::create(gen.root(), &segment_file)?;
    let threads = rayon::current_num_threads().max(1);
    let parts = (extract.blocks_range().len() / CHUNK_BYTES).max(threads * 4);
    let chunks = extract.block_chunks(parts);
    let tail = extract.tail_index();
    let mut entries: Vec<[u8; ENTRY_BYTES]> = Vec::new();
    let (mut records, mut warnings, mut invalid) = (0u64, 0u64, false);
    // Bounded windows of chunks in parallel, written in input order: memory stays at about
    // window x chunk size, and the segment is the same whatever the thread count.
    for window in chunks.chunks(threads * 2) {
        let outs: Vec<Result<ChunkOut, ReplicaError>> = window
            .par_iter()
            .map(|blocks| store_chunk(blocks.clone(), &tail, path))
            .collect();
        for out in outs {
            let out = out?;
            records += out.records;
            warnings += out.warnings;
            invalid |= out.invalid;
            let base = segment.append(&out.bytes)?;
            entries.extend(out.entries.into_iter().map(|mut raw| {
                let offset = crate::index::decode(&raw).1.offset + base;
                raw[6..12].copy_from_slice(&offset.to_le_bytes()[..6]);
                raw
            }));
        }
        if invalid {
            break;
        }
    }
    entries.par_sort_unstable_by_key(|raw| key_of(raw));
    let duplicates = entries.windows(2).any(|w| key_of(&w[0]) == key_of(&w[1]));
    if invalid || duplicates || !edges_valid(extract, records) {
        // The full check decides and reports; it finds an error wherever this pass did.
        warnings = check_strict(extract, path)?;
        if invalid {
            // The pass stopped early: never commit what it stored.
            return Err(ReplicaError::Corrupt {
                path: path.to_path_buf(),
                reason: "a block failed validation that the full check accepted".into(),
            });
        }
    }
    let segment_bytes = segment.finish()?;
    for raw in &entries {
        gen.push(raw)?;
    }
    let persons = entries.len() as u64;
    drop(entries);
    let manifest = Manifest {
        format: dir::FORMAT.into(),
        generation,
        proddto,
        opgavenr,
        persons,
        index_bytes: 0,
        segments: vec![SegmentInfo {
            file: segment_file,
            bytes: segment_bytes,
            live_bytes: segment_bytes,
        }],
        next_segment: 2,
        history: vec![Applied {
            file: file_name(path),
            proddto,
            proddto_forrig: extract.proddto_forrig(),
            persons,
            new_persons: persons,
        }],
    };
    Ok((gen.commit(manifest)?, warnings))
}

/// The file's name without its directory, for the manifest's history.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
