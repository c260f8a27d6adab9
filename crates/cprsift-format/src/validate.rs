//! Validating a whole extract in parallel: what `cprsift check` reports.

use std::collections::BTreeMap;

use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::error::{ErrorCategory, ParseError, Severity};
use crate::extract::unknown_carried;
use crate::layout::fields::{r001, r002};
use crate::{Blocks, Extract, ExtractOptions, Framing, FramingReport, Record, RecordType};

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

/// What one part of the input contributes to the report.
#[derive(Default)]
struct Tally {
    types: BTreeMap<u16, u64>,
    units: u64,
    persons: u64,
    statuses: BTreeMap<u64, u64>,
    municipalities: BTreeMap<u64, u64>,
    framing: FramingReport,
    errors: Vec<ParseError>,
    error_count: u64,
    warnings: Vec<ParseError>,
    warning_count: u64,
    keys: RoaringBitmap,
}

impl Tally {
    fn push(&mut self, e: ParseError) {
        let (list, count) = match e.severity {
            Severity::Error => (&mut self.errors, &mut self.error_count),
            Severity::Warning => (&mut self.warnings, &mut self.warning_count),
        };
        *count += 1;
        if list.len() < ERROR_DETAIL_LIMIT {
            list.push(e);
        }
    }

    /// Counts a record that 999 TAELLER counts.
    fn count(&mut self, rt: Option<RecordType>) {
        self.units += 1;
        self.count_type(rt);
    }

    /// Counts a record by type only (000, 999, 910).
    fn count_type(&mut self, rt: Option<RecordType>) {
        if let Some(rt) = rt {
            *self.types.entry(rt.0).or_default() += 1;
        }
    }

    fn merge(mut self, other: Tally) -> Tally {
        for (k, v) in other.types {
            *self.types.entry(k).or_default() += v;
        }
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.municipalities {
            *self.municipalities.entry(k).or_default() += v;
        }
        self.units += other.units;
        self.persons += other.persons;
        self.framing.merge(&other.framing);
        self.error_count += other.error_count;
        self.warning_count += other.warning_count;
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
        self.keys |= other.keys;
        self
    }

    /// Validates the blocks of one chunk.
    fn blocks(mut blocks: Blocks<'_>) -> (Tally, RoaringBitmap) {
        let mut t = Tally::default();
        let mut duplicates = RoaringBitmap::new();
        let mut uncounted = 0;
        for item in blocks.by_ref() {
            let block = match item {
                Ok(b) => b,
                Err(e) => {
                    t.count_type(e.record_type);
                    uncounted += u64::from(is_uncounted_stray(&e));
                    t.push(e);
                    continue;
                }
            };
            t.persons += 1;
            if !t.keys.insert(block.pnr().key()) {
                duplicates.insert(block.pnr().key());
            }
            let mut records = block.records();
            for record in records.by_ref() {
                let r = match record {
                    Ok(r) => r,
                    Err(e) => {
                        t.count_type(e.record_type);
                        t.push(e.with_person(Some(block.pnr())));
                        continue;
                    }
                };
                t.count_type(r.record_type());
                if r.layout().is_none() {
                    t.push(
                        unknown_carried(&r, None, Framing::Lines).with_person(Some(block.pnr())),
                    );
                    continue;
                }
                if let Err(e) = r.check_fields() {
                    t.push(e.with_person(Some(block.pnr())));
                }
                match r.record_type() {
                    Some(RecordType::PERSON) => {
                        if let Ok(Some(s)) = r.field(&r001::STATUS).number() {
                            *t.statuses.entry(s).or_default() += 1;
                        }
                    }
                    Some(RecordType::ADDRESS) => {
                        if let Ok(Some(k)) = r.field(&r002::KOMKOD).number() {
                            *t.municipalities.entry(k).or_default() += 1;
                        }
                    }
                    _ => {}
                }
            }
            t.framing.merge(records.framing_report());
        }
        // Every line (or record) the iterator consumed, however errors grouped them, but for
        // the 000, 999 and 910 records standing among the blocks: 999 TAELLER never counts
        // those types, wherever they stand.
        t.units = blocks.units_consumed() - uncounted;
        (t, duplicates)
    }
}

/// True for the error of a 000, 999 or 910 record standing among the person blocks (a record
/// of its own, one line): 999 TAELLER does not count these types, wherever they stand.
pub(crate) fn is_uncounted_stray(e: &ParseError) -> bool {
    matches!(
        (e.category, e.record_type),
        (ErrorCategory::Misplaced000, Some(RecordType::START))
            | (ErrorCategory::RecordAfter999, Some(RecordType::END))
            | (
                ErrorCategory::MisplacedRecord,
                Some(RecordType::INPUT_ERROR)
            )
    )
}

/// The parts of a file outside the person blocks, as validation treats them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    /// 997 receipts: counted by TAELLER.
    Receipts,
    /// The 003 tail: counted by TAELLER, and every record names a person.
    Tail,
    /// 910 records after the 999: not counted by TAELLER.
    Trailer,
}

