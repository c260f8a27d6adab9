//! The structure of one extract file (spec/FORMAT.md §3): 000, 997 receipts, person blocks,
//! the 003 tail, 999, then 910 error records.

use std::ops::Range;

use chrono::NaiveDate;
use memchr::{memchr_iter, memrchr};

use crate::error::ParseError;
use crate::framing::{frame_at, line_at, skip_separators, Framed, Framing, FramingReport};
use crate::layout::fields::{r000, r001, r002, r999};
use crate::{Pnr, Record, RecordType};
use cprsift_errors::Category;

/// Reading options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Treat record types the specification does not define as errors even where they could
    /// be carried (docs/rules.md §6, switch `strict-unknown`).
    pub strict_unknown: bool,
}

/// An extract file whose frame (start, end, and where the person blocks and the 003 tail lie)
/// has been found. Nothing is copied: every part is a view of the input.
#[derive(Clone, Debug)]
pub struct Extract<'a> {
    input: &'a [u8],
    framing: Framing,
    options: ExtractOptions,
    start: Record<'a>,
    receipts: Range<usize>,
    receipt_count: u64,
    blocks: Range<usize>,
    tail: Range<usize>,
    end: Record<'a>,
    trailer: Range<usize>,
}

/// One framing step that never fails softly: framing errors end the walk.
fn step<'a>(input: &'a [u8], pos: usize, framing: Framing) -> Option<Framed<'a>> {
    frame_at(input, pos, framing, &mut FramingReport::default())
}

fn type_of(line: &[u8]) -> Option<RecordType> {
    RecordType::from_bytes(line)
}

impl<'a> Extract<'a> {
    /// Finds the frame of `input`: the 000 record, the receipts, the blocks, the 003 tail, the
    /// 999 record and the 910 records after it. Errors here are the ones that make the file
    /// unreadable as a whole (no 000, no 999, a record after 999, a framing error in
    /// concatenated framing, a start or end record with bad fields). The blocks themselves are
    /// read lazily ([`Extract::blocks`]) and validated by [`crate::CheckedExtract::read`].
    pub fn open(input: &'a [u8], options: ExtractOptions) -> Result<Extract<'a>, ParseError> {
        let framing = Framing::detect(input);
        let extract = Self::frame(input, framing, options)?;
        extract
            .start
            .check_fields()
            .map_err(|e| extract.locate(e))?;
        extract.end.check_fields().map_err(|e| extract.locate(e))?;
        Ok(extract)
    }

    fn frame(
        input: &'a [u8],
        framing: Framing,
        options: ExtractOptions,
    ) -> Result<Self, ParseError> {
        let missing_000 = |detail: &str| {
            ParseError::new(Category::Missing000, 0, detail.to_string()).located(1, framing)
        };
        let first = step(input, 0, framing).ok_or_else(|| missing_000("the file is empty"))?;
        let start = match first.record {
            Ok(r) if r.record_type() == Some(RecordType::START) => r,
            Ok(r) => {
                return Err(Self::misplaced_start(input, framing).unwrap_or_else(|| {
                    missing_000("the first record is not a 000 start record")
                        .with_record_type(r.record_type())
                }))
            }
            Err(e) => return Err(e.located(1, framing)),
        };
        // 997 receipts follow the start record.
        let mut pos = first.next;
        let mut receipt_count = 0;
        while let Some(Framed {
            record: Ok(r),
            next,
        }) = step(input, pos, framing)
        {
            if r.record_type() != Some(RecordType::RECEIPT) {
                break;
            }
            receipt_count += 1;
            pos = next;
        }
        let receipts = first.next..pos;
        let (tail_start, end_pos, trailer_start) = match framing {
            Framing::Lines => Self::find_end_lines(input, pos)?,
            Framing::Concatenated => Self::find_end_fixed(input, pos)?,
        };
        let end = match step(input, end_pos, framing).map(|f| f.record) {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                return Err(e.located(Self::ordinals_before(input, end_pos) + 1, framing))
            }
            None => {
                return Err(ParseError::new(
                    Category::Missing999,
                    end_pos,
                    "the file has no 999 end record",
                )
                .located(Self::ordinals_before(input, end_pos) + 1, framing))
            }
        };
        Ok(Extract {
            input,
            framing,
            options,
            start,
            receipts,
            receipt_count,
            blocks: pos..tail_start,
            tail: tail_start..end_pos,
            end,
            trailer: trailer_start..input.len(),
        })
    }

