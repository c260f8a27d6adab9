//! What `cprsift check` reports of an extract ([`CheckReport`], produced by the single-pass
//! reader, [`crate::CheckedExtract`]), and the validation rules the reader shares with its
//! callers: TAELLER's count, the 003 tail's PNR.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::ParseError;
use crate::{ExtractOptions, Framing, FramingReport, Record, RecordType};
use cprsift_errors::Category;

/// How many errors (and warnings) a report keeps in detail; the rest are only counted.
pub const ERROR_DETAIL_LIMIT: usize = 100;

/// Everything `cprsift check` tells an operator about one extract.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The input's size in bytes.
    pub bytes: u64,
    /// The framing detected.
    pub framing: Framing,
    /// Terminators, trimming and padding seen.
    pub framing_report: FramingReport,
    /// 000 OPGAVENR.
    pub opgavenr: Option<String>,
    /// 000 PRODDTO (YYYY-MM-DD).
    pub proddto: Option<String>,
    /// 000 PRODDTOFORRIG (YYYY-MM-DD); none when zeros.
    pub proddto_forrig: Option<String>,
    /// Records per record type, 000 and 999 and 910 included.
    pub records_by_type: BTreeMap<String, u64>,
    /// All records, 000 and 999 and 910 included.
    pub records: u64,
    /// Records counted as 999 TAELLER counts them (000, 999, 910 excluded).
    pub counted: u64,
    /// 999 TAELLER as written.
    pub taeller: Option<u64>,
    /// Person blocks.
    pub persons: u64,
    /// Persons per 001 STATUS.
    pub status_counts: BTreeMap<String, u64>,
    /// Persons per 002 KOMKOD.
    pub municipality_counts: BTreeMap<String, u64>,
    /// The first errors, in file order.
    pub errors: Vec<ParseError>,
    /// All errors.
    pub error_count: u64,
    /// The first warnings, in file order.
    pub warnings: Vec<ParseError>,
    /// All warnings.
    pub warning_count: u64,
}

impl CheckReport {
    /// True when the extract has no error.
    pub fn is_valid(&self) -> bool {
        self.error_count == 0
    }

    pub(crate) fn failed(bytes: usize, framing: Framing, error: ParseError) -> CheckReport {
        CheckReport {
            bytes: bytes as u64,
            framing,
            framing_report: FramingReport::default(),
            opgavenr: None,
            proddto: None,
            proddto_forrig: None,
            records_by_type: BTreeMap::new(),
            records: 0,
            counted: 0,
            taeller: None,
            persons: 0,
            status_counts: BTreeMap::new(),
            municipality_counts: BTreeMap::new(),
            errors: vec![error],
            error_count: 1,
            warnings: Vec::new(),
            warning_count: 0,
        }
    }
}

/// True for the error of a 000, 999 or 910 record standing among the person blocks (a record
/// of its own, one line): 999 TAELLER does not count these types, wherever they stand.
pub(crate) fn is_uncounted_stray(e: &ParseError) -> bool {
    matches!(
        (e.category, e.record_type),
        (Category::Misplaced000, Some(RecordType::START))
            | (Category::RecordAfter999, Some(RecordType::END))
            | (Category::MisplacedRecord, Some(RecordType::INPUT_ERROR))
    )
}

/// The error of a 003 record (the clear-address tail) whose positions 4-13 are not a personal
/// number: one wording for the validator and for callers that sort errors themselves (the
/// engine's lenient mode).
pub fn tail_pnr_error(record: &Record<'_>) -> ParseError {
    ParseError::new(
        Category::BadPnr,
        record.offset(),
        "positions 4-13 of a 003 record must hold a 10-digit personal number",
    )
    .with_record_type(record.record_type())
    .with_field("PNR")
}

/// The largest count 999 TAELLER's 8 digits hold, plus one.
pub const TAELLER_MODULUS: u64 = 100_000_000;

/// What 999 TAELLER says for `records` records: the count itself, or (ours) its last eight
/// digits when a national-scale full extract has more than 99,999,999 records, which the
/// field cannot hold. Every writer and the validator use this one rule.
pub fn taeller_of(records: u64) -> u64 {
    records % TAELLER_MODULUS
}

/// Checks `input` as `cprsift check` does: one read ([`crate::CheckedExtract::read`]) without
/// the content identity, its report.
pub fn check(input: &[u8], options: ExtractOptions) -> CheckReport {
    crate::CheckedExtract::read_unhashed(input, options).into_report()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taeller_keeps_the_last_eight_digits_of_a_national_count() {
        assert_eq!(taeller_of(1_098), 1_098);
        assert_eq!(taeller_of(99_999_999), 99_999_999);
        assert_eq!(taeller_of(148_789_536), 48_789_536);
    }
}
