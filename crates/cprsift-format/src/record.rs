//! One record: a view of its bytes and its layout.

use crate::error::ParseError;
use crate::field::field_of;
use crate::{Field, FieldKind, FieldValue, Layout, Pnr, RecordType};
use cprsift_errors::Category;

/// Whether the specification defines the record's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A defined type, read with this layout.
    Known(&'static Layout),
    /// A type the specification does not define, carried verbatim (line framing only).
    Unknown,
}

/// One record of an extract, borrowed from the input.
///
/// `bytes` is the record's logical content: at most the layout's length, possibly shorter when
/// CPR trimmed trailing blanks (the rest reads as blanks), never the line terminator. For an
/// unknown type it is the line without its trailing blanks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    bytes: &'a [u8],
    kind: RecordKind,
    offset: usize,
}

/// Positions 4-13: the PNR of person records (in 022 the current PNR), a sort key elsewhere.
const KEY: Field = Field {
    name: "PNR",
    start: 3,
    len: 10,
    kind: FieldKind::Text,
    marker: None,
    verified: true,
};

impl<'a> Record<'a> {
    pub(crate) fn new(bytes: &'a [u8], kind: RecordKind, offset: usize) -> Record<'a> {
        Record {
            bytes,
            kind,
            offset,
        }
    }

    /// The logical bytes (see the type's documentation).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The record's byte offset in the input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Known or unknown type.
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// The layout, for a defined type.
    pub fn layout(&self) -> Option<&'static Layout> {
        match self.kind {
            RecordKind::Known(layout) => Some(layout),
            RecordKind::Unknown => None,
        }
    }

    /// The record type, when the first three bytes are digits.
    pub fn record_type(&self) -> Option<RecordType> {
        match self.kind {
            RecordKind::Known(layout) => Some(layout.record_type),
            RecordKind::Unknown => RecordType::from_bytes(self.bytes),
        }
    }

    /// The record's full length: the layout's, or the carried bytes' for an unknown type.
    pub fn len(&self) -> usize {
        self.layout().map_or(self.bytes.len(), |l| l.len)
    }

    /// Never true: a record has at least its three type bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One field (use the constants of [`crate::layout::fields`]).
    pub fn field(&self, field: &Field) -> FieldValue<'a> {
        field_of(self.bytes, field)
    }

    /// Looks a field up by its CPR name in this record's layout.
    pub fn field_named(&self, name: &str) -> Option<FieldValue<'a>> {
        self.layout()?.field(name).map(|f| self.field(f))
    }

    /// Positions 4-13 as bytes (blank-padded when the line was trimmed short).
    pub fn key(&self) -> FieldValue<'a> {
        self.field(&KEY)
    }

    /// Positions 4-13 read as a PNR.
    pub fn pnr(&self) -> Option<Pnr> {
        self.key().pnr()
    }

    /// The uncertainty marker after a date field: true when it is `*`.
    pub fn uncertain(&self, date_field: &Field) -> bool {
        date_field
            .marker
            .is_some_and(|m| self.bytes.get(m) == Some(&b'*'))
    }

    /// Checks every numeric and date field; the first failure as an error.
    pub fn check_fields(&self) -> Result<(), ParseError> {
        let Some(layout) = self.layout() else {
            return Ok(());
        };
        for field in layout.checked {
            let value = self.field(field);
            if !value.check(field.kind) {
                let category = match field.kind {
                    FieldKind::Numeric => Category::BadNumeric,
                    _ => Category::BadDate,
                };
                let found = String::from_utf8_lossy(&value.present()[..value.present().len()]);
                return Err(ParseError::new(
                    category,
                    self.offset,
                    format!("expected {}, found {found:?}", field.kind.expected()),
                )
                .with_record_type(Some(layout.record_type))
                .with_field(field.name));
            }
        }
        Ok(())
    }

    /// Appends the record in canonical form (padded to its length, or for an unknown type its
    /// carried bytes) without a terminator.
    pub fn write_padded(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.bytes);
        out.resize(out.len() + (self.len() - self.bytes.len()), b' ');
    }
}