    /// The first record is not a 000: when a 000 stands further on, the start record is
    /// misplaced (docs/rules.md §6), not missing. Only called on that error path, so it may walk
    /// the whole input.
    fn misplaced_start(input: &[u8], framing: Framing) -> Option<ParseError> {
        let mut pos = 0;
        let mut ordinal = 1;
        while let Some(framed) = step(input, pos, framing) {
            let rt = match &framed.record {
                Ok(r) => r.record_type(),
                // A line too long is still a line of its type; in concatenated framing nothing
                // after a framing error can be found.
                Err(e) if framing == Framing::Lines => e.record_type,
                Err(_) => None,
            };
            if rt == Some(RecordType::START) {
                let offset = framed.record.as_ref().map_or(pos, |r| r.offset());
                return Some(
                    ParseError::new(
                        Category::Misplaced000,
                        offset,
                        "a 000 start record must come first",
                    )
                    .with_record_type(rt)
                    .located(ordinal, framing),
                );
            }
            pos = framed.next;
            ordinal += 1;
        }
        None
    }

    /// Line framing: walk back from the end over 910 records to the 999, then over the 003
    /// tail. Returns (tail start, 999 offset, 910 start, 999 line).
    fn find_end_lines(input: &'a [u8], body: usize) -> Result<(usize, usize, usize), ParseError> {
        let prev = |s: usize| (s > 0).then(|| memrchr(b'\n', &input[..s - 1]).map_or(0, |i| i + 1));
        let mut cursor = if input.is_empty() {
            None
        } else {
            prev(input.len())
        };
        let mut trailer = input.len();
        let end = loop {
            let Some(s) = cursor.filter(|&s| s >= body) else {
                return Err(Self::no_end(input, body));
            };
            let (line, _, _) = line_at(input, s);
            match type_of(line) {
                _ if line.is_empty() && s + line.len() + 1 >= input.len() => {}
                Some(RecordType::INPUT_ERROR) => trailer = s,
                Some(RecordType::END) => break s,
                _ => return Err(Self::no_end(input, body)),
            }
            cursor = prev(s);
        };
        let mut tail = end;
        while let Some(s) = prev(tail).filter(|&s| s >= body) {
            if type_of(line_at(input, s).0) != Some(RecordType::CLEAR_ADDRESS) {
                break;
            }
            tail = s;
        }
        Ok((tail, end, trailer))
    }

    /// No 999 at the end: either there is none (missing-999) or records follow it.
    fn no_end(input: &[u8], body: usize) -> ParseError {
        let mut pos = body;
        let mut line = 1 + memchr_iter(b'\n', &input[..body]).count() as u64;
        let mut after_end = false;
        while pos < input.len() {
            let (bytes, next, _) = line_at(input, pos);
            let rt = type_of(bytes);
            if after_end && rt != Some(RecordType::INPUT_ERROR) && !bytes.is_empty() {
                return ParseError::new(
                    Category::RecordAfter999,
                    pos,
                    "only 910 error records may follow the 999 end record",
                )
                .with_record_type(rt)
                .located(line, Framing::Lines);
            }
            after_end |= rt == Some(RecordType::END);
            pos = next;
            line += 1;
        }
        ParseError::new(
            Category::Missing999,
            input.len(),
            "the file has no 999 end record",
        )
        .located(line, Framing::Lines)
    }

