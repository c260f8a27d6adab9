//! Lenient mode (SEMANTICS.md §6): a malformed person block is set aside with its reason and
//! the rest of the day is delivered.
//!
//! What is a block's fault, and so set aside: any error inside the lines of one person block
//! (a bad field, a bad PNR, a line too long, a short line, a block that does not start with
//! 001, a stray 003/997/910 or undefined record type among the blocks) and every block of a
//! person that has more than one (duplicate-person: which one is right cannot be told, so none
//! is delivered). What stops the run as in strict mode: the file's frame (no 000, no 999, a 000
//! or 999 among the blocks, a record after the 999), a counter mismatch, an error in the 000,
//! 997, 003 tail, 999 or 910 records, concatenated framing that cannot be followed (nothing
//! after a cut record can be found), and a sequence gap.

use std::ops::Range;
use std::path::Path;

use cprsift_format::{
    taeller_of, tail_pnr_error, CheckReport, ErrorCategory, Extract, Framing, ParseError, Pnr,
    RecordType,
};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// One person block (or the stray lines standing where a block should) set aside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    /// Byte offset of its first record in the extract.
    pub offset: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Line (or record number, in concatenated framing) of the error.
    pub line: u64,
    /// The person, masked, when positions 4-13 hold a PNR.
    pub person: Option<String>,
    /// The stable category of the (first) error.
    pub category: cprsift_errors::Category,
    /// The error as the operator reads it: file, line, byte, record type, field, person
    /// (masked), what was expected.
    pub reason: String,
}

/// The blocks set aside, in input order, with their byte ranges.
#[derive(Debug, Default)]
pub(crate) struct SetAsideBlocks {
    /// What the report and the manifest show.
    pub entries: Vec<SetAside>,
    /// Their byte ranges in the extract, ascending.
    pub ranges: Vec<Range<usize>>,
}

impl SetAsideBlocks {
    /// True when the block (or error) starting at `offset` is set aside.
    pub fn contains_start(&self, offset: usize) -> bool {
        self.ranges
            .binary_search_by_key(&offset, |r| r.start)
            .is_ok()
    }

    /// True when `offset` lies inside a block set aside.
    fn covers(&self, offset: usize) -> bool {
        let i = self.ranges.partition_point(|r| r.start <= offset);
        i > 0 && self.ranges[i - 1].contains(&offset)
    }

