//! The index: one fixed-width little-endian entry per person, sorted by PNR key, behind a
//! 16-byte header. Later runs memory-map it and binary-search it; nothing is parsed on open.
//!
//! Entry layout ([`ENTRY_BYTES`] = 30 bytes per person):
//!
//! | bytes | field |
//! |---|---|
//! | 0-3   | PNR key (u32) |
//! | 4-5   | segment slot (u16): position in the manifest's segment list |
//! | 6-11  | byte offset in the segment (u48) |
//! | 12-15 | length of the block's canonical records (u32) |
//! | 16-17 | length of its 003 record(s) (u16), 0 when none |
//! | 18-19 | current municipality, 002 KOMKOD (u16), 0 when none |
//! | 20-23 | birth date as days from 0001-01-01 (chrono's days from CE, i32), 0 when none |
//! | 24    | 001 STATUS (u8), 0 when blank |
//! | 25    | flags: bit 0 = PNRGAELD present |
//! | 26-29 | PNRGAELD key (u32), 0 when absent |

use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};
use cprsift_format::Pnr;

/// The header's magic bytes (format version 1).
pub(crate) const MAGIC: &[u8; 8] = b"CPRSRIX1";
/// Header: magic, then the entry count as u64.
pub(crate) const HEADER_BYTES: usize = 16;
/// Bytes per person in the index.
pub const ENTRY_BYTES: usize = 30;

const FLAG_PNR_GAELD: u8 = 1;

/// What the index knows of one person without reading its block: enough for the fan-out to
/// judge municipality and age filters and PNR changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The person's PNR.
    pub pnr: Pnr,
    /// Current municipality (002 KOMKOD); `None` without a 002 or with code 0000.
    pub municipality: Option<u16>,
    /// Birth date (001 FOED_DT, or the PNR's date by the century rule).
    pub birth_date: Option<NaiveDate>,
    /// 001 STATUS (0 when blank).
    pub status: u8,
    /// 001 PNRGAELD: the valid PNR of a retired one.
    pub pnr_gaeld: Option<Pnr>,
}

/// Where a person's stored bytes are: the block's records, then its 003 record(s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub segment: u16,
    pub offset: u64,
    pub block_len: u32,
    pub clear_len: u16,
}

impl Location {
    /// All stored bytes of the person.
    pub fn len(&self) -> u64 {
        u64::from(self.block_len) + u64::from(self.clear_len)
    }
}

/// The largest offset an entry can hold (48 bits).
pub(crate) const MAX_OFFSET: u64 = (1 << 48) - 1;

/// Encodes one entry.
pub(crate) fn encode(entry: &IndexEntry, loc: &Location) -> [u8; ENTRY_BYTES] {
    let mut b = [0u8; ENTRY_BYTES];
    b[0..4].copy_from_slice(&entry.pnr.key().to_le_bytes());
    b[4..6].copy_from_slice(&loc.segment.to_le_bytes());
    b[6..12].copy_from_slice(&loc.offset.to_le_bytes()[..6]);
    b[12..16].copy_from_slice(&loc.block_len.to_le_bytes());
    b[16..18].copy_from_slice(&loc.clear_len.to_le_bytes());
    b[18..20].copy_from_slice(&entry.municipality.unwrap_or(0).to_le_bytes());
    let days = entry.birth_date.map_or(0, |d| d.num_days_from_ce());
    b[20..24].copy_from_slice(&days.to_le_bytes());
    b[24] = entry.status;
    if let Some(g) = entry.pnr_gaeld {
        b[25] = FLAG_PNR_GAELD;
        b[26..30].copy_from_slice(&g.key().to_le_bytes());
    }
    b
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes one entry (`b` is exactly [`ENTRY_BYTES`] long).
pub(crate) fn decode(b: &[u8]) -> (IndexEntry, Location) {
    let days = u32_at(b, 20) as i32;
    let entry = IndexEntry {
        pnr: Pnr::from_key(u32_at(b, 0)),
        municipality: Some(u16_at(b, 18)).filter(|&k| k != 0),
        birth_date: (days != 0)
            .then(|| NaiveDate::from_num_days_from_ce_opt(days))
            .flatten(),
        status: b[24],
        pnr_gaeld: (b[25] & FLAG_PNR_GAELD != 0).then(|| Pnr::from_key(u32_at(b, 26))),
    };
    (entry, location_of(b))
}

/// Where an encoded entry's bytes are stored, without decoding the rest: opening a replica
/// checks every entry's location, and decoding 10.5 million birth dates for that would cost
/// more than the check.
pub(crate) fn location_of(b: &[u8]) -> Location {
    let mut offset = [0u8; 8];
    offset[..6].copy_from_slice(&b[6..12]);
    Location {
        segment: u16_at(b, 4),
        offset: u64::from_le_bytes(offset),
        block_len: u32_at(b, 12),
        clear_len: u16_at(b, 16),
    }
}

/// The PNR key of an encoded entry.
pub(crate) fn key_of(b: &[u8]) -> u32 {
    u32_at(b, 0)
}

/// Reads a mapped index file's header: the entry count, or what is wrong.
pub(crate) fn read_header(bytes: &[u8]) -> Result<usize, String> {
    if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
        return Err("the index has no cprsift index header".into());
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&bytes[8..16]);
    let count = usize::try_from(u64::from_le_bytes(count)).map_err(|e| e.to_string())?;
    let expected = count
        .checked_mul(ENTRY_BYTES)
        .and_then(|n| n.checked_add(HEADER_BYTES));
    if expected != Some(bytes.len()) {
        return Err(format!(
            "the index header says {count} persons but the file has {} bytes",
            bytes.len()
        ));
    }
    Ok(count)
}

