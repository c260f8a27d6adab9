//! Record layouts, generated at build time from `spec/records.tsv` (a copy of the project's
//! specification table). Positions are stored 0-based; the table's 1-based positions appear in
//! the generated documentation of each field constant in [`fields`].

use std::fmt;

/// A three-digit record type (`000` ... `999`), the first three bytes of every record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    /// Start record.
    pub const START: RecordType = RecordType(0);
    /// Person core data, the first record of every person block.
    pub const PERSON: RecordType = RecordType(1);
    /// Current address (coded); carries the municipality code.
    pub const ADDRESS: RecordType = RecordType(2);
    /// Addressing name and clear-written address; stands in the tail after the person blocks.
    pub const CLEAR_ADDRESS: RecordType = RecordType(3);
    /// Historical PNR: its positions 4-13 hold the current PNR, the old one follows.
    pub const HISTORICAL_PNR: RecordType = RecordType(22);
    /// Event.
    pub const EVENT: RecordType = RecordType(99);
    /// Input error record, after the end record.
    pub const INPUT_ERROR: RecordType = RecordType(910);
    /// Subscription-deletion receipt, right after the start record.
    pub const RECEIPT: RecordType = RecordType(997);
    /// End record.
    pub const END: RecordType = RecordType(999);

    /// Reads the record type from a record's first three bytes; `None` unless they are digits.
    pub fn from_bytes(bytes: &[u8]) -> Option<RecordType> {
        match bytes {
            [a @ b'0'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9', ..] => Some(RecordType(
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
            )),
            _ => None,
        }
    }

    /// The layouts this type has, shortest first; empty when the specification does not
    /// define the type.
    pub fn layouts(self) -> &'static [&'static Layout] {
        variants_of(self.0)
    }

    /// True when the specification defines this type.
    pub fn is_known(self) -> bool {
        !self.layouts().is_empty()
    }

    /// True for the records that belong to a person block (001-099 apart from 003).
    pub fn is_person_record(self) -> bool {
        (1..=99).contains(&self.0) && self != Self::CLEAR_ADDRESS
    }

    /// The three digits.
    pub fn digits(self) -> [u8; 3] {
        [
            (self.0 / 100) as u8 + b'0',
            (self.0 / 10 % 10) as u8 + b'0',
            (self.0 % 10) as u8 + b'0',
        ]
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// Which extract description a layout comes from (`records.tsv` column `variant`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The change extract U12170 (also SF6002 and CPR Direct OFF4).
    U12170,
    /// The status extract U12180, where it differs (001 at 121 bytes, 031-033).
    U12180,
    /// Record 052, guardianship with a type (newer, unverified).
    Ext,
    /// The 382-byte 002 with road name and address UUID (newer, unverified).
    Ext002B,
}

/// How a field's bytes are to be read (`records.tsv` column `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Digits, right-aligned and zero-padded; all blanks means empty.
    Numeric,
    /// Latin-1 text, left-aligned and blank-padded.
    Text,
    /// `YYYYMMDD`; all blanks or all zeros means empty.
    D8,
    /// `YYYY-MM-DD`; all blanks or zeros means empty.
    D10,
    /// `YYYYMMDDHHMM`, digits only; month/day may be `00`, minute `99` (uncertain parts).
    Ts12,
}

impl FieldKind {
    /// The form a valid value takes, in words, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            FieldKind::Numeric => "digits (or all blanks)",
            FieldKind::Text => "text",
            FieldKind::D8 => "a date YYYYMMDD (or all blanks or zeros)",
            FieldKind::D10 => "a date YYYY-MM-DD (or all blanks or zeros)",
            FieldKind::Ts12 => "a timestamp YYYYMMDDHHMM in digits (or all blanks)",
        }
    }
}

/// One field of a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The CPR field name.
    pub name: &'static str,
    /// 0-based offset in the record.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// How the bytes are read.
    pub kind: FieldKind,
    /// For a date followed by its one-byte `*_UMRK` uncertainty marker: the marker's offset.
    pub marker: Option<usize>,
    /// True when `records.tsv` marks the field `YES` (checked against CPR's own test data).
    pub verified: bool,
}

impl Field {
    /// One past the field's last byte.
    pub const fn end(&self) -> usize {
        self.start + self.len
    }
}

