//! The single-pass reader: one walk over an extract that frames every record, groups the person
//! blocks, validates every field and keeps, per block, the facts every consumer needs (status,
//! municipality, birth date, events, 003 links, canonical form, errors), beside the full
//! [`CheckReport`] and the content identity.
//!
//! The walk runs in parallel pieces on the current rayon pool. In line framing the person
//! blocks are cut at block boundaries and the 003 tail at line starts; concatenated framing is
//! one piece (its records cannot be found from an arbitrary offset). Each line is found once;
//! numeric and date fields are judged by byte tests that only ever accept what the field
//! decoders ([`crate::FieldValue`]) accept, and a record they do not accept is handed to the
//! decoders, which decide and word the error. Nothing is allocated per record: counts go into
//! arrays indexed by value, facts into one compact entry per block.

use std::ops::Range;

use chrono::{Datelike, NaiveDate};
use memchr::memchr;
use rayon::prelude::*;

use crate::content_id::ContentId;
use crate::error::{ParseError, Severity};
use crate::extract::{block_key, group_person, lone_stray, short_line, unknown_carried};
use crate::framing::{classify_line, frame_at, skip_separators, Framed, EOF_MARKER};
use crate::layout::fields::{r001, r002, r099};
use crate::validate::{is_uncounted_stray, taeller_of, tail_pnr_error, ERROR_DETAIL_LIMIT};
use crate::{
    CheckReport, EventCode, Extract, ExtractOptions, FieldKind, Framing, FramingReport, Layout,
    PersonBlock, Pnr, Record, RecordKind, RecordType,
};
use cprsift_errors::Category;

/// What the reader keeps of one person block: 40 bytes, so a national extract's 10.5 million
/// blocks cost about 420 MB. Read it through [`CheckedExtract`] (its accessors give the block's
/// bytes, records, events and 003 records). `Default` is an empty entry, for filling arrays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockFacts {
    start: u64,
    key: u32,
    records: u32,
    pnr_gaeld: u32,
    birth: i32,
    events: u32,
    tail: u32,
    municipality: u16,
    status: u8,
    flags: u8,
}

/// `BlockFacts::status` when the 001 has no readable STATUS.
const NO_STATUS: u8 = u8::MAX;
/// `BlockFacts::birth` when there is no birth date.
const NO_BIRTH: i32 = i32::MIN;
/// The block is exactly its canonical LF form.
const CANONICAL_LF: u8 = 1;
/// A record of the block has an error (framing, a field, an undefined type under
/// `strict_unknown`).
const OWN_ERROR: u8 = 2;
/// The block's PNR has another block in the file.
const DUPLICATE: u8 = 4;

impl BlockFacts {
    /// The person's PNR.
    pub fn pnr(&self) -> Pnr {
        Pnr::from_key(self.key)
    }

    /// The byte offset of the block's 001 record.
    pub fn offset(&self) -> usize {
        self.start as usize
    }

    /// The number of records in the block.
    pub fn record_count(&self) -> u32 {
        self.records
    }

    /// 001 STATUS, as [`PersonBlock::status`].
    pub fn status(&self) -> Option<u8> {
        (self.status != NO_STATUS).then_some(self.status)
    }

    /// 001 PNRGAELD, as [`PersonBlock::pnr_gaeld`].
    pub fn pnr_gaeld(&self) -> Option<Pnr> {
        (self.pnr_gaeld != 0).then(|| Pnr::from_key(self.pnr_gaeld))
    }

    /// 002 KOMKOD, as [`PersonBlock::municipality`]: `None` without a 002 or with 0 or blanks.
    pub fn municipality(&self) -> Option<u16> {
        (self.municipality != 0).then_some(self.municipality)
    }

    /// The birth date, as [`PersonBlock::birth_date`]: 001 FOED_DT, else the PNR's.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        (self.birth != NO_BIRTH)
            .then(|| NaiveDate::from_num_days_from_ce_opt(self.birth))
            .flatten()
    }

    /// True when the block's bytes are exactly its canonical LF form (every record full length
    /// and LF-terminated, every record readable), so a writer may copy it as it stands.
    pub fn is_canonical_lf(&self) -> bool {
        self.flags & CANONICAL_LF != 0
    }

    /// True when a record of the block has an error (see [`CheckedExtract::block_errors`]).
    pub fn has_own_error(&self) -> bool {
        self.flags & OWN_ERROR != 0
    }

    /// True when the person has more than one block in the file. The report lists the second
    /// and later blocks as `duplicate-person`; lenient mode sets every one of them aside, since
    /// which one is right cannot be told.
    pub fn is_duplicate(&self) -> bool {
        self.flags & DUPLICATE != 0
    }

    /// True when lenient mode must set the block aside: an error of its own, or a duplicate.
    pub fn is_faulty(&self) -> bool {
        self.flags & (OWN_ERROR | DUPLICATE) != 0
    }
}

/// One 099 event of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockEvent {
    /// HAENDELSE. A 099 whose HAENDELSE is not `[A-Z][0-9]{2}` has no event here.
    pub code: EventCode,
    /// True when the event is the main person's (AFLEDTMRK blank), false when derived.
    pub main: bool,
}

/// Where an error lies: in a person block, in stray records among the blocks, or outside the
/// blocks (the 000, 997, 003 tail, 999, 910, the counter, the file's frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorSite {
    /// In person block `i` (an index of [`CheckedExtract::blocks`]).
    Block(usize),
    /// In stray records `i` (an index of [`CheckedExtract::strays`]).
    Stray(usize),
    /// Outside the block region.
    Outside,
}

/// The result of [`CheckedExtract::read`]: the frame, the report, the content identity and
/// the per-block facts, all views of (or compact facts about) the input. Immutable.
pub struct CheckedExtract<'a> {
    input: &'a [u8],
    options: ExtractOptions,
    framing: Framing,
    extract: Option<Extract<'a>>,
    report: CheckReport,
    id: ContentId,
    blocks: Vec<BlockFacts>,
    events: Vec<BlockEvent>,
    tail_links: Vec<u64>,
    by_key: Vec<(u32, u32)>,
    strays: Vec<Range<u64>>,
    /// Where the last block or stray records end.
    items_end: u64,
}

/// Counts by value, per piece, merged at the end.
struct Counts {
    types: Vec<u64>,
    statuses: Vec<u64>,
    municipalities: Vec<u64>,
    /// Records 999 TAELLER counts.
    counted: u64,
    persons: u64,
    framing: FramingReport,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            types: vec![0; 1000],
            statuses: vec![0; 100],
            municipalities: vec![0; 10_000],
            counted: 0,
            persons: 0,
            framing: FramingReport::default(),
        }
    }

    fn add_type(&mut self, rt: Option<RecordType>) {
        if let Some(slot) = rt.and_then(|rt| self.types.get_mut(usize::from(rt.0))) {
            *slot += 1;
        }
    }

    fn merge(&mut self, other: &Counts) {
        for (a, b) in [
            (&mut self.types, &other.types),
            (&mut self.statuses, &other.statuses),
            (&mut self.municipalities, &other.municipalities),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self.counted += other.counted;
        self.persons += other.persons;
        self.framing.merge(&other.framing);
    }
}

/// The first errors (or warnings) in file order, and how many there are.
#[derive(Default)]
struct Kept {
    list: Vec<ParseError>,
    count: u64,
}

impl Kept {
    fn push(&mut self, e: ParseError) {
        self.count += 1;
        if self.list.len() < ERROR_DETAIL_LIMIT {
            self.list.push(e);
        }
    }
}