    /// Concatenated framing: walk forward (there is no way back without terminators).
    fn find_end_fixed(input: &'a [u8], body: usize) -> Result<(usize, usize, usize), ParseError> {
        let mut pos = body;
        let mut ordinal = 1 + Self::ordinals_before(input, body);
        let mut tail = None;
        while let Some(framed) = step(input, pos, Framing::Concatenated) {
            let r = framed
                .record
                .map_err(|e| e.located(ordinal, Framing::Concatenated))?;
            match r.record_type() {
                Some(RecordType::END) => {
                    let trailer = framed.next;
                    let mut after = framed.next;
                    let mut n = ordinal;
                    while let Some(f) = step(input, after, Framing::Concatenated) {
                        n += 1;
                        let r = f.record.map_err(|e| e.located(n, Framing::Concatenated))?;
                        if r.record_type() != Some(RecordType::INPUT_ERROR) {
                            return Err(ParseError::new(
                                Category::RecordAfter999,
                                r.offset(),
                                "only 910 error records may follow the 999 end record",
                            )
                            .with_record_type(r.record_type())
                            .located(n, Framing::Concatenated));
                        }
                        after = f.next;
                    }
                    return Ok((tail.unwrap_or(r.offset()), r.offset(), trailer));
                }
                Some(RecordType::CLEAR_ADDRESS) => {
                    tail.get_or_insert(r.offset());
                }
                _ => tail = None,
            }
            pos = framed.next;
            ordinal += 1;
        }
        Err(ParseError::new(
            Category::Missing999,
            input.len(),
            "the file has no 999 end record",
        )
        .located(ordinal, Framing::Concatenated))
    }

    /// Records (concatenated) or lines before `offset`.
    pub(crate) fn ordinals_before(input: &[u8], offset: usize) -> u64 {
        match Framing::detect(input) {
            Framing::Lines => memchr_iter(b'\n', &input[..offset]).count() as u64,
            Framing::Concatenated => {
                let mut pos = 0;
                let mut n = 0;
                while let Some(f) = step(input, pos, Framing::Concatenated) {
                    if f.next > offset || f.record.as_ref().map_or(true, |r| r.offset() >= offset) {
                        break;
                    }
                    n += 1;
                    pos = f.next;
                }
                n
            }
        }
    }

    /// Fills in the line (or record number) of an error from its byte offset.
    pub fn locate(&self, error: ParseError) -> ParseError {
        let n = Self::ordinals_before(self.input, error.position.offset as usize) + 1;
        error.located(n, self.framing)
    }

    /// The input bytes.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The framing detected.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The options the extract was opened with.
    pub fn options(&self) -> ExtractOptions {
        self.options
    }

