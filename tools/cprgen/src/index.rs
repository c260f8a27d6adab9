//! A compact index of a (memory-mapped) full extract: PNR -> block offset and status, and
//! PNR -> 003 offset, as sorted parallel arrays (13 bytes per person), so that the day
//! generator can load any person's complete block on demand.

use std::path::{Path, PathBuf};

use cprsift_format::framing::{frame_at, Framed};
use cprsift_format::{Extract, ExtractOptions, FramingReport, ParseError, Pnr, RecordType};
use rayon::prelude::*;

use crate::edit::EditBlock;
use crate::rng::Rng;
use crate::{Error, Result};

/// The index of one full extract.
pub struct FullIndex<'a> {
    /// The extract.
    pub extract: Extract<'a>,
    path: PathBuf,
    keys: Vec<u32>,
    offsets: Vec<u64>,
    status: Vec<u8>,
    tail_keys: Vec<u32>,
    tail_offsets: Vec<u64>,
    /// Keys of the persons whose 002 KOMKOD is the spike municipality (if one was asked for).
    pub spike: Vec<u32>,
}

fn input_error(path: &Path, extract: Option<&Extract<'_>>, e: ParseError) -> Error {
    let e = match extract {
        Some(x) => x.locate(e),
        None => e,
    };
    Error::Input {
        path: path.to_path_buf(),
        error: Box::new(e),
    }
}

type Entries = (Vec<(u32, u64, u8)>, Vec<u32>);

impl<'a> FullIndex<'a> {
    /// Indexes `input` (read from `path`), collecting the residents of `spike_kom`.
    pub fn build(input: &'a [u8], path: &Path, spike_kom: Option<u16>) -> Result<FullIndex<'a>> {
        let extract = Extract::open(input, ExtractOptions::default())
            .map_err(|e| input_error(path, None, e))?;
        let chunks = extract.block_chunks(rayon::current_num_threads() * 8);
        let parts: Vec<std::result::Result<Entries, ParseError>> = chunks
            .into_par_iter()
            .map(|chunk| {
                let mut entries = Vec::new();
                let mut spike = Vec::new();
                for block in chunk {
                    let block = block?;
                    let key = block.pnr().key();
                    entries.push((key, block.offset() as u64, block.status().unwrap_or(0)));
                    if spike_kom.is_some() && block.municipality() == spike_kom {
                        spike.push(key);
                    }
                }
                Ok((entries, spike))
            })
            .collect();
        let mut all = Vec::new();
        let mut spike = Vec::new();
        for part in parts {
            let (e, s) = part.map_err(|e| input_error(path, Some(&extract), e))?;
            all.extend(e);
            spike.extend(s);
        }
        all.par_sort_unstable_by_key(|e| e.0);
        if let Some(w) = all.windows(2).find(|w| w[0].0 == w[1].0) {
            let e = ParseError::new(
                cprsift_errors::Category::DuplicatePerson,
                w[1].1 as usize,
                format!("person {} has two blocks", Pnr::from_key(w[1].0).masked()),
            );
            return Err(input_error(path, Some(&extract), e));
        }
        spike.sort_unstable();
        let mut tail: Vec<(u32, u64)> = Vec::new();
        for r in extract.tail() {
            let r = r.map_err(|e| input_error(path, Some(&extract), e))?;
            if let Some(p) = r.pnr() {
                tail.push((p.key(), r.offset() as u64));
            }
        }
        tail.par_sort_unstable_by_key(|e| e.0);
        Ok(FullIndex {
            extract,
            path: path.to_path_buf(),
            keys: all.iter().map(|e| e.0).collect(),
            offsets: all.iter().map(|e| e.1).collect(),
            status: all.iter().map(|e| e.2).collect(),
            tail_keys: tail.iter().map(|e| e.0).collect(),
            tail_offsets: tail.iter().map(|e| e.1).collect(),
            spike,
        })
    }

    /// Persons in the extract.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the extract holds a block for `key`.
    pub fn contains(&self, key: u32) -> bool {
        self.keys.binary_search(&key).is_ok()
    }

    /// A random person whose status in the extract is one of `statuses` (any when empty).
    pub fn random(&self, rng: &mut Rng, statuses: &[u8]) -> Option<u32> {
        if self.keys.is_empty() {
            return None;
        }
        for _ in 0..1000 {
            let i = rng.below(self.keys.len() as u64) as usize;
            if statuses.is_empty() || statuses.contains(&self.status[i]) {
                return Some(self.keys[i]);
            }
        }
        None
    }

    /// Loads the complete block of `key` and its 003 record(s), in canonical form (001 cut to
    /// the change-extract length).
    pub fn load(&self, key: u32) -> Result<Option<EditBlock>> {
        let Ok(i) = self.keys.binary_search(&key) else {
            return Ok(None);
        };
        let input = self.extract.input();
        let framing = self.extract.framing();
        let end = self.extract.blocks_range().end;
        let pnr = Pnr::from_key(key);
        let mut block = EditBlock::new(pnr);
        let mut pos = self.offsets[i] as usize;
        let mut report = FramingReport::default();
        while pos < end {
            let Some(f) = frame_at(input, pos, framing, &mut report) else {
                break;
            };
            let r = f
                .record
                .map_err(|e| input_error(&self.path, Some(&self.extract), e))?;
            let same = r.bytes().get(3..13) == Some(&pnr.digits()[..]);
            if !same || !r.record_type().is_some_and(RecordType::is_person_record) {
                break;
            }
            let mut bytes = Vec::with_capacity(r.len());
            r.write_padded(&mut bytes);
            block.push_raw(bytes);
            pos = f.next;
        }
        let from = self.tail_keys.partition_point(|&k| k < key);
        for j in from..self.tail_keys.len() {
            if self.tail_keys[j] != key {
                break;
            }
            if let Some(Framed { record: Ok(r), .. }) =
                frame_at(input, self.tail_offsets[j] as usize, framing, &mut report)
            {
                let mut bytes = Vec::with_capacity(r.len());
                r.write_padded(&mut bytes);
                block.tail.push(bytes);
            }
        }
        Ok(Some(block))
    }
}