    /// The reject file: for each block a `#` line with its reason, then its bytes verbatim
    /// (a line end is added when they do not end with one). A CPR record never starts with
    /// `#`, so the file splits back into blocks unambiguously.
    pub fn reject_file(&self, input: &[u8], extract_name: &str) -> Vec<u8> {
        let mut out = format!(
            "# cprsift reject file of {extract_name}: {} person block(s) set aside (lenient mode)\n",
            self.entries.len()
        )
        .into_bytes();
        for (n, (entry, range)) in self.entries.iter().zip(&self.ranges).enumerate() {
            let reason = entry.reason.replace(['\n', '\r'], " ");
            out.extend_from_slice(
                format!(
                    "# block {}: {} bytes at byte {}: [{}] {reason}\n",
                    n + 1,
                    entry.bytes,
                    entry.offset,
                    entry.category
                )
                .as_bytes(),
            );
            let bytes = &input[range.clone()];
            out.extend_from_slice(bytes);
            if bytes.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        out
    }
}

/// One item of the block region, as the grouping found it.
struct Item {
    start: usize,
    pnr: Option<Pnr>,
    /// Only set for a well-formed block.
    is_block: bool,
    error: Option<ParseError>,
}

/// True for errors that belong to the file, not to one block: they stop a lenient run too.
fn is_file_level(e: &ParseError, framing: Framing) -> bool {
    matches!(
        e.category,
        ErrorCategory::Missing000
            | ErrorCategory::Misplaced000
            | ErrorCategory::Missing999
            | ErrorCategory::RecordAfter999
            | ErrorCategory::CounterMismatch
            | ErrorCategory::SequenceGap
    ) || (framing == Framing::Concatenated && e.category == ErrorCategory::TruncatedRecord)
}

/// The first error outside the person blocks: in the 997 receipts, the 003 tail, the 910
/// records, or the counter.
fn frame_error(extract: &Extract<'_>, check: &CheckReport) -> Option<ParseError> {
    for records in [extract.receipts(), extract.tail(), extract.trailer()] {
        for r in records {
            let problem = match r {
                Err(e) => Some(e),
                Ok(r)
                    if r.record_type() == Some(RecordType::CLEAR_ADDRESS) && r.pnr().is_none() =>
                {
                    Some(tail_pnr_error(&r))
                }
                Ok(r) => r.check_fields().err(),
            };
            if problem.is_some() {
                return problem;
            }
        }
    }
    if check.taeller != Some(taeller_of(check.counted)) {
        return Some(
            check
                .errors
                .iter()
                .find(|e| e.category == ErrorCategory::CounterMismatch)
                .cloned()
                .unwrap_or_else(|| {
                    ParseError::new(
                        ErrorCategory::CounterMismatch,
                        extract.end_record().offset(),
                        format!(
                            "TAELLER differs from the {} records counted besides 000, 999 and 910",
                            check.counted
                        ),
                    )
                    .with_record_type(Some(RecordType::END))
                    .with_field("TAELLER")
                }),
        );
    }
    None
}

/// Sorts an extract that failed validation into blocks set aside and the rest, or refuses it
/// (an error that is not one block's: see the module documentation).
pub(crate) fn set_aside(
    extract: &Extract<'_>,
    check: &CheckReport,
    path: &Path,
) -> Result<SetAsideBlocks, EngineError> {
    let locate = |e: ParseError| {
        if e.position.line == 0 {
            extract.locate(e)
        } else {
            e
        }
    };
    let stop = |error: ParseError| EngineError::Input {
        path: path.to_path_buf(),
        error: locate(error),
    };
    let mut items = Vec::new();
    for item in extract.blocks() {
        items.push(match item {
            Ok(block) => Item {
                start: block.offset(),
                pnr: Some(block.pnr()),
                is_block: true,
                error: block.validate(|_| {}).err(),
            },
            Err(e) if is_file_level(&e, extract.framing()) => return Err(stop(e)),
            Err(e) => Item {
                start: e.position.offset as usize,
                pnr: e.person,
                is_block: false,
                error: Some(e),
            },
        });
    }
    if let Some(e) = frame_error(extract, check) {
        return Err(stop(e));
    }
    let mut keys: Vec<u32> = items
        .iter()
        .filter(|i| i.is_block)
        .filter_map(|i| i.pnr.map(|p| p.key()))
        .collect();
    keys.sort_unstable();
    let twice: Vec<u32> = keys
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    let region_end = extract.blocks_range().end;
    let mut out = SetAsideBlocks::default();
    for (n, item) in items.iter().enumerate() {
        let duplicate = item.is_block
            && item
                .pnr
                .is_some_and(|p| twice.binary_search(&p.key()).is_ok());
        let error = match (&item.error, duplicate) {
            (Some(e), _) => e.clone(),
            (None, true) => ParseError::new(
                ErrorCategory::DuplicatePerson,
                item.start,
                "this person has more than one block in the file; every one is set aside",
            )
            .with_record_type(Some(RecordType::PERSON))
            .with_person(item.pnr),
            (None, false) => continue,
        };
        let end = items.get(n + 1).map_or(region_end, |next| next.start);
        let error = locate(error);
        out.entries.push(SetAside {
            offset: item.start as u64,
            bytes: (end - item.start) as u64,
            line: error.position.line,
            person: item.pnr.map(|p| p.masked().to_string()),
            category: error.category,
            reason: error.in_file(path).to_string(),
        });
        out.ranges.push(item.start..end);
    }
    // Every error validation found among the blocks must lie in a block set aside.
    let region = extract.blocks_range();
    if let Some(e) = check.errors.iter().find(|e| {
        let at = e.position.offset as usize;
        region.contains(&at) && !out.covers(at)
    }) {
        return Err(stop(e.clone()));
    }
    Ok(out)
}
