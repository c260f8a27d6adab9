//! A person's block held for editing by the day generator: its records in canonical form
//! (001 at the change-extract length), its 003 record(s), and accessors for the fields events
//! depend on. Every change goes through `RecordBuilder` (loaded from the record it replaces).

use chrono::NaiveDate;
use cprsift_format::date::{parse_d10, Ts12};
use cprsift_format::layout::fields::{r001, r002, r012, r014, r015};
use cprsift_format::layout::{self, Layout};
use cprsift_format::write::{RecordBuilder, Terminator};
use cprsift_format::{Field, Pnr, RecordType};

use crate::people::Addr;

/// The bytes of `field` in `record` (blank when the record is shorter).
pub fn field<'r>(record: &'r [u8], f: &Field) -> &'r [u8] {
    record.get(f.start..f.end()).unwrap_or(b"")
}

/// The value of the digits in `bytes` (blanks and other bytes skipped).
pub fn value(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0, |a, &b| a * 10 + u64::from(b - b'0'))
}

/// A numeric field's value (0 when blank).
pub fn number(record: &[u8], f: &Field) -> u64 {
    value(field(record, f))
}

/// A PNR field, `None` when zeros, blank or not a PNR.
pub fn pnr_field(record: &[u8], f: &Field) -> Option<Pnr> {
    Pnr::from_digits(field(record, f)).filter(|p| p.key() != 0)
}

/// One person's records.
#[derive(Clone, Debug)]
pub struct EditBlock {
    /// The person.
    pub pnr: Pnr,
    /// Records 001-030 (never 099), full length, no terminator.
    pub records: Vec<Vec<u8>>,
    /// The 003 record(s).
    pub tail: Vec<Vec<u8>>,
}

fn type_of(r: &[u8]) -> u16 {
    RecordType::from_bytes(r).map_or(0, |t| t.0)
}

impl EditBlock {
    /// An empty block.
    pub fn new(pnr: Pnr) -> EditBlock {
        EditBlock {
            pnr,
            records: Vec::new(),
            tail: Vec::new(),
        }
    }

    /// Adds a record read from an extract (001 cut to 106 bytes, 099 dropped).
    pub fn push_raw(&mut self, mut bytes: Vec<u8>) {
        match type_of(&bytes) {
            1 => bytes.truncate(layout::R001.len),
            99 => return,
            _ => {}
        }
        self.records.push(bytes);
    }

    /// Adds a record built by `b`.
    pub fn push(&mut self, b: &RecordBuilder) {
        self.records.push(b.bytes().to_vec());
    }

    /// The first record of type `rt`.
    pub fn get(&self, rt: u16) -> Option<&[u8]> {
        self.records
            .iter()
            .find(|r| type_of(r) == rt)
            .map(Vec::as_slice)
    }

    /// Every record of type `rt`.
    pub fn all(&self, rt: u16) -> impl Iterator<Item = &[u8]> {
        self.records
            .iter()
            .filter(move |r| type_of(r) == rt)
            .map(Vec::as_slice)
    }

    /// Removes every record of type `rt` for which `pred` holds.
    pub fn remove(&mut self, rt: u16, pred: impl Fn(&[u8]) -> bool) {
        self.records.retain(|r| type_of(r) != rt || !pred(r));
    }

    /// Replaces the first record of type `rt` (built from it by `edit`), or adds one built
    /// from a blank record.
    pub fn edit(
        &mut self,
        b: &mut RecordBuilder,
        layout: &'static Layout,
        edit: impl FnOnce(&mut RecordBuilder),
    ) {
        let rt = layout.record_type.0;
        match self.records.iter_mut().find(|r| type_of(r) == rt) {
            Some(r) => {
                b.load(layout, r);
                b.text(&r001::PNR, &self.pnr.digits());
                edit(b);
                *r = b.bytes().to_vec();
            }
            None => {
                b.reset(layout);
                b.text(&r001::PNR, &self.pnr.digits());
                edit(b);
                self.records.push(b.bytes().to_vec());
            }
        }
    }

    /// 001 STATUS.
    pub fn status(&self) -> u8 {
        self.get(1).map_or(0, |r| number(r, &r001::STATUS) as u8)
    }

    /// 001 FOED_DT, else the PNR's date.
    pub fn birth(&self) -> Option<NaiveDate> {
        self.get(1)
            .and_then(|r| parse_d10(field(r, &r001::FOED_DT)).ok().flatten())
            .or_else(|| self.pnr.birth_date())
    }

    /// 001 KOEN is K.
    pub fn female(&self) -> bool {
        self.get(1).is_some_and(|r| field(r, &r001::KOEN) == b"K")
    }

    /// 012 CIVST.
    pub fn civst(&self) -> u8 {
        self.get(12)
            .and_then(|r| field(r, &r012::CIVST).first().copied())
            .unwrap_or(b'U')
    }

    /// 012 AEGTEPNR when it is a PNR.
    pub fn spouse(&self) -> Option<Pnr> {
        self.get(12).and_then(|r| pnr_field(r, &r012::AEGTEPNR))
    }

    /// The children's PNRs (014).
    pub fn children(&self) -> Vec<Pnr> {
        self.all(14)
            .filter_map(|r| pnr_field(r, &r014::PNRBARN))
            .collect()
    }

    /// Mother and father (015).
    pub fn parents(&self) -> [Option<Pnr>; 2] {
        let r = self.get(15).unwrap_or(b"");
        [pnr_field(r, &r015::PNRMOR), pnr_field(r, &r015::PNRFAR)]
    }

    /// The current address (002), if any.
    pub fn address(&self) -> Option<Addr> {
        let r = self.get(2)?;
        let h = field(r, &r002::HUSNR);
        let etage = field(r, &r002::ETAGE);
        let door = field(r, &r002::SIDEDOER);
        Some(Addr {
            kom: number(r, &r002::KOMKOD) as u16,
            vej: number(r, &r002::VEJKOD) as u16,
            husnr: value(&h[..h.len().min(3)]) as u16,
            letter: h.get(3).copied().unwrap_or(b' '),
            floor: match etage {
                b"st" => 1,
                e if e.iter().all(u8::is_ascii_digit) && !e.is_empty() => (value(e) + 1) as u8,
                _ => 0,
            },
            door: match door {
                b"  th" => 1,
                b"  tv" => 2,
                b"  mf" => 3,
                _ => 0,
            },
        })
    }

    /// 002 TILFLYDTO as a date.
    pub fn moved_in(&self) -> Option<NaiveDate> {
        let r = self.get(2)?;
        Ts12::parse(field(r, &r002::TILFLYDTO))
            .ok()
            .flatten()?
            .date()
    }

    /// Sorts the records by type, keeping the order within a type.
    pub fn sort(&mut self) {
        self.records.sort_by_key(|r| type_of(r));
    }

    /// Appends the block (sorted) and then `events` (099 records) to `out`. Returns the number
    /// of records written.
    pub fn write(&mut self, out: &mut Vec<u8>, events: &[Vec<u8>]) -> u64 {
        self.sort();
        for r in self.records.iter().chain(events) {
            out.extend_from_slice(r);
            out.extend_from_slice(Terminator::Lf.bytes());
        }
        (self.records.len() + events.len()) as u64
    }
}