    /// The 000 start record.
    pub fn start_record(&self) -> Record<'a> {
        self.start
    }

    /// The 999 end record.
    pub fn end_record(&self) -> Record<'a> {
        self.end
    }

    /// 000 OPGAVENR, the task number (6 digits as they stand).
    pub fn opgavenr(&self) -> &'a [u8] {
        self.start.field(&r000::OPGAVENR).present()
    }

    /// 000 PRODDTO, the production date (validated by [`Extract::open`]).
    pub fn proddto(&self) -> Option<NaiveDate> {
        self.start.field(&r000::PRODDTO).d8().ok().flatten()
    }

    /// 000 PRODDTOFORRIG, the previous production date; `None` when zeros.
    pub fn proddto_forrig(&self) -> Option<NaiveDate> {
        self.start.field(&r000::PRODDTOFORRIG).d8().ok().flatten()
    }

    /// 999 TAELLER as written.
    pub fn taeller(&self) -> Option<u64> {
        self.end.field(&r999::TAELLER).number().ok().flatten()
    }

    /// The number of 997 receipts.
    pub fn receipt_count(&self) -> u64 {
        self.receipt_count
    }

    /// The 997 receipts.
    pub fn receipts(&self) -> Records<'a> {
        Records::new(self.input, self.receipts.clone(), self.framing, Some(2))
    }

    /// The person blocks, in file order.
    pub fn blocks(&self) -> Blocks<'a> {
        Blocks::new(self, self.blocks.clone(), Some(2 + self.receipt_count))
    }

    /// The byte range of the person blocks.
    pub fn blocks_range(&self) -> Range<usize> {
        self.blocks.clone()
    }

    /// The byte range of the 997 receipts.
    pub fn receipts_range(&self) -> Range<usize> {
        self.receipts.clone()
    }

    /// The byte range of the 910 records after the 999 (to the end of the input).
    pub fn trailer_range(&self) -> Range<usize> {
        self.trailer.clone()
    }

    /// Splits the person blocks into about `parts` ranges that each start at a block boundary,
    /// for parallel work. Concatenated framing is never split (its records cannot be found
    /// from an arbitrary offset).
    pub fn block_chunks(&self, parts: usize) -> Vec<Blocks<'a>> {
        self.block_cuts(parts)
            .windows(2)
            .enumerate()
            .map(|(i, w)| Blocks::new(self, w[0]..w[1], (i == 0).then_some(2 + self.receipt_count)))
            .collect()
    }

    /// Where [`Extract::block_chunks`] cuts the block region: ascending offsets, the region's
    /// start and end included, every one a block boundary.
    pub(crate) fn block_cuts(&self, parts: usize) -> Vec<usize> {
        let Range { start, end } = self.blocks.clone();
        if self.framing == Framing::Concatenated || parts <= 1 || end - start < 1 << 16 {
            return vec![start, end];
        }
        let mut cuts = vec![start];
        for i in 1..parts {
            let target = start + (end - start) / parts * i;
            let cut = self.next_block_start(target.max(*cuts.last().unwrap_or(&start)), end);
            if cut > *cuts.last().unwrap_or(&start) && cut < end {
                cuts.push(cut);
            }
        }
        cuts.push(end);
        cuts
    }

    /// The first line start at or after `pos` whose key differs from the line before it.
    pub(crate) fn next_block_start(&self, pos: usize, end: usize) -> usize {
        let input = self.input;
        let mut s = match memchr::memchr(b'\n', &input[pos..end]) {
            Some(i) => pos + i + 1,
            None => return end,
        };
        let key = |line: &[u8]| -> [u8; 10] { block_key(line) };
        let mut prev_key = {
            let p = memrchr(b'\n', &input[..s - 1]).map_or(0, |i| i + 1);
            key(line_at(input, p).0)
        };
        while s < end {
            let (line, next, _) = line_at(input, s);
            let k = key(line);
            if k != prev_key {
                return s;
            }
            prev_key = k;
            s = next;
        }
        end
    }

    /// The 003 records of the tail, in file order.
    pub fn tail(&self) -> Records<'a> {
        Records::new(self.input, self.tail.clone(), self.framing, None)
    }

    /// The byte range of the 003 tail.
    pub fn tail_range(&self) -> Range<usize> {
        self.tail.clone()
    }

    /// An index of the 003 tail by PNR, for reaching each person's 003 record(s).
    pub fn tail_index(&self) -> TailIndex<'a> {
        let mut entries: Vec<(u32, usize)> = self
            .tail()
            .filter_map(Result::ok)
            .filter_map(|r| r.pnr().map(|p| (p.key(), r.offset())))
            .collect();
        entries.sort_by_key(|&(k, _)| k);
        TailIndex {
            input: self.input,
            framing: self.framing,
            entries,
        }
    }

    /// The 910 records after the 999.
    pub fn trailer(&self) -> Records<'a> {
        Records::new(self.input, self.trailer.clone(), self.framing, None)
    }
}

/// Positions 4-13 of a raw line, blank-padded.
pub(crate) fn block_key(line: &[u8]) -> [u8; 10] {
    let mut key = [b' '; 10];
    if let Some(k) = line.get(3..line.len().min(13)) {
        key[..k.len()].copy_from_slice(k);
    }
    key
}

impl ParseError {
    pub(crate) fn located(mut self, line: u64, framing: Framing) -> ParseError {
        self.position.line = line;
        self.position.lines = framing == Framing::Lines;
        self
    }

    /// Sets the line when it is known.
    fn located_if(self, line: Option<u64>, framing: Framing) -> ParseError {
        match line {
            Some(l) => self.located(l, framing),
            None => self,
        }
    }
}

/// Records of one region (receipts, tail, trailer), each a `Result`.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    input: &'a [u8],
    pos: usize,
    end: usize,
    framing: Framing,
    /// The line (or record number) of the next record, when known; errors carry it, or else
    /// [`Extract::locate`] fills it in.
    line: Option<u64>,
    report: FramingReport,
}

/// The 003 tail's records.
pub type TailRecords<'a> = Records<'a>;

impl<'a> Records<'a> {
    fn new(
        input: &'a [u8],
        range: Range<usize>,
        framing: Framing,
        line: Option<u64>,
    ) -> Records<'a> {
        Records {
            input,
            pos: range.start,
            end: range.end,
            framing,
            line,
            report: FramingReport::default(),
        }
    }

    /// What the records read so far showed of the framing.
    pub fn framing_report(&self) -> &FramingReport {
        &self.report
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let framed = frame_at(self.input, self.pos, self.framing, &mut self.report)?;
        self.pos = framed.next;
        let line = self.line;
        self.line = line.map(|l| l + 1);
        Some(framed.record.map_err(|e| e.located_if(line, self.framing)))
    }
}