/// What one piece of the walk found.
struct Piece {
    counts: Counts,
    errors: Kept,
    warnings: Kept,
    blocks: Vec<BlockFacts>,
    events: Vec<BlockEvent>,
    strays: Vec<Range<u64>>,
    /// 003 records with a PNR: (key, offset), in tail order.
    tail: Vec<(u32, u64)>,
    /// Where the last block or stray records read end (separators before the tail excluded).
    items_end: u64,
}

impl Piece {
    fn new() -> Piece {
        Piece {
            counts: Counts::new(),
            errors: Kept::default(),
            warnings: Kept::default(),
            blocks: Vec::new(),
            events: Vec::new(),
            strays: Vec::new(),
            tail: Vec::new(),
            items_end: 0,
        }
    }

    fn push(&mut self, e: ParseError) {
        match e.severity {
            Severity::Error => self.errors.push(e),
            Severity::Warning => self.warnings.push(e),
        }
    }
}

/// A part of the input the walk reads.
#[derive(Clone)]
enum Part {
    /// Person blocks (and strays among them), starting at a block boundary.
    Blocks(Range<usize>),
    /// 003 records of the tail.
    Tail(Range<usize>),
}

/// One unit of the block region: a line (line framing) or a framed record (concatenated).
struct Unit<'a> {
    pos: usize,
    next: usize,
    /// The record's bytes (a line without terminator; a framed record's bytes).
    bytes: &'a [u8],
    /// Line framing: the line ended in CR LF.
    crlf: bool,
    /// The unit cannot be a record at all: a line too short for a record type, or a framing
    /// error in concatenated framing.
    fatal: bool,
    /// Read as a line (line framing).
    lines: bool,
    /// The record type (the first three bytes, when digits).
    rt: Option<RecordType>,
    /// The type's layouts, shortest first; empty for an undefined type.
    layouts: &'static [&'static Layout],
}

impl Unit<'_> {
    fn record_type(&self) -> Option<RecordType> {
        self.rt
    }

    fn key_matches(&self, key: &[u8; 10]) -> bool {
        match self.bytes.get(3..13) {
            Some(k) => k == key,
            None => block_key(self.bytes) == *key,
        }
    }
}

/// The block being read.
struct Open {
    start: usize,
    key: [u8; 10],
    /// `Some` for a person block, `None` for stray records grouped under one key.
    block: Option<BlockState>,
}

struct BlockState {
    pnr: Pnr,
    records: u32,
    status: Option<u8>,
    pnr_gaeld: Option<Pnr>,
    birth: Option<NaiveDate>,
    municipality: Option<Option<u16>>,
    events: u32,
    canonical: bool,
    error: bool,
}

/// A line's unit (line framing).
fn line_unit(pos: usize, bytes: &[u8], next: usize, crlf: bool) -> Unit<'_> {
    let rt = RecordType::from_bytes(bytes);
    Unit {
        pos,
        next,
        bytes,
        crlf,
        fatal: bytes.len() < 3,
        lines: true,
        rt,
        layouts: rt.map_or(&[], RecordType::layouts),
    }
}

/// A 002 of a block: its KOMKOD counted, the block's municipality when it is the first.
fn address(out: &mut Piece, state: &mut BlockState, r: &Record<'_>) {
    let code = r.field(&r002::KOMKOD).number().ok().flatten();
    if let Some(slot) = code.and_then(|k| out.counts.municipalities.get_mut(k as usize)) {
        *slot += 1;
    }
    if state.municipality.is_none() {
        state.municipality = Some(code.and_then(|k| u16::try_from(k).ok()).filter(|&k| k != 0));
    }
}

/// A 099 of a block: its event, when HAENDELSE is a code.
fn event(out: &mut Piece, r: &Record<'_>) {
    if let Some(code) = EventCode::from_bytes(r.field(&r099::HAENDELSE).present()) {
        out.events.push(BlockEvent {
            code,
            main: r.field(&r099::AFLEDTMRK).is_blank(),
        });
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// True when every byte of the word is an ASCII digit. A byte below `0`, or above `9`, sets
/// its high bit in `x - 0x30..` or in `x + 0x46..`; a borrow or carry between bytes only ever
/// starts at such a byte, so the lowest bad byte is always seen.
#[inline(always)]
fn word_digits(x: u64) -> bool {
    (x.wrapping_sub(0x30 * ONES) | x.wrapping_add(0x46 * ONES)) & HIGH == 0
}

/// True when every byte is an ASCII digit.
fn all_digits(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_digit)
}

/// True when every byte is a blank.
fn all_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b' ')
}

/// True when the digits `y0..y3 m1 m2 d1 d2` (already known to be digits) are a real date
/// of the proleptic Gregorian calendar, as `chrono` reads them for the years 0000-9999.
#[inline(always)]
fn real_date(y: [u8; 4], m1: u8, m2: u8, d1: u8, d2: u8) -> bool {
    let n =
        |hi: u8, lo: u8| u32::from(hi.wrapping_sub(b'0')) * 10 + u32::from(lo.wrapping_sub(b'0'));
    let (month, day) = (n(m1, m2), n(d1, d2));
    if (1..=12).contains(&month) && (1..=28).contains(&day) {
        // Real in every month of every year.
        return true;
    }
    let year = n(y[0], y[1]) * 100 + n(y[2], y[3]);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    (1..=days).contains(&day)
}

/// A byte test that accepts a field's bytes only when [`crate::FieldValue::check`] would:
/// blanks, digits of the full length, a plain real date. What it does not accept goes to the
/// decoders, which decide.
fn quick_ok(kind: FieldKind, present: &[u8], len: usize) -> bool {
    if present.len() == len {
        let ok = match kind {
            FieldKind::Text => true,
            FieldKind::Numeric | FieldKind::Ts12 => all_digits(present),
            FieldKind::D8 => match *present {
                [y0, y1, y2, y3, m1, m2, d1, d2] => {
                    word_digits(u64::from_le_bytes([y0, y1, y2, y3, m1, m2, d1, d2]))
                        && real_date([y0, y1, y2, y3], m1, m2, d1, d2)
                }
                _ => false,
            },
            FieldKind::D10 => match *present {
                [y0, y1, y2, y3, b'-', m1, m2, b'-', d1, d2] => {
                    word_digits(u64::from_le_bytes([y0, y1, y2, y3, m1, m2, d1, d2]))
                        && real_date([y0, y1, y2, y3], m1, m2, d1, d2)
                }
                _ => false,
            },
        };
        if ok {
            return true;
        }
    }
    all_blank(present)
}

/// The eight bytes of `bytes` from `at`, as a little-endian word, when they are all there.
#[inline(always)]
fn load(bytes: &[u8], at: usize) -> Option<u64> {
    let window: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(window))
}

/// The numeric test of a field of 1 to 16 bytes at `start..end`, wholly inside `bytes`, by
/// one or two unaligned word loads: all digits, or all blanks. `None` when the words do not
/// fit in `bytes` (the caller then tests byte by byte).
#[inline(always)]
fn numeric_words(bytes: &[u8], start: usize, end: usize) -> Option<bool> {
    let n = end - start;
    let (a, b) = if n <= 8 {
        // One word holding the field, at its start or (near the line's end) at its end; the
        // bytes outside the field read as '0' for the digit test and ' ' for the blank one.
        let (x, field) = match load(bytes, start) {
            Some(x) => (x, u64::MAX >> (64 - 8 * n)),
            None => (load(bytes, end.checked_sub(8)?)?, u64::MAX << (64 - 8 * n)),
        };
        let digits = (x & field) | ((b'0' as u64 * ONES) & !field);
        let blanks = (x & field) | ((b' ' as u64 * ONES) & !field);
        return Some(word_digits(digits) || blanks == b' ' as u64 * ONES);
    } else if n <= 16 {
        (load(bytes, start)?, load(bytes, end - 8)?)
    } else {
        return None;
    };
    let blank = b' ' as u64 * ONES;
    Some((word_digits(a) && word_digits(b)) || (a == blank && b == blank))
}