impl<'a> Extract<'a> {
    /// Checks the records of one region: framing, fields, and what the region requires.
    fn check_region(t: &mut Tally, mut records: crate::Records<'_>, region: Region) {
        for record in records.by_ref() {
            let rt = match &record {
                Ok(r) => r.record_type(),
                Err(e) => e.record_type,
            };
            if region == Region::Trailer {
                t.count_type(rt);
            } else {
                t.count(rt);
            }
            match record {
                Ok(r) => {
                    if let Err(e) = r.check_fields() {
                        t.push(e);
                    }
                    if region == Region::Tail && r.pnr().is_none() {
                        t.push(tail_pnr_error(&r));
                    }
                }
                Err(e) => t.push(e),
            }
        }
        t.framing.merge(records.framing_report());
    }

    /// Validates the whole extract, splitting the person blocks across the threads of the
    /// current rayon pool: every record's framing and fields, the block structure, duplicate
    /// persons, the 003 tail, the 910 records, and 999 TAELLER against the records counted.
    pub fn check(&self) -> CheckReport {
        let chunks = self.block_chunks(rayon::current_num_threads() * 4);
        let parts: Vec<(Tally, RoaringBitmap)> =
            chunks.clone().into_par_iter().map(Tally::blocks).collect();

        let mut total = Tally::default();
        let mut seen = RoaringBitmap::new();
        for ((tally, mut dups), chunk) in parts.into_iter().zip(chunks) {
            dups |= &tally.keys & &seen;
            if !dups.is_empty() {
                // Report the second and later blocks of a key, not its first.
                let mut met = RoaringBitmap::new();
                for block in chunk.filter_map(Result::ok) {
                    let key = block.pnr().key();
                    if dups.contains(key) && (seen.contains(key) || !met.insert(key)) {
                        total.push(
                            ParseError::new(
                                ErrorCategory::DuplicatePerson,
                                block.offset(),
                                "this person already had a block earlier in the file",
                            )
                            .with_record_type(Some(RecordType::PERSON))
                            .with_person(Some(block.pnr())),
                        );
                    }
                }
            }
            seen |= &tally.keys;
            total = total.merge(tally);
        }
        self.check_edges(&mut total);
        self.report(total)
    }

    /// Start, receipts, tail, end and trailer.
    fn check_edges(&self, t: &mut Tally) {
        t.count_type(Some(RecordType::START));
        Self::check_region(t, self.receipts(), Region::Receipts);
        Self::check_region(t, self.tail(), Region::Tail);
        let counted = t.units;
        t.count_type(Some(RecordType::END));
        Self::check_region(t, self.trailer(), Region::Trailer);
        // 000 and 999 lines count in the framing report too.
        let mut edges = FramingReport::default();
        for offset in [self.start_record().offset(), self.end_record().offset()] {
            let _ = crate::framing::frame_at(self.input(), offset, self.framing(), &mut edges);
        }
        edges.eof_marker = self.input().last() == Some(&crate::framing::EOF_MARKER);
        t.framing.merge(&edges);
        match self.taeller() {
            Some(n) if n == taeller_of(counted) => {}
            found => t.push(
                ParseError::new(
                    ErrorCategory::CounterMismatch,
                    self.end_record().offset(),
                    format!(
                        "TAELLER says {}, the file has {counted} records besides 000, 999 and 910",
                        found.map_or("nothing".to_string(), |n| n.to_string())
                    ),
                )
                .with_record_type(Some(RecordType::END))
                .with_field("TAELLER"),
            ),
        }
        t.units = counted;
    }

    fn report(&self, mut t: Tally) -> CheckReport {
        self.locate_all(&mut t.errors);
        self.locate_all(&mut t.warnings);
        t.errors.truncate(ERROR_DETAIL_LIMIT);
        t.warnings.truncate(ERROR_DETAIL_LIMIT);
        let records = t.types.values().sum();
        let iso = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        CheckReport {
            bytes: self.input().len() as u64,
            framing: self.framing(),
            framing_report: t.framing,
            opgavenr: Some(String::from_utf8_lossy(self.opgavenr()).into_owned()),
            proddto: iso(self.proddto()),
            proddto_forrig: iso(self.proddto_forrig()),
            records_by_type: t
                .types
                .iter()
                .map(|(k, v)| (format!("{k:03}"), *v))
                .collect(),
            records,
            counted: t.units,
            taeller: self.taeller(),
            persons: t.persons,
            status_counts: t
                .statuses
                .iter()
                .map(|(k, v)| (format!("{k:02}"), *v))
                .collect(),
            municipality_counts: t
                .municipalities
                .iter()
                .map(|(k, v)| (format!("{k:04}"), *v))
                .collect(),
            errors: t.errors,
            error_count: t.error_count,
            warnings: t.warnings,
            warning_count: t.warning_count,
        }
    }
}

/// The error of a 003 record (the clear-address tail) whose positions 4-13 are not a personal
/// number: one wording for the validator and for callers that sort errors themselves (the
/// engine's lenient mode).
pub fn tail_pnr_error(record: &Record<'_>) -> ParseError {
    ParseError::new(
        ErrorCategory::BadPnr,
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