/// The layout of one record type in one variant.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    /// The record type.
    pub record_type: RecordType,
    /// Which description the layout comes from.
    pub variant: Variant,
    /// The record's Danish name with an English gloss.
    pub name: &'static str,
    /// The record's length in bytes.
    pub len: usize,
    /// The fields, contiguous, in order.
    pub fields: &'static [Field],
    /// The fields whose bytes validation checks (all but free text), precomputed so the hot
    /// loop does not filter.
    pub checked: &'static [Field],
    /// The same fields but the record type, as compact byte ranges: what the single-pass
    /// reader's byte tests walk (a few bytes per field instead of a whole [`Field`]).
    pub checks: &'static [Check],
    /// The reader's byte tests of this layout's checked fields, generated as straight-line
    /// code (the same tests as a walk over [`Layout::checks`], without the loop and the
    /// dispatch on each field's kind). True only when every field passes (see
    /// `CheckedExtract::read`); false sends the record to the decoders.
    pub quick: QuickTest,
}

/// A layout's generated byte tests ([`Layout::quick`]).
#[derive(Clone, Copy)]
pub struct QuickTest(pub fn(&[u8]) -> bool);

impl QuickTest {
    /// Runs the tests on a record's bytes.
    #[inline(always)]
    pub fn passes(&self, bytes: &[u8]) -> bool {
        (self.0)(bytes)
    }
}

impl fmt::Debug for QuickTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QuickTest")
    }
}

/// The tests are made from the layout's other fields, which tell layouts apart: two layouts
/// equal in those have the same tests (a function's address is no identity in Rust).
impl PartialEq for QuickTest {
    fn eq(&self, _: &QuickTest) -> bool {
        true
    }
}

impl Eq for QuickTest {}

/// One checked field as the reader's byte tests see it: its byte range and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// 0-based offset of the first byte.
    pub start: u16,
    /// One past the last byte.
    pub end: u16,
    /// How the bytes are read.
    pub kind: FieldKind,
}

impl Layout {
    /// Finds a field by its CPR name (for tools and tests; hot paths use the constants in
    /// [`fields`]).
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

include!(concat!(env!("OUT_DIR"), "/layouts.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_of_the_table_is_present() {
        let types: Vec<u16> = ALL.iter().map(|l| l.record_type.0).collect();
        for t in (0..=30).chain([31, 32, 33, 52, 99, 910, 997, 999]) {
            assert!(types.contains(&t), "record type {t:03} missing");
        }
        assert_eq!(
            RecordType(1)
                .layouts()
                .iter()
                .map(|l| l.len)
                .collect::<Vec<_>>(),
            [106, 121]
        );
        assert_eq!(
            RecordType(2)
                .layouts()
                .iter()
                .map(|l| l.len)
                .collect::<Vec<_>>(),
            [306, 382]
        );
        assert!(RecordType(34).layouts().is_empty());
    }

    #[test]
    fn constants_match_the_table() {
        assert_eq!(fields::r002::KOMKOD.start, 13);
        assert_eq!(fields::r002::KOMKOD.len, 4);
        assert_eq!(fields::r001::FOED_DT.marker, Some(49));
        assert_eq!(fields::r099::HAENDELSE.start, 25);
        assert_eq!(fields::r001_u12180::NGLKONST.end(), 121);
        assert_eq!(R999.len, 21);
    }

    #[test]
    fn the_compact_checks_are_the_checked_fields_but_the_record_type() {
        for layout in ALL {
            let from_fields: Vec<Check> = layout
                .checked
                .iter()
                .filter(|f| f.start > 0)
                .map(|f| Check {
                    start: f.start as u16,
                    end: f.end() as u16,
                    kind: f.kind,
                })
                .collect();
            assert_eq!(layout.checks, &from_fields[..], "{}", layout.name);
        }
    }

    #[test]
    fn record_type_reads_three_digits() {
        assert_eq!(RecordType::from_bytes(b"0991234"), Some(RecordType(99)));
        assert_eq!(RecordType::from_bytes(b"09"), None);
        assert_eq!(RecordType::from_bytes(b"0a9"), None);
        assert_eq!(RecordType(7).to_string(), "007");
        assert_eq!(&RecordType(910).digits(), b"910");
    }
}