/// The byte test of a date field wholly inside `bytes` (D8 `YYYYMMDD` or D10 `YYYY-MM-DD`):
/// all blanks, or a real date in digits. `None` when the field is not 8 or 10 bytes long.
#[inline(always)]
fn date_words(bytes: &[u8], start: usize, end: usize) -> Option<bool> {
    let x = load(bytes, start)?;
    let blank = b' ' as u64 * ONES;
    let [y0, y1, y2, y3, a, b, c, d] = x.to_le_bytes();
    match (end - start, bytes.get(start + 8..end)?) {
        (8, []) => Some(x == blank || (word_digits(x) && real_date([y0, y1, y2, y3], a, b, c, d))),
        (10, &[d1, d2]) => {
            if x == blank {
                return Some(d1 == b' ' && d2 == b' ');
            }
            let digits = u64::from_le_bytes([y0, y1, y2, y3, b, c, d1, d2]);
            Some(
                a == b'-'
                    && d == b'-'
                    && word_digits(digits)
                    && real_date([y0, y1, y2, y3], b, c, d1, d2),
            )
        }
        _ => None,
    }
}

/// The byte tests the generated per-layout functions ([`Layout::quick`]) are made of: the
/// field's offsets are constants, so the masks are too.
pub(crate) mod quick {
    use super::{all_blank, all_digits, date_words, numeric_words, quick_ok};
    use crate::FieldKind;

    /// A numeric (or TS12) field at `S..E`, wholly inside `b`: all digits or all blanks.
    #[inline(always)]
    pub(crate) fn numeric<const S: usize, const E: usize>(b: &[u8]) -> bool {
        match numeric_words(b, S, E) {
            Some(ok) => ok,
            None => b.get(S..E).is_some_and(|f| all_digits(f) || all_blank(f)),
        }
    }

    /// A D8 or D10 field at `S..E`, wholly inside `b`: all blanks or a real date.
    #[inline(always)]
    pub(crate) fn date<const S: usize, const E: usize>(b: &[u8]) -> bool {
        let kind = if E - S == 8 {
            FieldKind::D8
        } else {
            FieldKind::D10
        };
        match date_words(b, S, E) {
            Some(ok) => ok,
            None => b.get(S..E).is_some_and(|f| quick_ok(kind, f, E - S)),
        }
    }

    /// The line ends inside the field starting at `start` (or before it): the bytes present
    /// must be blanks; every later field lies past the end, blank.
    #[inline(always)]
    pub(crate) fn rest_blank(b: &[u8], start: usize) -> bool {
        b.get(start..).is_none_or(all_blank)
    }
}

/// True when every checked field of a record passes the byte test: the layout's generated
/// straight-line tests.
fn fields_quick_ok(bytes: &[u8], layout: &Layout) -> bool {
    layout.quick.passes(bytes)
}

/// The same tests as a walk over [`Layout::checks`]: what the generated functions are held
/// to. Fields past the end of a trimmed line are blank, so the walk stops there.
#[cfg(test)]
fn fields_quick_ok_walk(bytes: &[u8], layout: &Layout) -> bool {
    for c in layout.checks {
        let (start, end) = (usize::from(c.start), usize::from(c.end));
        if end <= bytes.len() {
            let words = match c.kind {
                FieldKind::Numeric | FieldKind::Ts12 => numeric_words(bytes, start, end),
                FieldKind::D8 | FieldKind::D10 => date_words(bytes, start, end),
                FieldKind::Text => Some(true),
            };
            let ok = match words {
                Some(ok) => ok,
                None => bytes
                    .get(start..end)
                    .is_some_and(|present| quick_ok(c.kind, present, end - start)),
            };
            if !ok {
                return false;
            }
            continue;
        }
        // The line ends inside this field (or before it): the bytes present must be blanks,
        // and every later field lies past the end, blank.
        return bytes
            .get(start..)
            .is_none_or(|present| present.iter().all(|&b| b == b' '));
    }
    true
}

/// Walks one part.
struct Walker<'a> {
    input: &'a [u8],
    framing: Framing,
    options: ExtractOptions,
    out: Piece,
    open: Option<Open>,
    /// The end of the part being read.
    end: usize,
}

