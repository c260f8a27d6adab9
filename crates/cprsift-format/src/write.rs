//! Writing records: canonical framing for records read from an input, and a builder for new
//! records (the generator, start and end records, the initial load's A45 events).

use chrono::{Datelike, NaiveDate};

use crate::date::Ts12;
use crate::{Field, FieldKind, Layout, Record};

/// The line terminator of written records (docs/rules.md §3: LF by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Terminator {
    /// LF (the default).
    #[default]
    Lf,
    /// CR LF.
    Crlf,
    /// No terminator: concatenated fixed-length records.
    None,
}

impl Terminator {
    /// The terminator's bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Lf => b"\n",
            Terminator::Crlf => b"\r\n",
            Terminator::None => b"",
        }
    }
}

/// Appends `record` in canonical form: padded to its record length (an undefined type as
/// carried), then the terminator.
pub fn write_record(out: &mut Vec<u8>, record: &Record<'_>, terminator: Terminator) {
    record.write_padded(out);
    out.extend_from_slice(terminator.bytes());
}

/// Builds one record field by field: alphanumeric fields left-aligned and blank-padded,
/// numeric fields right-aligned and zero-padded (spec/CODES.md §15).
#[derive(Clone, Debug)]
pub struct RecordBuilder {
    layout: &'static Layout,
    buf: Vec<u8>,
}

impl RecordBuilder {
    /// A blank record of `layout` with its record type filled in.
    pub fn new(layout: &'static Layout) -> RecordBuilder {
        let mut b = RecordBuilder {
            layout,
            buf: Vec::with_capacity(layout.len),
        };
        b.reset(layout);
        b
    }

    /// Starts over with a blank record of `layout`, reusing the buffer.
    pub fn reset(&mut self, layout: &'static Layout) -> &mut Self {
        self.layout = layout;
        self.buf.clear();
        self.buf.resize(layout.len, b' ');
        self.buf[..3].copy_from_slice(&layout.record_type.digits());
        self
    }

    /// Starts from an existing record of `layout` (e.g. one read from an extract) so that some
    /// fields can be changed and the rest kept: bytes beyond the layout's length are dropped,
    /// missing ones read as blanks. The record type is taken from the layout.
    pub fn load(&mut self, layout: &'static Layout, record: &[u8]) -> &mut Self {
        self.reset(layout);
        let n = record.len().min(layout.len);
        if n > 3 {
            self.buf[3..n].copy_from_slice(&record[3..n]);
        }
        self
    }

    /// The layout being built.
    pub fn layout(&self) -> &'static Layout {
        self.layout
    }

    fn slot(&mut self, field: &Field) -> &mut [u8] {
        debug_assert!(
            field.end() <= self.layout.len,
            "field {} outside the layout",
            field.name
        );
        &mut self.buf[field.start..field.end()]
    }

    /// Sets a text field: left-aligned, blank-padded, cut at the field's length.
    pub fn text(&mut self, field: &Field, value: &[u8]) -> &mut Self {
        let slot = self.slot(field);
        slot.fill(b' ');
        let n = value.len().min(slot.len());
        slot[..n].copy_from_slice(&value[..n]);
        self
    }

    /// Sets a text field from UTF-8, converting to ISO-8859-1 (characters outside Latin-1
    /// become `?`).
    pub fn text_utf8(&mut self, field: &Field, value: &str) -> &mut Self {
        let mut latin1 = [b' '; 64];
        let mut n = 0;
        for c in value.chars().take(latin1.len()) {
            latin1[n] = u8::try_from(u32::from(c)).unwrap_or(b'?');
            n += 1;
        }
        self.text(field, &latin1[..n])
    }

    /// Sets a text field right-aligned (e.g. SIDEDOER `  tv`).
    pub fn text_right(&mut self, field: &Field, value: &[u8]) -> &mut Self {
        let slot = self.slot(field);
        slot.fill(b' ');
        let n = value.len().min(slot.len());
        let len = slot.len();
        slot[len - n..].copy_from_slice(&value[..n]);
        self
    }

    /// Sets a numeric (or D8) field: right-aligned, zero-padded (the value is cut to the field's
    /// length from the left if too large).
    pub fn number(&mut self, field: &Field, mut value: u64) -> &mut Self {
        for b in self.slot(field).iter_mut().rev() {
            *b = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self
    }

    /// Sets a date field in the field's own form (D8 `YYYYMMDD`, D10 `YYYY-MM-DD`, TS12 at
    /// 00:00).
    pub fn date(&mut self, field: &Field, date: NaiveDate) -> &mut Self {
        match field.kind {
            FieldKind::D10 => {
                let mut v = [0u8; 10];
                write_digits(&mut v[..4], date.year() as u64);
                v[4] = b'-';
                write_digits(&mut v[5..7], u64::from(date.month()));
                v[7] = b'-';
                write_digits(&mut v[8..], u64::from(date.day()));
                self.slot(field).copy_from_slice(&v);
            }
            FieldKind::Ts12 => {
                self.slot(field)
                    .copy_from_slice(&Ts12::from_date(date, 0, 0).digits());
            }
            _ => {
                let ymd = date.year() as u64 * 10_000
                    + u64::from(date.month()) * 100
                    + u64::from(date.day());
                self.number(field, ymd);
            }
        }
        self
    }

    /// Sets a TS12 field.
    pub fn ts12(&mut self, field: &Field, value: Ts12) -> &mut Self {
        self.slot(field).copy_from_slice(&value.digits());
        self
    }

    /// The record's bytes, full length.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Appends the record and a terminator to `out`.
    pub fn write(&self, out: &mut Vec<u8>, terminator: Terminator) {
        out.extend_from_slice(&self.buf);
        out.extend_from_slice(terminator.bytes());
    }
}

fn write_digits(out: &mut [u8], mut v: u64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{fields::r002, R002};

    #[test]
    fn builds_padded_fields() {
        let mut b = RecordBuilder::new(&R002);
        b.text(&r002::PNR, b"1503859991")
            .number(&r002::KOMKOD, 101)
            .text_right(&r002::SIDEDOER, b"tv")
            .date(
                &r002::START_DT_ADRTXT,
                NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
            );
        let r = b.bytes();
        assert_eq!(r.len(), 306);
        assert_eq!(&r[..17], b"00215038599910101");
        assert_eq!(&r[27..31], b"  tv");
        assert_eq!(&r[286..296], b"2024-03-11");
    }

    #[test]
    fn load_keeps_other_fields() {
        let mut b = RecordBuilder::new(&R002);
        b.text(&r002::PNR, b"1503859991").number(&r002::KOMKOD, 101);
        let original = b.bytes().to_vec();
        b.load(&R002, &original[..20]).number(&r002::VEJKOD, 7);
        assert_eq!(&b.bytes()[..21], b"002150385999101010007");
        assert_eq!(b.bytes().len(), 306);
        b.load(&R002, b"00");
        assert_eq!(&b.bytes()[..4], b"002 ");
    }
}
