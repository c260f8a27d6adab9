//! A person as the replica stores it: the block's records in canonical form (padded to their
//! length, LF-terminated; 099 events dropped; a 121-byte status-layout 001 cut to 106 bytes;
//! undefined record types as carried), followed by the person's 003 record(s), canonical too.

use std::path::Path;

use cprsift_format::{ParseError, PersonBlock, RecordType, TailIndex};

use crate::error::ReplicaError;
use crate::index::{IndexEntry, Location};

/// The U12170 length of record 001 (SEMANTICS.md §5: the status layout's 121 is cut to this).
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

/// Appends `block` and its 003 record(s) from `tail` to `out` in canonical form.
pub(crate) fn append_person(
    out: &mut Vec<u8>,
    block: &PersonBlock<'_>,
    tail: &TailIndex<'_>,
    path: &Path,
) -> Result<Appended, ReplicaError> {
    let start = out.len();
    for record in block.records() {
        let record = record.map_err(|e| ReplicaError::Input {
            path: path.to_path_buf(),
            error: e.with_person(Some(block.pnr())),
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
    for record in tail.records_of(block.pnr()) {
        record.write_padded(out);
        out.push(b'\n');
    }
    let too_large = |reason: &str| ReplicaError::TooLarge {
        path: path.to_path_buf(),
        person: block.pnr().masked().to_string(),
        reason: reason.to_string(),
    };
    let block_len = u32::try_from(block_end - start)
        .map_err(|_| too_large("the block is larger than 4 GiB"))?;
    let clear_len = u16::try_from(out.len() - block_end)
        .map_err(|_| too_large("its 003 records exceed 65535 bytes"))?;
    Ok(Appended {
        entry: IndexEntry {
            pnr: block.pnr(),
            municipality: block.municipality(),
            birth_date: block.birth_date(),
            status: block.status().unwrap_or(0),
            pnr_gaeld: block.pnr_gaeld(),
        },
        block_len,
        clear_len,
    })
}

/// The located form of a format error, wrapped with the file it is in.
pub(crate) fn input_error(
    extract: &cprsift_format::Extract<'_>,
    path: &Path,
    e: ParseError,
) -> ReplicaError {
    ReplicaError::Input {
        path: path.to_path_buf(),
        error: extract.locate(e),
    }
}

/// 000 OPGAVENR, which the replica keeps and writes back: it must be 6 digits.
pub(crate) fn opgavenr_of(
    extract: &cprsift_format::Extract<'_>,
    path: &Path,
) -> Result<String, ReplicaError> {
    let opgavenr = extract.opgavenr();
    if opgavenr.len() == 6 && opgavenr.iter().all(u8::is_ascii_digit) {
        return Ok(String::from_utf8_lossy(opgavenr).into_owned());
    }
    Err(input_error(
        extract,
        path,
        ParseError::new(
            cprsift_format::ErrorCategory::BadNumeric,
            extract.start_record().offset(),
            "the start record's OPGAVENR must be 6 digits: the replica writes it back",
        )
        .with_record_type(Some(RecordType::START))
        .with_field("OPGAVENR"),
    ))
}

/// 000 PRODDTO, which the replica needs as its date.
pub(crate) fn proddto_of(
    extract: &cprsift_format::Extract<'_>,
    path: &Path,
) -> Result<chrono::NaiveDate, ReplicaError> {
    extract.proddto().ok_or_else(|| {
        input_error(
            extract,
            path,
            ParseError::new(
                cprsift_format::ErrorCategory::BadDate,
                extract.start_record().offset(),
                "the start record has no PRODDTO; the replica needs the date of every extract",
            )
            .with_record_type(Some(RecordType::START))
            .with_field("PRODDTO"),
        )
    })
}

/// Opens an extract, wrapping a framing error with the file's path.
pub(crate) fn open_extract<'a>(
    bytes: &'a [u8],
    path: &Path,
    options: cprsift_format::ExtractOptions,
) -> Result<cprsift_format::Extract<'a>, ReplicaError> {
    cprsift_format::Extract::open(bytes, options).map_err(|error| ReplicaError::Input {
        path: path.to_path_buf(),
        error,
    })
}

/// Checks an extract strictly: every error refuses it.
pub(crate) fn check_strict(
    extract: &cprsift_format::Extract<'_>,
    path: &Path,
) -> Result<u64, ReplicaError> {
    let report = extract.check();
    if report.is_valid() {
        Ok(report.warning_count)
    } else {
        Err(ReplicaError::Invalid {
            path: path.to_path_buf(),
            errors: report.errors,
            count: report.error_count,
        })
    }
}