impl<'a> Walker<'a> {
    fn new(input: &'a [u8], framing: Framing, options: ExtractOptions) -> Walker<'a> {
        Walker {
            input,
            framing,
            options,
            out: Piece::new(),
            open: None,
            end: input.len(),
        }
    }

    fn lines(&self) -> bool {
        self.framing == Framing::Lines
    }

    /// The unit at `pos` (`pos` < the region's end, inside the input), and in concatenated
    /// framing the framed record or the framing error that ends the walk (`None` when only
    /// separators are left: a unit without a type).
    fn unit_at(
        &mut self,
        pos: usize,
        end: usize,
    ) -> (Unit<'a>, Option<Result<Record<'a>, ParseError>>) {
        let input = self.input;
        match self.framing {
            Framing::Lines => {
                let rest = input.get(pos..).unwrap_or_default();
                let (bytes, next, crlf) = match memchr(b'\n', rest) {
                    Some(i) => match rest.get(..i).unwrap_or_default() {
                        [head @ .., b'\r'] => (head, pos + i + 1, true),
                        line => (line, pos + i + 1, false),
                    },
                    // Only the last line of the input has no LF (a block region never ends
                    // there); it is read as `line_at` reads it.
                    None => match rest {
                        [head @ .., EOF_MARKER] => (head, input.len(), false),
                        line => (line, input.len(), false),
                    },
                };
                (line_unit(pos, bytes, next, crlf), None)
            }
            Framing::Concatenated => {
                match frame_at(
                    input,
                    pos,
                    Framing::Concatenated,
                    &mut self.out.counts.framing,
                ) {
                    Some(Framed { record, next }) => {
                        let rt = record.as_ref().ok().and_then(Record::record_type);
                        let unit = Unit {
                            pos,
                            next,
                            bytes: record.as_ref().map_or(&[][..], |r| r.bytes()),
                            crlf: false,
                            fatal: record.is_err(),
                            lines: false,
                            rt,
                            layouts: rt.map_or(&[], RecordType::layouts),
                        };
                        (unit, Some(record))
                    }
                    None => {
                        let unit = Unit {
                            pos,
                            next: end,
                            bytes: &[],
                            crlf: false,
                            fatal: false,
                            lines: false,
                            rt: None,
                            layouts: &[],
                        };
                        (unit, None)
                    }
                }
            }
        }
    }

    /// Reads the person blocks of `range`.
    fn blocks(&mut self, range: Range<usize>) {
        self.end = range.end;
        let input = self.input;
        let mut pos = range.start;
        while pos < range.end {
            let (unit, framed) = if self.lines() {
                // The line ends inside the region: the region ends at a line start.
                let rest = input.get(pos..range.end).unwrap_or_default();
                match memchr(b'\n', rest) {
                    Some(i) => {
                        let (bytes, crlf) = match rest.get(..i).unwrap_or_default() {
                            [head @ .., b'\r'] => (head, true),
                            line => (line, false),
                        };
                        if self.next_record(pos, bytes, crlf) {
                            pos += i + 1;
                            continue;
                        }
                        (line_unit(pos, bytes, pos + i + 1, crlf), None)
                    }
                    None => self.unit_at(pos, range.end),
                }
            } else if skip_separators(input, pos) >= range.end {
                // Only separators before the tail (or the 999): no block's record is left.
                break;
            } else {
                self.unit_at(pos, range.end)
            };
            pos = unit.next;
            self.out.counts.counted += 1;
            if let Some(open) = &self.open {
                let rt = unit.record_type();
                // As `continues_block`, with the layouts already found.
                let continues = match rt {
                    Some(rt) if !unit.layouts.is_empty() => rt.is_person_record(),
                    _ => self.lines(),
                };
                if !unit.fatal
                    && rt != Some(RecordType::PERSON)
                    && unit.key_matches(&open.key)
                    && continues
                {
                    self.more(unit, framed);
                    continue;
                }
                self.close(unit.pos);
            }
            if self.first(unit, framed) {
                // A framing error in concatenated framing: nothing after it can be found.
                break;
            }
        }
        let end = pos.min(range.end).max(range.start);
        self.close(end);
        self.out.items_end = end as u64;
    }

    /// The common case of line framing, in one piece: a line that continues the open person
    /// block with a record of a defined type that fits its shortest layout (what
    /// [`Walker::more`] would do with it, without building a unit). False when the line is
    /// anything else; nothing is changed then.
    fn next_record(&mut self, pos: usize, bytes: &'a [u8], crlf: bool) -> bool {
        let Some(Open {
            key,
            block: Some(state),
            ..
        }) = &mut self.open
        else {
            return false;
        };
        let (Some(rt), Some(k)) = (RecordType::from_bytes(bytes), bytes.get(3..13)) else {
            return false;
        };
        // As `classify_line`: the first layout the line fits, unless a shorter one's extra
        // bytes are all blank (a padded line: left to the general path).
        let layout = match *rt.layouts() {
            [layout, ..] if bytes.len() <= layout.len => layout,
            [short, long]
                if bytes.len() <= long.len && !bytes.get(short.len..).is_some_and(all_blank) =>
            {
                long
            }
            _ => return false,
        };
        if k != key || rt == RecordType::PERSON || !rt.is_person_record() {
            return false;
        }
        let counts = &mut self.out.counts;
        counts.counted += 1;
        if crlf {
            counts.framing.crlf_lines += 1;
        } else {
            counts.framing.lf_lines += 1;
        }
        if bytes.len() < layout.len {
            counts.framing.trimmed_records += 1;
        }
        if let Some(n) = counts.types.get_mut(usize::from(rt.0)) {
            *n += 1;
        }
        state.records = state.records.saturating_add(1);
        state.canonical &= !crlf && bytes.len() == layout.len;
        let r = Record::new(bytes, RecordKind::Known(layout), pos);
        if !fields_quick_ok(bytes, layout) {
            if let Err(e) = r.check_fields() {
                self.out.push(e.with_person(Some(state.pnr)));
                state.error = true;
            }
        }
        match rt {
            RecordType::ADDRESS => address(&mut self.out, state, &r),
            RecordType::EVENT => event(&mut self.out, &r),
            _ => {}
        }
        true
    }

    /// The first unit of an item. Returns true when the walk must stop.
    fn first(&mut self, unit: Unit<'a>, framed: Option<Result<Record<'a>, ParseError>>) -> bool {
        let start = unit.pos;
        let stray = |this: &mut Self, e: ParseError, next: usize| {
            this.out.counts.add_type(e.record_type);
            if is_uncounted_stray(&e) {
                this.out.counts.counted -= 1;
            }
            this.out.push(e);
            this.out.strays.push(start as u64..next as u64);
        };
        if unit.fatal {
            let (e, stop) = match framed {
                // Without terminators nothing after a framing error can be found.
                Some(Err(e)) => (e, true),
                _ => (short_line(start, unit.bytes.len()), false),
            };
            stray(self, e, unit.next.min(self.end));
            return stop;
        }
        let rt = unit.record_type();
        if let Some(e) = lone_stray(rt, start) {
            stray(self, e, unit.next);
            return false;
        }
        let key = block_key(unit.bytes);
        let block = match group_person(rt, &key, start) {
            Ok(pnr) => Some(BlockState {
                pnr,
                records: 0,
                status: None,
                pnr_gaeld: None,
                birth: None,
                municipality: None,
                events: self.out.events.len() as u32,
                canonical: true,
                error: false,
            }),
            Err(e) => {
                self.out.counts.add_type(e.record_type);
                self.out.push(e);
                None
            }
        };
        self.open = Some(Open { start, key, block });
        self.more(unit, framed);
        false
    }

    /// A unit that belongs to the open item.
    fn more(&mut self, unit: Unit<'a>, framed: Option<Result<Record<'a>, ParseError>>) {
        let Some(Open {
            block: Some(state), ..
        }) = &mut self.open
        else {
            return;
        };
        let out = &mut self.out;
        state.records = state.records.saturating_add(1);
        let first = state.records == 1;
        let is_line = unit.lines;
        let record = match framed {
            Some(r) => r,
            None if !unit.lines => return,
            None => {
                if unit.crlf {
                    out.counts.framing.crlf_lines += 1;
                } else {
                    out.counts.framing.lf_lines += 1;
                }
                match unit.layouts {
                    // As `classify_line` reads a line that fits the shortest layout.
                    [layout, ..] if unit.bytes.len() <= layout.len => {
                        if unit.bytes.len() < layout.len {
                            out.counts.framing.trimmed_records += 1;
                        }
                        Ok(Record::new(unit.bytes, RecordKind::Known(layout), unit.pos))
                    }
                    _ => classify_line(unit.bytes, unit.pos, &mut out.counts.framing),
                }
            }
        };
        let pnr = Some(state.pnr);
        let r = match record {
            Ok(r) => r,
            Err(e) => {
                out.counts.add_type(e.record_type);
                out.push(e.with_person(pnr));
                state.error = true;
                state.canonical = false;
                return;
            }
        };
        let rt = r.record_type();
        out.counts.add_type(rt);
        let Some(layout) = r.layout() else {
            let e = unknown_carried(&r, None, Framing::Lines).with_person(pnr);
            if self.options.strict_unknown {
                out.push(e.into_error());
                state.error = true;
                state.canonical = false;
            } else {
                out.push(e);
                state.canonical &= is_line && !unit.crlf && unit.bytes.len() == r.bytes().len();
            }
            return;
        };
        state.canonical &= is_line && !unit.crlf && unit.bytes.len() == layout.len;
        if !fields_quick_ok(r.bytes(), layout) {
            if let Err(e) = r.check_fields() {
                out.push(e.with_person(pnr));
                state.error = true;
            }
        }
        match rt {
            Some(RecordType::PERSON) => {
                let status = r.field(&r001::STATUS).number().ok().flatten();
                if let Some(slot) = status.and_then(|s| out.counts.statuses.get_mut(s as usize)) {
                    *slot += 1;
                }
                if first {
                    state.status = status.and_then(|s| u8::try_from(s).ok());
                    state.pnr_gaeld = r.field(&r001::PNRGAELD).pnr();
                    state.birth = r.field(&r001::FOED_DT).d10().ok().flatten();
                }
            }
            Some(RecordType::ADDRESS) => address(out, state, &r),
            Some(RecordType::EVENT) => event(out, &r),
            _ => {}
        }
    }

    /// Closes the open item at `end`.
    fn close(&mut self, end: usize) {
        let Some(open) = self.open.take() else {
            return;
        };
        let Some(state) = open.block else {
            self.out.strays.push(open.start as u64..end as u64);
            return;
        };
        let out = &mut self.out;
        out.counts.persons += 1;
        let birth = state.birth.or_else(|| state.pnr.birth_date());
        let mut flags = 0;
        if state.canonical {
            flags |= CANONICAL_LF;
        }
        if state.error {
            flags |= OWN_ERROR;
        }
        out.blocks.push(BlockFacts {
            start: open.start as u64,
            key: state.pnr.key(),
            records: state.records,
            pnr_gaeld: state.pnr_gaeld.map_or(0, Pnr::key),
            birth: birth.map_or(NO_BIRTH, |d| d.num_days_from_ce()),
            events: state.events,
            tail: 0,
            municipality: state.municipality.flatten().unwrap_or(0),
            status: state.status.unwrap_or(NO_STATUS),
            flags,
        });
    }

    /// Reads records of a region outside the blocks (receipts, tail, trailer): framing,
    /// fields, and in the tail each 003's PNR.
    fn region(&mut self, range: Range<usize>, counted: bool, tail: bool) {
        let mut pos = range.start;
        while pos < range.end {
            let Some(Framed { record, next }) =
                frame_at(self.input, pos, self.framing, &mut self.out.counts.framing)
            else {
                break;
            };
            pos = next;
            let rt = match &record {
                Ok(r) => r.record_type(),
                Err(e) => e.record_type,
            };
            self.out.counts.add_type(rt);
            if counted {
                self.out.counts.counted += 1;
            }
            match record {
                Ok(r) => {
                    if let Some(layout) = r.layout() {
                        if !fields_quick_ok(r.bytes(), layout) {
                            if let Err(e) = r.check_fields() {
                                self.out.push(e);
                            }
                        }
                    }
                    if tail {
                        match r.pnr() {
                            Some(p) => self.out.tail.push((p.key(), r.offset() as u64)),
                            None => self.out.push(tail_pnr_error(&r)),
                        }
                    }
                }
                Err(e) => self.out.push(e),
            }
        }
    }
}

/// The 1-based line (or record number, in concatenated framing) of each offset of `offsets`
/// (ascending), in one pass over the input.
fn ordinals(input: &[u8], framing: Framing, offsets: &[usize]) -> Vec<u64> {
    let mut out = Vec::with_capacity(offsets.len());
    match framing {
        Framing::Lines => {
            let (mut at, mut lines) = (0usize, 0u64);
            for &offset in offsets {
                let offset = offset.clamp(at, input.len());
                lines += memchr::memchr_iter(b'\n', input.get(at..offset).unwrap_or_default())
                    .count() as u64;
                at = offset;
                out.push(lines + 1);
            }
        }
        Framing::Concatenated => {
            // As `Extract::ordinals_before`: the records wholly before the offset.
            let mut report = FramingReport::default();
            let (mut pos, mut n) = (0usize, 0u64);
            let mut targets = offsets.iter().peekable();
            while let Some(&&target) = targets.peek() {
                let before = frame_at(input, pos, framing, &mut report).filter(|f| {
                    f.next <= target && f.record.as_ref().is_ok_and(|r| r.offset() < target)
                });
                match before {
                    Some(f) => {
                        n += 1;
                        pos = f.next;
                    }
                    None => {
                        out.push(n + 1);
                        targets.next();
                    }
                }
            }
        }
    }
    out
}

impl<'a> CheckedExtract<'a> {
    /// Reads `input` once: finds the frame, validates every record and groups the person
    /// blocks in parallel pieces on the current rayon pool, keeps each block's facts, and
    /// hashes the input alongside. The report is what `cprsift check` prints; the facts are
    /// what the day's index, the replica and lenient mode need, so none of them walks the
    /// extract again.
    pub fn read(input: &'a [u8], options: ExtractOptions) -> CheckedExtract<'a> {
        let (id, checked) = rayon::join(|| ContentId::of(input), || Self::walk(input, options));
        CheckedExtract { id, ..checked }
    }

    /// [`CheckedExtract::read`] without the content identity (it reads as all zeros): for
    /// callers that never record it, and to measure what the hash costs.
    pub fn read_unhashed(input: &'a [u8], options: ExtractOptions) -> CheckedExtract<'a> {
        Self::walk(input, options)
    }

    fn walk(input: &'a [u8], options: ExtractOptions) -> CheckedExtract<'a> {
        let framing = Framing::detect(input);
        let extract = match Extract::open(input, options) {
            Ok(extract) => extract,
            Err(e) => {
                return CheckedExtract {
                    input,
                    options,
                    framing,
                    extract: None,
                    report: CheckReport::failed(input.len(), framing, e),
                    id: ContentId::from_bytes([0; 32]),
                    blocks: Vec::new(),
                    events: Vec::new(),
                    tail_links: Vec::new(),
                    by_key: Vec::new(),
                    strays: Vec::new(),
                    items_end: 0,
                }
            }
        };
        let parts = parts(&extract, rayon::current_num_threads());
        let pieces: Vec<Piece> = parts
            .into_par_iter()
            .map(|part| {
                let mut w = Walker::new(input, framing, options);
                match part {
                    Part::Blocks(range) => w.blocks(range),
                    Part::Tail(range) => w.region(range, true, true),
                }
                w.out
            })
            .collect();
        // The frame's own records: 000, 997 receipts, 999, 910s.
        let mut edges = Walker::new(input, framing, options);
        edges.out.counts.add_type(Some(RecordType::START));
        edges.out.counts.add_type(Some(RecordType::END));
        edges.region(extract.receipts_range(), true, false);
        edges.region(extract.trailer_range(), false, false);
        for offset in [
            extract.start_record().offset(),
            extract.end_record().offset(),
        ] {
            let _ = frame_at(input, offset, framing, &mut edges.out.counts.framing);
        }
        edges.out.counts.framing.eof_marker = input.last() == Some(&EOF_MARKER);
        Self::assemble(input, options, extract, pieces, edges.out)
    }

    fn assemble(
        input: &'a [u8],
        options: ExtractOptions,
        extract: Extract<'a>,
        pieces: Vec<Piece>,
        edges: Piece,
    ) -> CheckedExtract<'a> {
        let framing = extract.framing();
        let mut counts = Counts::new();
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let (mut error_count, mut warning_count) = (0, 0);
        let mut pieces = pieces;
        pieces.push(edges);
        // Each piece's blocks point into its own event list: shift them by the events before.
        let mut event_base = Vec::with_capacity(pieces.len());
        let mut n = 0u32;
        for p in &pieces {
            event_base.push(n);
            n = n.saturating_add(u32::try_from(p.events.len()).unwrap_or(u32::MAX));
        }
        let parts: Vec<&[BlockFacts]> = pieces.iter().map(|p| &p.blocks[..]).collect();
        let mut blocks = concat(&parts, |i, mut b| {
            b.events = b
                .events
                .saturating_add(event_base.get(i).copied().unwrap_or(0));
            b
        });
        let events: Vec<BlockEvent> = pieces
            .iter()
            .flat_map(|p| p.events.iter().copied())
            .collect();
        let parts: Vec<&[(u32, u64)]> = pieces.iter().map(|p| &p.tail[..]).collect();
        let tail = concat(&parts, |_, t| t);
        let mut strays = Vec::new();
        let mut items_end = extract.blocks_range().start as u64;
        for piece in pieces {
            counts.merge(&piece.counts);
            errors.extend(piece.errors.list);
            error_count += piece.errors.count;
            warnings.extend(piece.warnings.list);
            warning_count += piece.warnings.count;
            strays.extend(piece.strays);
            items_end = items_end.max(piece.items_end);
        }

        // The PNR -> block table; a key met twice marks every block of it a duplicate, and
        // the report names the second and later ones. Meanwhile the 003 tail is linked to the
        // blocks by one walk when it follows block order, or else sorted by key.
        let by_key: Vec<(u32, u32)> = blocks
            .par_iter()
            .enumerate()
            .map(|(i, b)| (b.key, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let (by_key, tail_links) = rayon::join(
            || sort_by_first(by_key),
            || links_in_order(&blocks, &tail).ok_or_else(|| sort_by_first(tail.clone())),
        );
        let mut duplicates: Vec<u32> = Vec::new();
        for group in by_key.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
            for (n, &(_, i)) in group.iter().enumerate() {
                if let Some(b) = blocks.get_mut(i as usize) {
                    b.flags |= DUPLICATE;
                }
                if n > 0 {
                    duplicates.push(i);
                }
            }
        }
        duplicates.sort_unstable();
        error_count += duplicates.len() as u64;
        let mut dup_errors: Vec<ParseError> = duplicates
            .iter()
            .take(ERROR_DETAIL_LIMIT)
            .filter_map(|&i| blocks.get(i as usize))
            .map(|b| duplicate_error(b.offset(), b.pnr()))
            .collect();

        // 999 TAELLER against the records counted.
        match extract.taeller() {
            Some(n) if n == taeller_of(counts.counted) => {}
            found => {
                error_count += 1;
                errors.push(
                    ParseError::new(
                        Category::CounterMismatch,
                        extract.end_record().offset(),
                        format!(
                            "TAELLER says {}, the file has {} records besides 000, 999 and 910",
                            found.map_or("nothing".to_string(), |n| n.to_string()),
                            counts.counted
                        ),
                    )
                    .with_record_type(Some(RecordType::END))
                    .with_field("TAELLER"),
                );
            }
        }

        // A walk along the tail may have passed a duplicate's first block: then by key.
        let links = match tail_links {
            Ok(links)
                if !links.iter().any(|&(b, _)| {
                    blocks.get(b as usize).is_some_and(BlockFacts::is_duplicate)
                }) =>
            {
                links
            }
            Ok(_) => links_by_key(&by_key, &sort_by_first(tail)),
            Err(tail_by_key) => links_by_key(&by_key, &tail_by_key),
        };
        let mut at = 0;
        for (i, b) in blocks.iter_mut().enumerate() {
            while links.get(at).is_some_and(|&(lb, _)| (lb as usize) < i) {
                at += 1;
            }
            b.tail = u32::try_from(at).unwrap_or(u32::MAX);
        }
        let tail_links = links.into_iter().map(|(_, offset)| offset).collect();

        // Errors in file order; at one offset a duplicate comes before the record's own error.
        dup_errors.append(&mut errors);
        let mut errors = dup_errors;
        errors.sort_by_key(|e| e.position.offset);
        errors.truncate(ERROR_DETAIL_LIMIT);
        warnings.sort_by_key(|e| e.position.offset);
        warnings.truncate(ERROR_DETAIL_LIMIT);
        locate(input, framing, &mut errors);
        locate(input, framing, &mut warnings);

        let iso = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        let listed = |values: &[u64], width: usize| {
            values
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(k, &n)| (format!("{k:0width$}"), n))
                .collect()
        };
        let report = CheckReport {
            bytes: input.len() as u64,
            framing,
            framing_report: counts.framing,
            opgavenr: Some(String::from_utf8_lossy(extract.opgavenr()).into_owned()),
            proddto: iso(extract.proddto()),
            proddto_forrig: iso(extract.proddto_forrig()),
            records_by_type: listed(&counts.types, 3),
            records: counts.types.iter().sum(),
            counted: counts.counted,
            taeller: extract.taeller(),
            persons: counts.persons,
            status_counts: listed(&counts.statuses, 2),
            municipality_counts: listed(&counts.municipalities, 4),
            errors,
            error_count,
            warnings,
            warning_count,
        };
        CheckedExtract {
            input,
            options,
            framing,
            extract: Some(extract),
            report,
            id: ContentId::from_bytes([0; 32]),
            blocks,
            events,
            tail_links,
            by_key,
            strays,
            items_end,
        }
    }

    /// The report, as `cprsift check` prints it.
    pub fn report(&self) -> &CheckReport {
        &self.report
    }

    /// The report, for callers that need nothing else.
    pub fn into_report(self) -> CheckReport {
        self.report
    }

    /// True when the extract has no error.
    pub fn is_valid(&self) -> bool {
        self.report.is_valid()
    }

    /// The content identity (BLAKE3 of every byte).
    pub fn content_id(&self) -> ContentId {
        self.id
    }

    /// The input bytes.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The framing detected.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The options the extract was read with.
    pub fn options(&self) -> ExtractOptions {
        self.options
    }

    /// The frame (000, 997, blocks, 003 tail, 999, 910); `None` when the file could not be
    /// opened at all (the report then holds the one error that says why).
    pub fn extract(&self) -> Option<&Extract<'a>> {
        self.extract.as_ref()
    }

    /// Every person block's facts, in input order. A block's index here is its number in
    /// every other accessor.
    pub fn blocks(&self) -> &[BlockFacts] {
        &self.blocks
    }

    /// The number of person blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True when the extract has no person block.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The byte range of block `i` (`None` past the last block).
    pub fn block_range(&self, i: usize) -> Option<Range<usize>> {
        let start = self.blocks.get(i)?.start;
        let next_block = self.blocks.get(i + 1).map(|b| b.start);
        let region_end = self.items_end;
        let s = self.strays.partition_point(|r| r.start <= start);
        let next_stray = self.strays.get(s).map(|r| r.start);
        let end = [next_block, next_stray]
            .into_iter()
            .flatten()
            .fold(region_end, u64::min);
        Some(start as usize..end as usize)
    }

    /// Block `i` as a [`PersonBlock`] view: its bytes and its records.
    pub fn block(&self, i: usize) -> Option<PersonBlock<'a>> {
        let facts = self.blocks.get(i)?;
        Some(PersonBlock::new(
            self.input,
            self.block_range(i)?,
            self.framing,
            self.options,
            facts.pnr(),
            facts.records,
        ))
    }

