//! `init`: a replica from a full extract (status layout U12180 or change layout U12170).

use std::ops::Range;
use std::path::Path;

use cprsift_format::{CheckedExtract, ContentId, ExtractOptions, Header};
use cprsift_io::generations::{Generations, Writer};
use cprsift_io::MappedFile;
use rayon::prelude::*;
use serde::Serialize;

use crate::dir::{self, Applied, Manifest, SegmentInfo};
use crate::error::ReplicaError;
use crate::generation::{cleanup_after_failure, NewGeneration, SegmentWriter};
use crate::index::{encode, key_of, ENTRY_BYTES};
use crate::stored::{append_person, header_of, invalid, Appended};

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
    /// The extract's content identity, the first entry of the replica's history.
    pub content_id: ContentId,
    /// Warnings the check reported (undefined record types carried).
    pub warnings: u64,
}

/// About this much input per unit of parallel work.
const CHUNK_BYTES: usize = 8 << 20;

/// Builds a replica in `dir` (new, or empty) from the full extract at `extract_path`: the
/// command line's way in. The file is mapped once and read once ([`CheckedExtract::read`]: on
/// the current rayon pool, with its content identity); then [`init_checked`] stores it.
pub fn init(
    extract_path: &Path,
    dir: &Path,
    opts: InitOptions,
) -> Result<InitReport, ReplicaError> {
    let map = MappedFile::open(extract_path).map_err(ReplicaError::io(extract_path))?;
    let checked = CheckedExtract::read(&map, opts.extract);
    init_checked(&checked, extract_path, dir)
}

/// Builds a replica in `dir` (new, or empty) from a full extract the caller has read (its
/// reading options are the ones it was read with; `path` names it in messages and the
/// history). Strict: an extract with any error, or without PRODDTO and OPGAVENR, is refused
/// before the directory is touched, so it leaves nothing behind. Every fact stored comes from
/// the checked value (PNR, municipality, birth date, status, PNRGAELD, 003 links, the block
/// bytes): nothing validates the file again. The blocks are canonicalised in parallel, in
/// bounded windows written in input order, so memory stays at about one window of output
/// plus the index entries, and the segment is the same bytes whatever the thread count.
pub fn init_checked(
    checked: &CheckedExtract<'_>,
    path: &Path,
    dir: &Path,
) -> Result<InitReport, ReplicaError> {
    let header = header_of(checked, path)?;
    if !checked.is_valid() {
        return Err(invalid(checked, path));
    }
    let (gens, created) = prepare_dir(dir)?;
    let result = dir::lock(&gens).and_then(|writer| {
        let result = build(checked, path, dir, &writer, &header);
        if result.is_err() && !created {
            cleanup_after_failure(dir, &gens, &writer);
        }
        result
    });
    match result {
        Ok(manifest) => Ok(InitReport {
            persons: manifest.persons,
            input_bytes: checked.input().len() as u64,
            segment_bytes: manifest.segment_bytes(),
            index_bytes: manifest.index_bytes,
            index_bytes_per_person: ENTRY_BYTES,
            proddto: header.proddto.to_string(),
            opgavenr: manifest.opgavenr,
            content_id: checked.content_id(),
            warnings: checked.report().warning_count,
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

/// What one piece of blocks contributes: its stored bytes, and each person's index fields
/// with the offset of its bytes in the piece.
struct PieceOut {
    bytes: Vec<u8>,
    placed: Vec<(Appended, u64)>,
}

/// Stores blocks `range` of `checked` (all valid: `init_checked` has seen the report).
fn store_piece(
    checked: &CheckedExtract<'_>,
    range: Range<usize>,
    path: &Path,
) -> Result<PieceOut, ReplicaError> {
    let mut out = PieceOut {
        bytes: Vec::new(),
        placed: Vec::with_capacity(range.len()),
    };
    for i in range {
        let offset = out.bytes.len() as u64;
        let appended = append_person(&mut out.bytes, checked, i, path)?;
        out.placed.push((appended, offset));
    }
    Ok(out)
}

/// The blocks cut into pieces of about [`CHUNK_BYTES`] of input, at least 4 per thread, in
/// input order. Where the cuts fall changes nothing written: pieces are appended in order.
fn pieces(checked: &CheckedExtract<'_>, threads: usize) -> Vec<Range<usize>> {
    let blocks = checked.blocks();
    let (Some(first), Some(end)) = (
        blocks.first().map(|b| b.offset()),
        blocks
            .len()
            .checked_sub(1)
            .and_then(|last| checked.block_range(last))
            .map(|r| r.end),
    ) else {
        return Vec::new();
    };
    let region = end.saturating_sub(first);
    let size = (region / (threads * 4)).clamp(1, CHUNK_BYTES);
    let mut cuts = vec![0];
    let mut target = first + size;
    while target < end {
        let cut = blocks.partition_point(|b| b.offset() < target);
        if cut > cuts.last().copied().unwrap_or(0) && cut < blocks.len() {
            cuts.push(cut);
        }
        target += size;
    }
    cuts.push(blocks.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

fn build(
    checked: &CheckedExtract<'_>,
    path: &Path,
    dir: &Path,
    writer: &Writer<'_>,
    header: &Header,
) -> Result<Manifest, ReplicaError> {
    // Whatever an interrupted init left (no generation is current yet).
    dir::collect_garbage(writer, dir, None)?;
    let mut gen = NewGeneration::start(dir, writer)?;
    let generation = gen.generation();
    let segment_file = dir::segment_name(1);
    let mut segment = SegmentWriter::create(gen.root(), &segment_file)?;
    let threads = rayon::current_num_threads().max(1);
    let mut entries: Vec<[u8; ENTRY_BYTES]> = Vec::with_capacity(checked.len());
    // Bounded windows of pieces in parallel, written in input order: memory stays at about
    // window x piece size, and the segment is the same whatever the thread count.
    for window in pieces(checked, threads).chunks(threads * 2) {
        let outs: Vec<Result<PieceOut, ReplicaError>> = window
            .par_iter()
            .map(|range| store_piece(checked, range.clone(), path))
            .collect();
        for out in outs {
            let out = out?;
            let base = segment.append(&out.bytes)?;
            entries.extend(
                out.placed.iter().map(|(appended, offset)| {
                    encode(&appended.entry, &appended.at(0, base + offset))
                }),
            );
        }
    }
    entries.par_sort_unstable_by_key(|raw| key_of(raw));
    let segment_bytes = segment.finish()?;
    for raw in &entries {
        gen.push(raw)?;
    }
    let persons = entries.len() as u64;
    drop(entries);
    let opgavenr = header.opgavenr_text().to_string();
    let manifest = Manifest {
        format: dir::FORMAT.into(),
        generation,
        proddto: header.proddto,
        opgavenr: opgavenr.clone(),
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
            proddto: header.proddto,
            proddto_forrig: header.proddto_forrig,
            persons,
            new_persons: persons,
            content_id: Some(checked.content_id()),
            opgavenr: Some(opgavenr),
            set_aside: None,
        }],
    };
    gen.commit(manifest)
}

/// The file's name without its directory, for the manifest's history.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