/// The person blocks of a range, in order. Each item is a block or the structural error that
/// stands where a block should (the iteration goes on after it, except after a framing error
/// in concatenated framing, which ends it).
#[derive(Clone, Debug)]
pub struct Blocks<'a> {
    input: &'a [u8],
    pos: usize,
    end: usize,
    framing: Framing,
    options: ExtractOptions,
    /// The line (or record number) at `pos`, when known.
    line: Option<u64>,
    /// Lines (or records) consumed so far.
    units: u64,
}

/// One unit of the input while grouping: a line, or a framed record.
struct Unit {
    next: usize,
    record_type: Option<RecordType>,
    key: [u8; 10],
    fatal: Option<ParseError>,
}

impl<'a> Blocks<'a> {
    fn new(extract: &Extract<'a>, range: Range<usize>, line: Option<u64>) -> Blocks<'a> {
        Blocks {
            input: extract.input,
            pos: range.start,
            end: range.end,
            framing: extract.framing,
            options: extract.options,
            line,
            units: 0,
        }
    }

    /// The lines (or records) consumed so far, errors included.
    pub fn units_consumed(&self) -> u64 {
        self.units
    }

    fn unit_at(&self, pos: usize) -> Unit {
        match self.framing {
            Framing::Lines => {
                let (line, next, _) = line_at(self.input, pos);
                let fatal = (line.len() < 3).then(|| short_line(pos, line.len()));
                Unit {
                    next,
                    record_type: type_of(line),
                    key: block_key(line),
                    fatal,
                }
            }
            Framing::Concatenated => match step(self.input, pos, self.framing) {
                Some(Framed {
                    record: Ok(r),
                    next,
                }) => Unit {
                    next,
                    record_type: r.record_type(),
                    key: block_key(r.bytes()),
                    fatal: None,
                },
                Some(Framed { record: Err(e), .. }) => Unit {
                    next: self.end,
                    record_type: None,
                    key: [b' '; 10],
                    fatal: Some(e),
                },
                None => Unit {
                    next: self.end,
                    record_type: None,
                    key: [b' '; 10],
                    fatal: None,
                },
            },
        }
    }

    fn continues_block(&self, rt: Option<RecordType>) -> bool {
        continues_block(self.framing, rt)
    }

    fn error(&self, e: ParseError, line: Option<u64>) -> ParseError {
        match line {
            Some(l) => e.located(l, self.framing),
            None => e,
        }
    }
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<PersonBlock<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.framing == Framing::Concatenated
            && skip_separators(self.input, self.pos) >= self.end
        {
            // Only separators before the tail (or the 999): the next record is not a block's.
            self.pos = self.end;
        }
        if self.pos >= self.end {
            return None;
        }
        let start = self.pos;
        let line = self.line;
        let first = self.unit_at(start);
        self.pos = first.next;
        self.units += 1;
        if let Some(e) = first.fatal {
            if self.framing == Framing::Concatenated {
                // Without terminators nothing after a framing error can be found.
                self.pos = self.end;
            }
            self.line = self.line.map(|l| l + 1);
            return Some(Err(self.error(e, line)));
        }
        self.line = self.line.map(|l| l + 1);
        if let Some(e) = lone_stray(first.record_type, start) {
            return Some(Err(self.error(e, line)));
        }
        let mut count = 1u32;
        while self.pos < self.end {
            let unit = self.unit_at(self.pos);
            // A 001 always starts a block: a second one with the same PNR is a second block of
            // that person (reported as a duplicate), not part of this one.
            if unit.fatal.is_some()
                || unit.record_type == Some(RecordType::PERSON)
                || unit.key != first.key
                || !self.continues_block(unit.record_type)
            {
                break;
            }
            self.pos = unit.next;
            self.line = self.line.map(|l| l + 1);
            self.units += 1;
            count += 1;
        }
        let pnr = match group_person(first.record_type, &first.key, start) {
            Ok(pnr) => pnr,
            Err(e) => return Some(Err(self.error(e, line))),
        };
        Some(Ok(PersonBlock {
            input: self.input,
            range: start..self.pos,
            framing: self.framing,
            options: self.options,
            pnr,
            records: count,
            line,
        }))
    }
}

