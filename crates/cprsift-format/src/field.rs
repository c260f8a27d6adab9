//! Zero-copy access to one field of a record.

use std::borrow::Cow;

use chrono::NaiveDate;

use crate::date::{self, BadDate, Ts12};
use crate::{Field, FieldKind, Pnr};

/// The bytes of one field. A line that CPR right-trimmed may end inside or before a field: the
/// missing tail reads as blanks, so a value is the bytes present plus `len - present` virtual
/// blanks, and nothing is copied to fill them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldValue<'a> {
    present: &'a [u8],
    len: usize,
}

/// Reads field `field` of a record whose (possibly trimmed) bytes are `data`.
pub(crate) fn field_of<'a>(data: &'a [u8], field: &Field) -> FieldValue<'a> {
    let start = field.start.min(data.len());
    let end = field.end().min(data.len());
    FieldValue {
        present: &data[start..end],
        len: field.len,
    }
}

impl<'a> FieldValue<'a> {
    /// The bytes present in the input; the field's remaining bytes are blanks.
    pub fn present(&self) -> &'a [u8] {
        self.present
    }

    /// The field's length in the layout.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length field (none exists in the layouts; for completeness).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the field is all blanks.
    pub fn is_blank(&self) -> bool {
        self.present.iter().all(|&b| b == b' ')
    }

    /// The full-length bytes, when they are all present in the input (a trimmed line may have
    /// cut the field short; then only a blank field can be read).
    fn complete(&self) -> Option<&'a [u8]> {
        (self.present.len() == self.len).then_some(self.present)
    }

    /// The bytes without leading and trailing blanks (Latin-1, not converted).
    pub fn trimmed(&self) -> &'a [u8] {
        let s = self.present;
        let start = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
        let end = s.iter().rposition(|&b| b != b' ').map_or(start, |i| i + 1);
        &s[start..end]
    }

    /// The trimmed text converted from ISO-8859-1 to UTF-8 (allocates only when the text holds
    /// bytes above 0x7F).
    pub fn text(&self) -> Cow<'a, str> {
        latin1_to_utf8(self.trimmed())
    }

    /// A numeric field's value; `Ok(None)` when blank.
    pub fn number(&self) -> Result<Option<u64>, FieldKind> {
        if self.is_blank() {
            return Ok(None);
        }
        let bytes = self.complete().ok_or(FieldKind::Numeric)?;
        if bytes.len() > 19 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(FieldKind::Numeric);
        }
        Ok(Some(
            bytes
                .iter()
                .fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0')),
        ))
    }

    /// A D8 date; `Ok(None)` when empty.
    pub fn d8(&self) -> Result<Option<NaiveDate>, BadDate> {
        self.date_with(date::parse_d8)
    }

    /// A D10 date; `Ok(None)` when empty.
    pub fn d10(&self) -> Result<Option<NaiveDate>, BadDate> {
        self.date_with(date::parse_d10)
    }

    /// A TS12 timestamp; `Ok(None)` when empty.
    pub fn ts12(&self) -> Result<Option<Ts12>, BadDate> {
        self.date_with(Ts12::parse)
    }

    fn date_with<T>(
        &self,
        parse: fn(&[u8]) -> Result<Option<T>, BadDate>,
    ) -> Result<Option<T>, BadDate> {
        if self.is_blank() {
            return Ok(None);
        }
        parse(self.complete().ok_or(BadDate)?)
    }

    /// The field read as a PNR; `None` when blank, all zeros or not 10 digits.
    pub fn pnr(&self) -> Option<Pnr> {
        self.complete()
            .and_then(Pnr::from_digits)
            .filter(|p| p.key() != 0)
    }

    /// Checks the bytes against the field's kind, as validation does. This is the hot loop of
    /// `check`: numeric and TS12 fields are judged by one counting pass (all blanks, or all
    /// digits and complete), dates are parsed only when not blank.
    pub fn check(&self, kind: FieldKind) -> bool {
        let p = self.present;
        let (mut digits, mut blanks) = (0usize, 0usize);
        for &b in p {
            digits += usize::from(b.is_ascii_digit());
            blanks += usize::from(b == b' ');
        }
        let blank = blanks == p.len();
        match kind {
            FieldKind::Text => true,
            FieldKind::Numeric | FieldKind::Ts12 => {
                blank || (digits == self.len && p.len() == self.len)
            }
            FieldKind::D8 => blank || self.d8().is_ok(),
            FieldKind::D10 => blank || self.d10().is_ok(),
        }
    }

    /// Appends the full-length value (present bytes, then blanks) to `out`.
    pub fn write_padded(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.present);
        out.resize(out.len() + (self.len - self.present.len()), b' ');
    }
}

/// Converts ISO-8859-1 bytes to UTF-8. Every Latin-1 byte is the Unicode code point of the same
/// value, so the conversion cannot fail.
pub(crate) fn latin1_to_utf8(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8 as it is.
        Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default())
    } else {
        Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::fields::r002;

    #[test]
    fn trimmed_lines_read_as_blanks() {
        let data = b"0021503859991";
        let v = field_of(data, &r002::KOMKOD);
        assert!(v.is_blank());
        assert_eq!(v.number(), Ok(None));
        let mut out = Vec::new();
        v.write_padded(&mut out);
        assert_eq!(out, b"    ");
        let partial = field_of(b"00215038599910", &r002::KOMKOD);
        assert_eq!(partial.number(), Err(FieldKind::Numeric));
    }

    #[test]
    fn text_is_latin1() {
        let data = b"\xc6blet  ";
        let v = FieldValue {
            present: data,
            len: 8,
        };
        assert_eq!(v.text(), "Æblet");
        assert_eq!(
            FieldValue {
                present: b"  tv",
                len: 4
            }
            .text(),
            "tv"
        );
    }
}