/// Writes an index: the header (with a count patched in at the end) and entries in ascending
/// key order.
pub(crate) struct IndexWriter<W: Write> {
    out: W,
    count: u64,
    last: Option<u32>,
}

impl<W: Write + io::Seek> IndexWriter<W> {
    /// Starts an index (the header's count is written by [`IndexWriter::finish`]).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&0u64.to_le_bytes())?;
        Ok(IndexWriter {
            out,
            count: 0,
            last: None,
        })
    }

    /// Appends an encoded entry; keys must ascend strictly.
    pub fn push_raw(&mut self, raw: &[u8; ENTRY_BYTES]) -> io::Result<()> {
        let key = key_of(raw);
        if self.last.is_some_and(|l| l >= key) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "index entries out of order (a person twice)",
            ));
        }
        self.last = Some(key);
        self.count += 1;
        self.out.write_all(raw)
    }

    /// Writes the count into the header and returns the writer.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.out.seek(io::SeekFrom::Start(8))?;
        self.out.write_all(&self.count.to_le_bytes())?;
        self.out.seek(io::SeekFrom::End(0))?;
        Ok((self.out, self.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn entries_round_trip(
            key in 0u32..u32::MAX,
            segment in any::<u16>(),
            offset in 0u64..=MAX_OFFSET,
            block_len in any::<u32>(),
            clear_len in any::<u16>(),
            municipality in proptest::option::of(1u16..=9999),
            days in proptest::option::of(600_000i32..800_000),
            status in any::<u8>(),
            gaeld in proptest::option::of(any::<u32>()),
        ) {
            let entry = IndexEntry {
                pnr: Pnr::from_key(key),
                municipality,
                birth_date: days.and_then(NaiveDate::from_num_days_from_ce_opt),
                status,
                pnr_gaeld: gaeld.map(Pnr::from_key),
            };
            let loc = Location { segment, offset, block_len, clear_len };
            let raw = encode(&entry, &loc);
            prop_assert_eq!(decode(&raw), (entry, loc));
            prop_assert_eq!(key_of(&raw), key);
        }
    }

    #[test]
    fn header_must_match_the_size() {
        let mut w = IndexWriter::new(io::Cursor::new(Vec::new())).unwrap();
        let e = IndexEntry {
            pnr: Pnr::from_key(1),
            municipality: None,
            birth_date: None,
            status: 1,
            pnr_gaeld: None,
        };
        let loc = Location {
            segment: 0,
            offset: 0,
            block_len: 1,
            clear_len: 0,
        };
        w.push_raw(&encode(&e, &loc)).unwrap();
        assert!(w.push_raw(&encode(&e, &loc)).is_err());
        let (cursor, n) = w.finish().unwrap();
        let bytes = cursor.into_inner();
        assert_eq!(n, 1);
        assert_eq!(read_header(&bytes), Ok(1));
        assert!(read_header(&bytes[..bytes.len() - 1]).is_err());
        assert!(read_header(b"nonsense").is_err());
    }
}