/// The error of a line too short to hold a record type (line framing).
pub(crate) fn short_line(pos: usize, len: usize) -> ParseError {
    ParseError::new(
        Category::TruncatedRecord,
        pos,
        format!("a line of {len} bytes is too short to hold a record type"),
    )
}

/// True when a record of this type may continue a person block: a person record, or (in line
/// framing) a type the specification does not define.
pub(crate) fn continues_block(framing: Framing, rt: Option<RecordType>) -> bool {
    match rt {
        Some(rt) if rt.is_known() => rt.is_person_record(),
        _ => framing == Framing::Lines,
    }
}

/// The error of a record that stands alone among the person blocks because its type cannot
/// start a block (000, 999, 997, 003, 910, an undefined type); `None` for a person record type,
/// which starts a group of records.
pub(crate) fn lone_stray(rt: Option<RecordType>, start: usize) -> Option<ParseError> {
    let (category, detail) = match rt {
        Some(RecordType::START) => (Category::Misplaced000, "a 000 start record must come first"),
        Some(RecordType::END) => (
            Category::RecordAfter999,
            "records follow this 999 end record; only 910 error records may",
        ),
        Some(rt) if rt.is_known() && !rt.is_person_record() => (
            Category::MisplacedRecord,
            "this record type belongs before the person blocks (997), after them (003) or \
             after the 999 end record (910)",
        ),
        Some(rt) if rt.is_known() => return None,
        _ => (
            Category::UnknownRecordType,
            "record type not defined by the specification, outside a person block",
        ),
    };
    Some(ParseError::new(category, start, detail).with_record_type(rt))
}

/// Whether a group of person records with one key (positions 4-13) is a person block: its PNR,
/// or the error of the group (the key is no PNR; the group does not start with 001).
pub(crate) fn group_person(
    first: Option<RecordType>,
    key: &[u8; 10],
    start: usize,
) -> Result<Pnr, ParseError> {
    let Some(pnr) = Pnr::from_digits(key) else {
        return Err(ParseError::new(
            Category::BadPnr,
            start,
            "positions 4-13 of a person record must hold a 10-digit personal number",
        )
        .with_record_type(first)
        .with_field("PNR"));
    };
    if first != Some(RecordType::PERSON) {
        return Err(ParseError::new(
            Category::MisplacedRecord,
            start,
            "a person block must start with its 001 record",
        )
        .with_record_type(first)
        .with_person(Some(pnr)));
    }
    Ok(pnr)
}

/// One person's block: consecutive records 001-099 (but 003) with one PNR, 001 first. A view
/// of the input; its 003 record is in the tail ([`Extract::tail_index`]).
#[derive(Clone, Debug)]
pub struct PersonBlock<'a> {
    input: &'a [u8],
    range: Range<usize>,
    framing: Framing,
    options: ExtractOptions,
    pnr: Pnr,
    records: u32,
    /// The line (or record number) of the 001, when the iterator knew it.
    line: Option<u64>,
}

