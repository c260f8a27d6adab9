//! A person as the replica stores it: the block's records in canonical form (padded to their
//! length, LF-terminated; 099 events dropped; a 121-byte status-layout 001 cut to 106 bytes;
//! undefined record types as carried), followed by the person's 003 record(s), canonical too.

use std::path::Path;

use cprsift_format::{CheckedExtract, Header, InvalidExtract, ParseError, RecordType};

use crate::error::ReplicaError;
use crate::index::{IndexEntry, Location};

/// The U12170 length of record 001 (docs/rules.md §5: the status layout's 121 is cut to this).
const PERSON_RECORD_LEN: usize = 106;

/// A person's canonical bytes appended to a buffer: what was appended, and the index fields.
pub(crate) struct Appended {
    pub entry: IndexEntry,
    pub block_len: u32,
    pub clear_len: u16,
}

impl Appended {
    /// The location of these bytes at `offset` of segment `segment`.
    pub fn at(&self, segment: u16, offset: u64) -> Location {
        Location {
            segment,
            offset,
            block_len: self.block_len,
            clear_len: self.clear_len,
        }
    }
}

/// Appends block `i` of `checked` and its 003 record(s) to `out` in canonical form. The index
/// fields come from the reader's facts of the block; its records are only framed again to be
/// written out.
pub(crate) fn append_person(
    out: &mut Vec<u8>,
    checked: &CheckedExtract<'_>,
    i: usize,
    path: &Path,
) -> Result<Appended, ReplicaError> {
    let (Some(facts), Some(block)) = (checked.blocks().get(i), checked.block(i)) else {
        return Err(ReplicaError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the reader has no person block {i}"),
        });
    };
    let pnr = facts.pnr();
    let start = out.len();
    for record in block.records() {
        let record = record.map_err(|e| ReplicaError::Input {
            path: path.to_path_buf(),
            error: Box::new(located(checked, e.with_person(Some(pnr)))),
        })?;
        let rt = record.record_type();
        if rt == Some(RecordType::EVENT) {
            continue;
        }
        let at = out.len();
        record.write_padded(out);
        if rt == Some(RecordType::PERSON) && out.len() - at > PERSON_RECORD_LEN {
            out.truncate(at + PERSON_RECORD_LEN);
        }
        out.push(b'\n');
    }
    let block_end = out.len();
    for record in checked.tail_records(i) {
        record.write_padded(out);
        out.push(b'\n');
    }
    let too_large = |reason: &str| ReplicaError::TooLarge {
        path: path.to_path_buf(),
        person: pnr.masked().to_string(),
        reason: reason.to_string(),
    };
    let block_len = u32::try_from(block_end - start)
        .map_err(|_| too_large("the block is larger than 4 GiB"))?;
    let clear_len = u16::try_from(out.len() - block_end)
        .map_err(|_| too_large("its 003 records exceed 65535 bytes"))?;
    Ok(Appended {
        entry: IndexEntry {
            pnr,
            municipality: facts.municipality(),
            birth_date: facts.birth_date(),
            status: facts.status().unwrap_or(0),
            pnr_gaeld: facts.pnr_gaeld(),
        },
        block_len,
        clear_len,
    })
}

/// `error` with its line filled in.
fn located(checked: &CheckedExtract<'_>, error: ParseError) -> ParseError {
    let mut one = [error];
    checked.locate(&mut one);
    let [error] = one;
    error
}

/// The 000's PRODDTO and OPGAVENR, which every extract the replica takes must have
/// ([`Header::of`]: one rule and wording with the delivery); or, when the file has no readable
/// frame, the error that says why.
pub(crate) fn header_of(checked: &CheckedExtract<'_>, path: &Path) -> Result<Header, ReplicaError> {
    let input = |error| ReplicaError::Input {
        path: path.to_path_buf(),
        error: Box::new(error),
    };
    checked.header().map_err(input)
}

/// The refusal of an extract with errors, listing the report's (located) errors.
pub(crate) fn invalid(checked: &CheckedExtract<'_>, path: &Path) -> ReplicaError {
    ReplicaError::Invalid(InvalidExtract::of(checked, path))
}
