//! What the replica and every delivery need of an extract's 000 record: its production date
//! (PRODDTO) and its 6-digit job number (OPGAVENR). `check` accepts a 000 with an empty
//! PRODDTO (zeros) or a non-numeric OPGAVENR padded with blanks, but nothing can be delivered
//! or applied without them: one rule, one error wording, for the replica and the engine.

use chrono::NaiveDate;

use crate::error::ParseError;
use crate::{CheckedExtract, Extract, RecordType};
use cprsift_errors::Category;

/// The 000 record's identity fields, as a delivery or an apply needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// PRODDTO, the production date.
    pub proddto: NaiveDate,
    /// PRODDTOFORRIG, the previous production date; `None` when zeros (a full extract).
    pub proddto_forrig: Option<NaiveDate>,
    /// OPGAVENR, the job number: six digits.
    pub opgavenr: [u8; 6],
}

/// A job number (OPGAVENR) as cprsift accepts one wherever it comes from (a 000 record, a
/// command line): exactly six ASCII digits.
pub fn opgavenr_from(bytes: &[u8]) -> Option<[u8; 6]> {
    <[u8; 6]>::try_from(bytes)
        .ok()
        .filter(|o| o.iter().all(u8::is_ascii_digit))
}

impl Header {
    /// Reads the header of `extract`, or the located error naming the 000 record's field.
    pub fn of(extract: &Extract<'_>) -> Result<Header, ParseError> {
        let start = extract.start_record().offset();
        let error = |category, field, detail: &str| {
            extract.locate(
                ParseError::new(category, start, detail)
                    .with_record_type(Some(RecordType::START))
                    .with_field(field),
            )
        };
        let proddto = extract.proddto().ok_or_else(|| {
            error(
                Category::BadDate,
                "PRODDTO",
                "the start record has no production date; every delivery and the replica need it",
            )
        })?;
        let opgavenr = opgavenr_from(extract.opgavenr()).ok_or_else(|| {
            error(
                Category::BadNumeric,
                "OPGAVENR",
                "the start record's job number must be 6 digits: file names and the replica hold it",
            )
        })?;
        Ok(Header {
            proddto,
            proddto_forrig: extract.proddto_forrig(),
            opgavenr,
        })
    }

    /// OPGAVENR as text (six ASCII digits).
    pub fn opgavenr_text(&self) -> &str {
        // Six ASCII digits, checked by `of`.
        std::str::from_utf8(&self.opgavenr).unwrap_or("000000")
    }
}

impl<'a> CheckedExtract<'a> {
    /// The extract's frame, or the error that leaves it without one: the report's first,
    /// located. The one place that says why a checked extract cannot be framed.
    pub fn frame(&self) -> Result<&Extract<'a>, ParseError> {
        self.extract().ok_or_else(|| {
            let mut errors = self.report().errors.clone();
            self.locate(&mut errors);
            errors.into_iter().next().unwrap_or_else(|| {
                ParseError::new(Category::Missing000, 0, "the file has no readable frame")
            })
        })
    }

    /// What a delivery or an apply needs of the 000 record ([`Header::of`]), or the error that
    /// stops it ([`CheckedExtract::frame`]'s when the file has no frame).
    pub fn header(&self) -> Result<Header, ParseError> {
        Header::of(self.frame()?)
    }
}