    /// The 099 events of block `i`, in record order (`[]` past the last block).
    pub fn events(&self, i: usize) -> &[BlockEvent] {
        self.part_of(&self.events, i, |b| b.events)
    }

    /// The byte offsets of block `i`'s 003 records in the tail, in tail order.
    pub fn tail_offsets(&self, i: usize) -> &[u64] {
        self.part_of(&self.tail_links, i, |b| b.tail)
    }

    /// Block `i`'s part of an array the blocks share, in which each block records where its
    /// part starts (`start`); the next block's start ends it (`[]` past the last block).
    fn part_of<'s, T>(&self, all: &'s [T], i: usize, start: fn(&BlockFacts) -> u32) -> &'s [T] {
        let Some(b) = self.blocks.get(i) else {
            return &[];
        };
        let end = self
            .blocks
            .get(i + 1)
            .map_or(all.len(), |n| start(n) as usize);
        all.get(start(b) as usize..end).unwrap_or_default()
    }

    /// Block `i`'s 003 records, in tail order.
    pub fn tail_records(&self, i: usize) -> impl Iterator<Item = Record<'a>> + '_ {
        let (input, framing) = (self.input, self.framing);
        self.tail_offsets(i).iter().filter_map(move |&offset| {
            frame_at(
                input,
                offset as usize,
                framing,
                &mut FramingReport::default(),
            )?
            .record
            .ok()
        })
    }

    /// The (first) block of a PNR.
    pub fn block_of(&self, pnr: Pnr) -> Option<usize> {
        let key = pnr.key();
        let i = self.by_key.partition_point(|&(k, _)| k < key);
        self.by_key
            .get(i)
            .filter(|&&(k, _)| k == key)
            .map(|&(_, b)| b as usize)
    }

    /// Every (PNR key, block) pair, sorted by key (then block): the day's PNRs in order.
    pub fn keys(&self) -> &[(u32, u32)] {
        &self.by_key
    }

    /// The byte ranges of the stray records among the blocks: records that belong to no
    /// person block (a short line, a record type out of place, a group without 001 or with a
    /// bad PNR), in input order. Each holds exactly one error ([`CheckedExtract::stray_error`]).
    pub fn strays(&self) -> impl ExactSizeIterator<Item = Range<usize>> + '_ {
        self.strays.iter().map(|r| r.start as usize..r.end as usize)
    }

    /// The error of stray records `i`, as the report words it (line not yet filled in: see
    /// [`CheckedExtract::locate`]).
    pub fn stray_error(&self, i: usize) -> Option<ParseError> {
        let range = self.strays.get(i)?;
        let start = range.start as usize;
        let mut w = Walker::new(self.input, self.framing, self.options);
        w.blocks(start..(range.end as usize).max(start + 1));
        w.out.errors.list.into_iter().next()
    }

    /// Every error of block `i`, as the report words them, in file order: its records' own
    /// errors, then `duplicate-person` when an earlier block has the same PNR. Lines are not
    /// filled in (see [`CheckedExtract::locate`]). Empty for a block without a fault, at no
    /// cost.
    pub fn block_errors(&self, i: usize) -> Vec<ParseError> {
        let Some(facts) = self.blocks.get(i) else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        if facts.has_own_error() {
            if let Some(block) = self.block(i) {
                for record in block.records() {
                    match record {
                        Err(e) => errors.push(e.with_person(Some(facts.pnr()))),
                        Ok(r) => {
                            if let Err(e) = r.check_fields() {
                                errors.push(e.with_person(Some(facts.pnr())));
                            }
                        }
                    }
                }
            }
        }
        if facts.is_duplicate() && self.block_of(facts.pnr()) != Some(i) {
            errors.insert(0, duplicate_error(facts.offset(), facts.pnr()));
        }
        errors
    }

    /// Where an error lies, by its offset: in which block or stray records, or outside.
    pub fn error_site(&self, error: &ParseError) -> ErrorSite {
        let at = error.position.offset;
        let b = self.blocks.partition_point(|b| b.start <= at);
        if let Some(i) = b.checked_sub(1) {
            if self
                .block_range(i)
                .is_some_and(|r| r.contains(&(at as usize)))
            {
                return ErrorSite::Block(i);
            }
        }
        let s = self.strays.partition_point(|r| r.start <= at);
        match s.checked_sub(1) {
            Some(i) if self.strays.get(i).is_some_and(|r| r.contains(&at)) => ErrorSite::Stray(i),
            _ => ErrorSite::Outside,
        }
    }

    /// Fills in the line (or record number) of each error from its offset, in one pass over
    /// the input; sorts them by offset.
    pub fn locate(&self, errors: &mut [ParseError]) {
        errors.sort_by_key(|e| e.position.offset);
        locate(self.input, self.framing, errors);
    }
}