impl<'a> PersonBlock<'a> {
    /// A view of a block the caller has already grouped.
    pub(crate) fn new(
        input: &'a [u8],
        range: Range<usize>,
        framing: Framing,
        options: ExtractOptions,
        pnr: Pnr,
        records: u32,
    ) -> PersonBlock<'a> {
        PersonBlock {
            input,
            range,
            framing,
            options,
            pnr,
            records,
            line: None,
        }
    }

    /// The person's PNR (positions 4-13 of every record of the block).
    pub fn pnr(&self) -> Pnr {
        self.pnr
    }

    /// The block's bytes as they stand in the input, terminators included.
    pub fn bytes(&self) -> &'a [u8] {
        &self.input[self.range.clone()]
    }

    /// The block's byte range in the input.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// The byte offset of the block's 001 record.
    pub fn offset(&self) -> usize {
        self.range.start
    }

    /// The number of records in the block.
    pub fn record_count(&self) -> u32 {
        self.records
    }

    /// The block's records, each checked for framing (not yet for field contents; see
    /// [`PersonBlock::validate`]).
    pub fn records(&self) -> BlockRecords<'a> {
        BlockRecords {
            inner: Records::new(self.input, self.range.clone(), self.framing, self.line),
            strict_unknown: self.options.strict_unknown,
        }
    }

    /// The 001 record.
    pub fn person(&self) -> Option<Record<'a>> {
        self.records().next().and_then(Result::ok)
    }

    /// The first record of a type.
    pub fn find(&self, rt: RecordType) -> Option<Record<'a>> {
        self.records()
            .filter_map(Result::ok)
            .find(|r| r.record_type() == Some(rt))
    }

    /// 001 STATUS.
    pub fn status(&self) -> Option<u8> {
        let n = self.person()?.field(&r001::STATUS).number().ok()??;
        u8::try_from(n).ok()
    }

    /// 001 PNRGAELD, the valid PNR of a retired one.
    pub fn pnr_gaeld(&self) -> Option<Pnr> {
        self.person()?.field(&r001::PNRGAELD).pnr()
    }

    /// 002 KOMKOD, the current municipality; `None` without a 002 or with a blank code.
    pub fn municipality(&self) -> Option<u16> {
        let n = self
            .find(RecordType::ADDRESS)?
            .field(&r002::KOMKOD)
            .number()
            .ok()??;
        u16::try_from(n).ok().filter(|&k| k != 0)
    }

    /// The birth date: 001 FOED_DT, or when blank the PNR's date by the century rule.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let from_record = self
            .person()
            .and_then(|p| p.field(&r001::FOED_DT).d10().ok().flatten());
        from_record.or_else(|| self.pnr.birth_date())
    }

    /// Validates every record: framing, field contents, PNR of every record equal to the
    /// block's. Undefined record types are reported through `warn` (or as errors under
    /// `strict_unknown`). Returns the first error.
    pub fn validate(&self, mut warn: impl FnMut(ParseError)) -> Result<(), ParseError> {
        let mut records = self.records();
        loop {
            let line = records.inner.line;
            match records.next() {
                None => return Ok(()),
                Some(Ok(r)) if r.layout().is_none() => {
                    warn(unknown_carried(&r, line, self.framing).with_person(Some(self.pnr)))
                }
                Some(Ok(r)) => r
                    .check_fields()
                    .map_err(|e| e.located_if(line, self.framing).with_person(Some(self.pnr)))?,
                Some(Err(e)) => return Err(e.with_person(Some(self.pnr))),
            }
        }
    }
}

/// The records of one person block.
#[derive(Clone, Debug)]
pub struct BlockRecords<'a> {
    inner: Records<'a>,
    strict_unknown: bool,
}

impl BlockRecords<'_> {
    /// What the records read so far showed of the framing.
    pub fn framing_report(&self) -> &FramingReport {
        self.inner.framing_report()
    }
}

impl<'a> Iterator for BlockRecords<'a> {
    type Item = Result<Record<'a>, ParseError>;

    /// Yields each record. A record of an undefined type is yielded as it is (it is carried
    /// through), or as an `unknown-record-type` error under `strict_unknown`.
    fn next(&mut self) -> Option<Self::Item> {
        let line = self.inner.line;
        Some(match self.inner.next()? {
            Ok(r) if r.layout().is_none() && self.strict_unknown => {
                Err(unknown_carried(&r, line, self.inner.framing).into_error())
            }
            other => other,
        })
    }
}

/// The warning for an undefined record type inside a person block.
pub(crate) fn unknown_carried(r: &Record<'_>, line: Option<u64>, framing: Framing) -> ParseError {
    ParseError::new(
        Category::UnknownRecordType,
        r.offset(),
        "record type not defined by the specification; carried through verbatim",
    )
    .with_record_type(r.record_type())
    .located_if(line, framing)
    .as_warning()
}

/// The 003 tail indexed by PNR.
#[derive(Clone, Debug)]
pub struct TailIndex<'a> {
    input: &'a [u8],
    framing: Framing,
    entries: Vec<(u32, usize)>,
}

impl<'a> TailIndex<'a> {
    /// The 003 record(s) of one person, in tail order.
    pub fn records_of(&self, pnr: Pnr) -> impl Iterator<Item = Record<'a>> + '_ {
        let from = self.entries.partition_point(|&(k, _)| k < pnr.key());
        self.entries[from..]
            .iter()
            .take_while(move |&&(k, _)| k == pnr.key())
            .filter_map(move |&(_, offset)| step(self.input, offset, self.framing)?.record.ok())
    }

    /// The number of indexed 003 records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the tail is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
