//! Input errors as data: where (byte offset, line, record type, field, person), what was
//! expected, and a stable category for machines (SEMANTICS.md §6).

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::{Pnr, RecordType};

/// The stable categories of input errors. The string forms ([`ErrorCategory::as_str`]) are
/// part of the machine-readable output and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCategory {
    /// No start record: the first record is not 000.
    Missing000,
    /// A 000 record that is not the first record.
    Misplaced000,
    /// No end record.
    Missing999,
    /// A record other than 910 after the 999 record.
    RecordAfter999,
    /// 999 TAELLER differs from the records counted (000, 999, 910 excluded).
    CounterMismatch,
    /// A record cut short (concatenated framing), or a line shorter than 3 bytes.
    TruncatedRecord,
    /// A line longer than its record type's length whose extra bytes are not all blanks.
    LineTooLong,
    /// Non-digits in a numeric field.
    BadNumeric,
    /// A date field that is neither empty nor a real date (TS12: neither blank nor digits).
    BadDate,
    /// The same PNR in two separate person blocks of one file.
    DuplicatePerson,
    /// A record type the specification does not define, where it cannot be carried.
    UnknownRecordType,
    /// A change extract that does not continue the replica (files are missing in between).
    SequenceGap,
    /// (ours) A record where the file's structure does not allow it: a person block that does
    /// not start with 001, a 997 receipt after a person block, a 003 record before the last
    /// person block, a person record after the 003 tail.
    MisplacedRecord,
    /// (ours) Positions 4-13 of a person record are not a personal number (10 digits).
    BadPnr,
}

impl ErrorCategory {
    /// The category's stable name, as in SEMANTICS.md §6.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Missing000 => "missing-000",
            ErrorCategory::Misplaced000 => "misplaced-000",
            ErrorCategory::Missing999 => "missing-999",
            ErrorCategory::RecordAfter999 => "record-after-999",
            ErrorCategory::CounterMismatch => "counter-mismatch",
            ErrorCategory::TruncatedRecord => "truncated-record",
            ErrorCategory::LineTooLong => "line-too-long",
            ErrorCategory::BadNumeric => "bad-numeric",
            ErrorCategory::BadDate => "bad-date",
            ErrorCategory::DuplicatePerson => "duplicate-person",
            ErrorCategory::UnknownRecordType => "unknown-record-type",
            ErrorCategory::SequenceGap => "sequence-gap",
            ErrorCategory::MisplacedRecord => "misplaced-record",
            ErrorCategory::BadPnr => "bad-pnr",
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a finding stops the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input is invalid.
    Error,
    /// The input is accepted, but an operator should know (an undefined record type carried
    /// through inside a person block).
    Warning,
}

/// Where in the input a finding is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    /// Byte offset of the record's first byte (0-based).
    pub offset: u64,
    /// 1-based line number in line framing, or 1-based record number in concatenated framing
    /// (see `lines`).
    pub line: u64,
    /// True when `line` counts lines; false when the file has no line terminators and it
    /// counts records.
    pub lines: bool,
}

/// One input error or warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParseError {
    /// The stable category.
    pub category: ErrorCategory,
    /// Error or warning.
    pub severity: Severity,
    /// Where the record starts.
    pub position: Position,
    /// The record type, when the record has one.
    #[serde(serialize_with = "serialize_record_type")]
    pub record_type: Option<RecordType>,
    /// The field concerned, by its CPR name.
    pub field: Option<&'static str>,
    /// The person whose block holds the record; shown masked.
    #[serde(serialize_with = "serialize_person")]
    pub person: Option<Pnr>,
    /// What was expected and what was found, in words. Never holds a full PNR.
    pub detail: String,
}

fn serialize_record_type<S: serde::Serializer>(
    v: &Option<RecordType>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(rt) => s.serialize_str(&rt.to_string()),
        None => s.serialize_none(),
    }
}

fn serialize_person<S: serde::Serializer>(v: &Option<Pnr>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(p) => s.serialize_str(&p.masked().to_string()),
        None => s.serialize_none(),
    }
}

impl ParseError {
    /// A new error at byte `offset`; the line is filled in by the extract before it is
    /// returned to callers.
    pub fn new(category: ErrorCategory, offset: usize, detail: impl Into<String>) -> ParseError {
        ParseError {
            category,
            severity: Severity::Error,
            position: Position {
                offset: offset as u64,
                line: 0,
                lines: true,
            },
            record_type: None,
            field: None,
            person: None,
            detail: detail.into(),
        }
    }

    /// Sets the record type.
    pub fn with_record_type(mut self, rt: Option<RecordType>) -> ParseError {
        self.record_type = rt;
        self
    }

    /// Sets the field.
    pub fn with_field(mut self, field: &'static str) -> ParseError {
        self.field = Some(field);
        self
    }

    /// Sets the person.
    pub fn with_person(mut self, pnr: Option<Pnr>) -> ParseError {
        self.person = pnr;
        self
    }

    /// Makes it a warning.
    pub fn as_warning(mut self) -> ParseError {
        self.severity = Severity::Warning;
        self
    }

    /// Makes it an error.
    pub fn into_error(mut self) -> ParseError {
        self.severity = Severity::Error;
        self
    }

    /// Displays the error with the file it was found in.
    pub fn in_file<'e>(&'e self, path: &'e Path) -> impl fmt::Display + 'e {
        InFile { error: self, path }
    }
}

struct InFile<'e> {
    error: &'e ParseError,
    path: &'e Path,
}

impl fmt::Display for InFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.position;
        let unit = if p.lines { "line" } else { "record" };
        write!(f, "{unit} {}, byte {}", p.line, p.offset)?;
        if let Some(rt) = self.record_type {
            write!(f, ", record {rt}")?;
        }
        if let Some(field) = self.field {
            write!(f, ", field {field}")?;
        }
        if let Some(pnr) = self.person {
            write!(f, ", person {}", pnr.masked())?;
        }
        let level = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning ",
        };
        write!(f, ": {level}{}: {}", self.category, self.detail)
    }
}

impl std::error::Error for ParseError {}