/// Fills in lines of errors sorted by offset.
fn locate(input: &[u8], framing: Framing, errors: &mut [ParseError]) {
    let offsets: Vec<usize> = errors.iter().map(|e| e.position.offset as usize).collect();
    for (e, line) in errors.iter_mut().zip(ordinals(input, framing, &offsets)) {
        e.position.line = line;
        e.position.lines = framing == Framing::Lines;
    }
}

/// The 003 links found by one walk along the tail and the blocks together, when the tail
/// follows block order (as CPR writes it): (block, offset) pairs in tail order, each to the
/// first block at or after the previous link with the record's PNR. `None` at a 003 of nobody
/// or out of block order.
fn links_in_order(blocks: &[BlockFacts], tail: &[(u32, u64)]) -> Option<Vec<(u32, u64)>> {
    let mut links = Vec::with_capacity(tail.len());
    let mut b = 0;
    for &(key, offset) in tail {
        while blocks.get(b).is_some_and(|f| f.key != key) {
            b += 1;
        }
        blocks.get(b)?;
        links.push((u32::try_from(b).ok()?, offset));
    }
    Some(links)
}

/// The 003 links by one merge of the tail sorted by key (stably: tail order within a key)
/// with the blocks sorted by key: each record to its person's first block; (block, offset)
/// pairs sorted by block, a block's records in tail order.
fn links_by_key(by_key: &[(u32, u32)], tail_by_key: &[(u32, u64)]) -> Vec<(u32, u64)> {
    let mut links = Vec::with_capacity(tail_by_key.len());
    let mut k = 0;
    for &(key, offset) in tail_by_key {
        while by_key.get(k).is_some_and(|&(bk, _)| bk < key) {
            k += 1;
        }
        if let Some(&(bk, b)) = by_key.get(k) {
            if bk == key {
                links.push((b, offset));
            }
        }
    }
    sort_by_first(links)
}

