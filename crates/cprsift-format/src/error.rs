//! Input errors as data: where (byte offset, line, record type, field, person), what was
//! expected, and a stable category from the project's one table ([`Category`]).

use std::fmt;
use std::path::{Path, PathBuf};

use cprsift_errors::{group_thousands, mask_personal_numbers, Categorized, Category};
use serde::Serialize;

use crate::{Pnr, RecordType};

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
    pub category: Category,
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
    /// What was expected and what was found, in words. Never holds a full PNR: input text
    /// echoed in it passes through the project's masking rule.
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
    pub fn new(category: Category, offset: usize, detail: impl Into<String>) -> ParseError {
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
            detail: mask_personal_numbers(&detail.into()).into_owned(),
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

    /// Displays the error with the file it was found in (`FILE: line L, byte B, ...`); the
    /// category is not part of the text: whoever prints it puts it in front, `[name]`.
    pub fn in_file<'e>(&'e self, path: &'e Path) -> impl fmt::Display + 'e {
        InFile { error: self, path }
    }
}

/// An extract refused for its errors: the file, its first errors (located, in file order, at
/// most [`crate::ERROR_DETAIL_LIMIT`]) and how many it has in all. The one form every refusal
/// that lists an extract's errors takes (the replica's, the nightly run's, the command line's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidExtract {
    /// The extract.
    pub path: PathBuf,
    /// Its first errors, located.
    pub errors: Vec<ParseError>,
    /// All its errors.
    pub count: u64,
}

impl InvalidExtract {
    /// The refusal of a checked extract with errors, from its report.
    pub fn of(checked: &crate::CheckedExtract<'_>, path: &Path) -> InvalidExtract {
        let report = checked.report();
        InvalidExtract {
            path: path.to_path_buf(),
            errors: report.errors.clone(),
            count: report.error_count,
        }
    }
}

impl fmt::Display for InvalidExtract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: invalid extract, {} error(s); the first: ",
            self.path.display(),
            self.count
        )?;
        match self.errors.first() {
            Some(e) => write!(f, "{e}"),
            None => f.write_str("(not recorded)"),
        }
    }
}

impl std::error::Error for InvalidExtract {}

impl Categorized for InvalidExtract {
    /// The first error's. (A refusal always lists its first error; the fallback only keeps
    /// the type total.)
    fn category(&self) -> Category {
        self.errors
            .first()
            .map_or(Category::BadNumeric, |e| e.category)
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
        write!(f, "{unit} {}, byte {}", p.line, group_thousands(p.offset))?;
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
            Severity::Warning => "warning: ",
        };
        write!(f, ": {level}{}", self.detail)
    }
}

impl std::error::Error for ParseError {}

impl Categorized for ParseError {
    fn category(&self) -> Category {
        self.category
    }
}