/// Concatenates the pieces' vectors in parallel; `fix` adjusts each element by its piece's
/// number (indexes into concatenated arrays).
fn concat<T: Copy + Default + Send + Sync>(
    parts: &[&[T]],
    fix: impl Fn(usize, T) -> T + Sync,
) -> Vec<T> {
    let mut out = vec![T::default(); parts.iter().map(|p| p.len()).sum()];
    let mut rest: &mut [T] = &mut out;
    let mut jobs = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(part.len());
        jobs.push((i, head, *part));
        rest = tail;
    }
    jobs.into_par_iter().for_each(|(i, dst, src)| {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = fix(i, s);
        }
    });
    out
}

/// Sorts pairs by their first member, stably (pairs equal in it keep their order): counting
/// passes of 11 bits each, as many as the largest first member needs, linear in the number
/// of pairs (a comparison sort of a national extract's 10.5 million keys costs several times
/// more). PNR keys with their blocks, made in block order, come out sorted by (key, block).
fn sort_by_first<T: Copy + Default>(pairs: Vec<(u32, T)>) -> Vec<(u32, T)> {
    if pairs.windows(2).all(|w| w[0].0 <= w[1].0) {
        return pairs;
    }
    let max = pairs.iter().map(|p| p.0).max().unwrap_or(0);
    let mut src = pairs;
    let mut dst = vec![(0u32, T::default()); src.len()];
    for shift in [0, 11, 22].into_iter().filter(|&s| s == 0 || max >> s != 0) {
        let digit = |key: u32| ((key >> shift) & 0x7FF) as usize;
        let mut next = vec![0usize; 2048];
        for &(key, _) in &src {
            if let Some(n) = next.get_mut(digit(key)) {
                *n += 1;
            }
        }
        let mut sum = 0;
        for n in &mut next {
            (*n, sum) = (sum, sum + *n);
        }
        for &pair in &src {
            if let Some(n) = next.get_mut(digit(pair.0)) {
                if let Some(slot) = dst.get_mut(*n) {
                    *slot = pair;
                }
                *n += 1;
            }
        }
        std::mem::swap(&mut src, &mut dst);
    }
    src
}

/// The error of the second and later blocks of a person.
fn duplicate_error(offset: usize, pnr: Pnr) -> ParseError {
    ParseError::new(
        Category::DuplicatePerson,
        offset,
        "this person already had a block earlier in the file",
    )
    .with_record_type(Some(RecordType::PERSON))
    .with_person(Some(pnr))
}

/// The parts of the walk: the block region cut at block boundaries, the tail at line starts;
/// each whole in concatenated framing.
fn parts(extract: &Extract<'_>, threads: usize) -> Vec<Part> {
    let mut parts: Vec<Part> = extract
        .block_cuts(threads * 4)
        .windows(2)
        .filter_map(|w| match w {
            [a, b] if a < b => Some(Part::Blocks(*a..*b)),
            _ => None,
        })
        .collect();
    let tail = extract.tail_range();
    let input = extract.input();
    if extract.framing() == Framing::Lines && threads > 1 && tail.len() >= 1 << 16 {
        let n = threads * 2;
        let mut cuts = vec![tail.start];
        for i in 1..n {
            let target = tail.start + tail.len() / n * i;
            let cut = memchr(b'\n', input.get(target..tail.end).unwrap_or_default())
                .map_or(tail.end, |j| target + j + 1);
            if cuts.last().is_some_and(|&last| cut > last) && cut < tail.end {
                cuts.push(cut);
            }
        }
        cuts.push(tail.end);
        parts.extend(cuts.windows(2).filter_map(|w| match w {
            [a, b] if a < b => Some(Part::Tail(*a..*b)),
            _ => None,
        }));
    } else if !tail.is_empty() {
        parts.push(Part::Tail(tail));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::field_of;
    use crate::Field;
    use proptest::prelude::*;

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                b'0'..=b'9',
                Just(b' '),
                Just(b'-'),
                any::<u8>(),
                Just(0x2F),
                Just(0x3A),
                Just(0xBA),
                Just(0xFF)
            ],
            0..24,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The word tests say exactly what a byte-by-byte test says.
        #[test]
        fn word_tests_are_exact(b in bytes(), start in 0usize..14, n in 1usize..14) {
            prop_assert_eq!(all_digits(&b), b.iter().all(u8::is_ascii_digit));
            prop_assert_eq!(all_blank(&b), b.iter().all(|&c| c == b' '));
            if start + n <= b.len() {
                let f = &b[start..start + n];
                let expected = f.iter().all(u8::is_ascii_digit) || f.iter().all(|&c| c == b' ');
                if let Some(got) = numeric_words(&b, start, start + n) {
                    prop_assert_eq!(got, expected);
                }
            }
        }

        /// The byte tests accept only what the field decoders accept.
        #[test]
        fn byte_tests_never_accept_what_the_decoders_refuse(
            b in bytes(),
            len in 1usize..14,
            kind in proptest::sample::select(vec![
                FieldKind::Numeric, FieldKind::Ts12, FieldKind::D8, FieldKind::D10,
            ]),
        ) {
            let present = &b[..b.len().min(len)];
            let field = Field { name: "F", start: 0, len, kind, marker: None, verified: true };
            if quick_ok(kind, present, len) {
                prop_assert!(field_of(present, &field).check(kind));
            }
            // The word-at-a-time forms say what `quick_ok` says, where they apply.
            if present.len() == len {
                let words = match kind {
                    FieldKind::D8 | FieldKind::D10 => date_words(&b, 0, len),
                    _ => numeric_words(&b, 0, len),
                };
                if let Some(ok) = words {
                    prop_assert_eq!(ok, quick_ok(kind, present, len));
                }
            }
        }
    }

    /// Every year of a few centuries' edges, every month and day number: the byte test of a
    /// date says what `chrono` says.
    #[test]
    fn date_tests_agree_with_chrono() {
        let years = [
            0, 1, 4, 99, 100, 400, 1582, 1900, 1999, 2000, 2001, 2004, 2100, 2400, 9999,
        ];
        for y in years {
            for m in 0..=13u32 {
                for d in 0..=32u32 {
                    let real = NaiveDate::from_ymd_opt(y, m, d).is_some();
                    let d8 = format!("{y:04}{m:02}{d:02}");
                    let d10 = format!("{y:04}-{m:02}-{d:02}");
                    assert_eq!(quick_ok(FieldKind::D8, d8.as_bytes(), 8), real, "{d8}");
                    assert_eq!(quick_ok(FieldKind::D10, d10.as_bytes(), 10), real, "{d10}");
                    assert_eq!(date_words(d8.as_bytes(), 0, 8), Some(real), "{d8}");
                    assert_eq!(date_words(d10.as_bytes(), 0, 10), Some(real), "{d10}");
                }
            }
        }
    }

    proptest! {
        /// The counting sort of (key, block) pairs is the comparison sort.
        #[test]
        fn keys_sort_as_pairs(keys in proptest::collection::vec(any::<u32>(), 0..300)) {
            let pairs: Vec<(u32, u32)> = keys.iter().enumerate().map(|(i, &k)| (k % 5000 * 858_993, i as u32)).collect();
            let mut expected = pairs.clone();
            expected.sort_unstable();
            prop_assert_eq!(sort_by_first(pairs.clone()), expected);
            // Small first members need fewer passes; the order within one stays.
            let small: Vec<(u32, u32)> = pairs.iter().map(|&(k, i)| (k % 3000, i)).collect();
            let mut expected = small.clone();
            expected.sort_by_key(|p| p.0);
            prop_assert_eq!(sort_by_first(small), expected);
        }
    }

    proptest! {
        /// Every layout's generated tests say what the walk over its checks says, on lines
        /// made of digits, blanks, dashes and noise, of every length up to the layout's.
        #[test]
        fn generated_tests_equal_the_walk(
            layout in proptest::sample::select(crate::layout::ALL.to_vec()),
            line in proptest::collection::vec(
                prop_oneof![b'0'..=b'9', Just(b' '), Just(b'-'), any::<u8>()], 0..400),
            digits in any::<bool>(),
            cut in 0usize..400,
        ) {
            // Mostly well-formed: every checked field all digits (or blanks), then damage.
            let mut bytes = vec![b' '; layout.len];
            for c in layout.checks {
                let fill = if digits { b'1' } else { b' ' };
                for b in &mut bytes[usize::from(c.start)..usize::from(c.end)] {
                    *b = fill;
                }
            }
            for (b, &n) in bytes.iter_mut().zip(&line).step_by(7) {
                *b = n;
            }
            bytes.truncate(cut.min(layout.len));
            prop_assert_eq!(fields_quick_ok(&bytes, layout), fields_quick_ok_walk(&bytes, layout));
        }
    }

    #[test]
    fn block_facts_stay_compact() {
        // 10.5 million of them at national scale.
        assert_eq!(std::mem::size_of::<BlockFacts>(), 40);
        assert_eq!(std::mem::size_of::<BlockEvent>(), 4);
    }

    #[test]
    fn plain_values_pass_the_byte_tests() {
        assert!(quick_ok(FieldKind::D10, b"1985-03-15", 10));
        assert!(quick_ok(FieldKind::D8, b"20011119", 8));
        assert!(quick_ok(FieldKind::Numeric, b"0851", 4));
        assert!(quick_ok(FieldKind::Ts12, b"  ", 12));
        assert!(quick_ok(FieldKind::D10, b"2000-02-29", 10));
        assert!(quick_ok(FieldKind::D8, b"20011031", 8));
        // Left to the decoders, which refuse or accept: no such day, zeros.
        assert!(!quick_ok(FieldKind::D10, b"1900-02-29", 10));
        assert!(!quick_ok(FieldKind::D8, b"20011131", 8));
        assert!(!quick_ok(FieldKind::D8, b"00000000", 8));
    }
}
