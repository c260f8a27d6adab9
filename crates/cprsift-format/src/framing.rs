//! Finding records in the bytes.
//!
//! CPR uses several framings (spec/CODES.md §15) and says which in no header, so the reader
//! detects it: a file containing a line feed is read line by line (LF or CRLF, lines possibly
//! right-trimmed, a final 0x1A tolerated); a file without one is a stream of concatenated
//! fixed-length records (CR, LF and 0x1A between records are skipped).

use memchr::memchr;
use serde::Serialize;

use crate::error::ParseError;
use crate::record::{Record, RecordKind};
use crate::{Layout, RecordType};
use cprsift_errors::Category;

/// DOS end-of-file byte some CPR files end with.
pub const EOF_MARKER: u8 = 0x1A;

/// How records are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// One record per line, LF or CRLF terminated.
    Lines,
    /// Fixed-length records one after another with no terminator.
    Concatenated,
}

impl Framing {
    /// Detects the framing: lines when the input holds a line feed.
    pub fn detect(input: &[u8]) -> Framing {
        if memchr(b'\n', input).is_some() {
            Framing::Lines
        } else {
            Framing::Concatenated
        }
    }
}

/// What the reader saw of the framing, for operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FramingReport {
    /// Lines ending in LF alone.
    pub lf_lines: u64,
    /// Lines ending in CRLF.
    pub crlf_lines: u64,
    /// Records shorter than their length (trailing blanks trimmed by CPR).
    pub trimmed_records: u64,
    /// Lines longer than their record length with blank extra bytes (a uniform length).
    pub padded_records: u64,
    /// The input ends with a 0x1A byte.
    pub eof_marker: bool,
}

impl FramingReport {
    /// Adds another part's counts.
    pub fn merge(&mut self, other: &FramingReport) {
        self.lf_lines += other.lf_lines;
        self.crlf_lines += other.crlf_lines;
        self.trimmed_records += other.trimmed_records;
        self.padded_records += other.padded_records;
        self.eof_marker |= other.eof_marker;
    }

    /// A one-word description: `LF`, `CRLF`, `mixed LF/CRLF` or `none (concatenated)`.
    pub fn terminator(&self) -> &'static str {
        match (self.lf_lines, self.crlf_lines) {
            (0, 0) => "none (concatenated)",
            (_, 0) => "LF",
            (0, _) => "CRLF",
            _ => "mixed LF/CRLF",
        }
    }
}

/// One step of the reader: the record (or why there is none) and where the next one starts.
#[derive(Debug)]
pub struct Framed<'a> {
    /// The record, or the framing error at this position.
    pub record: Result<Record<'a>, ParseError>,
    /// Offset of the next record; the end of the input after a fatal error.
    pub next: usize,
}

/// Reads the record at `pos`, or `None` at the end of the input (a final 0x1A, CR or LF
/// included). `report` collects framing traits.
pub fn frame_at<'a>(
    input: &'a [u8],
    pos: usize,
    framing: Framing,
    report: &mut FramingReport,
) -> Option<Framed<'a>> {
    match framing {
        Framing::Lines => frame_line(input, pos, report),
        Framing::Concatenated => frame_fixed(input, pos, report),
    }
}

/// How a line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineEnd {
    /// LF alone.
    Lf,
    /// CR LF.
    Crlf,
    /// The end of the input (a final 0x1A removed).
    Eof,
}

/// The bytes of the line at `pos` without terminator, the next line's offset, and how the line
/// ended.
pub(crate) fn line_at(input: &[u8], pos: usize) -> (&[u8], usize, LineEnd) {
    let rest = &input[pos..];
    match memchr(b'\n', rest) {
        Some(i) => match &rest[..i] {
            [head @ .., b'\r'] => (head, pos + i + 1, LineEnd::Crlf),
            line => (line, pos + i + 1, LineEnd::Lf),
        },
        None => match rest {
            [head @ .., EOF_MARKER] => (head, input.len(), LineEnd::Eof),
            line => (line, input.len(), LineEnd::Eof),
        },
    }
}

fn frame_line<'a>(input: &'a [u8], pos: usize, report: &mut FramingReport) -> Option<Framed<'a>> {
    if pos >= input.len() {
        return None;
    }
    let (line, next, end) = line_at(input, pos);
    match end {
        LineEnd::Lf => report.lf_lines += 1,
        LineEnd::Crlf => report.crlf_lines += 1,
        LineEnd::Eof => {
            report.eof_marker |= input.last() == Some(&EOF_MARKER);
            if line.is_empty() {
                return None;
            }
        }
    }
    Some(Framed {
        record: classify_line(line, pos, report),
        next,
    })
}

pub(crate) fn classify_line<'a>(
    line: &'a [u8],
    pos: usize,
    report: &mut FramingReport,
) -> Result<Record<'a>, ParseError> {
    let Some(rt) = RecordType::from_bytes(line).filter(|_| line.len() >= 3) else {
        return if line.len() < 3 {
            Err(ParseError::new(
                Category::TruncatedRecord,
                pos,
                format!(
                    "a line of {} bytes is too short to hold a record type",
                    line.len()
                ),
            ))
        } else {
            Ok(unknown(line, pos))
        };
    };
    let layouts = rt.layouts();
    if layouts.is_empty() {
        return Ok(unknown(line, pos));
    }
    for &layout in layouts {
        if line.len() <= layout.len || is_blank(&line[layout.len..]) {
            if line.len() < layout.len {
                report.trimmed_records += 1;
            } else if line.len() > layout.len {
                report.padded_records += 1;
            }
            let end = line.len().min(layout.len);
            return Ok(Record::new(&line[..end], RecordKind::Known(layout), pos));
        }
    }
    let longest = layouts[layouts.len() - 1].len;
    Err(ParseError::new(
        Category::LineTooLong,
        pos,
        format!(
            "the line has {} bytes; record {rt} has {longest} and the extra bytes are not blank",
            line.len()
        ),
    )
    .with_record_type(Some(rt)))
}

fn unknown(line: &[u8], pos: usize) -> Record<'_> {
    let end = line
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(0, |i| i + 1)
        .max(3);
    Record::new(&line[..end], RecordKind::Unknown, pos)
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b' ')
}

pub(crate) fn skip_separators(input: &[u8], mut pos: usize) -> usize {
    while let Some(&(b'\r' | b'\n' | EOF_MARKER)) = input.get(pos) {
        pos += 1;
    }
    pos
}

/// True when a known record type starts at `pos`, or the input ends there.
fn boundary_at(input: &[u8], pos: usize) -> bool {
    let pos = skip_separators(input, pos);
    pos >= input.len() || RecordType::from_bytes(&input[pos..]).is_some_and(RecordType::is_known)
}

fn frame_fixed<'a>(input: &'a [u8], pos: usize, report: &mut FramingReport) -> Option<Framed<'a>> {
    let pos = skip_separators(input, pos);
    if pos >= input.len() {
        if input.last() == Some(&EOF_MARKER) {
            report.eof_marker = true;
        }
        return None;
    }
    let rest = &input[pos..];
    let fatal = |e: ParseError| {
        Some(Framed {
            record: Err(e),
            next: input.len(),
        })
    };
    let Some(rt) = RecordType::from_bytes(rest).filter(|_| rest.len() >= 3) else {
        if rest.len() < 3 {
            return fatal(ParseError::new(
                Category::TruncatedRecord,
                pos,
                format!("{} bytes left, too few for a record type", rest.len()),
            ));
        }
        return fatal(unknown_fixed(pos, None));
    };
    let layouts = rt.layouts();
    if layouts.is_empty() {
        return fatal(unknown_fixed(pos, Some(rt)));
    }
    let fitting = || layouts.iter().copied().filter(|l| l.len <= rest.len());
    let chosen: Option<&'static Layout> = fitting()
        .find(|l| boundary_at(input, pos + l.len))
        .or_else(|| fitting().next());
    let Some(mut layout) = chosen else {
        return fatal(
            ParseError::new(
                Category::TruncatedRecord,
                pos,
                format!(
                    "record {rt} needs {} bytes, only {} are left",
                    layouts[0].len,
                    rest.len()
                ),
            )
            .with_record_type(Some(rt)),
        );
    };
    let next = pos + layout.len;
    // A longer variant whose extra bytes are blank is the shorter record.
    if let Some(&shorter) = layouts
        .iter()
        .find(|l| l.len < layout.len && is_blank(&rest[l.len..layout.len]))
    {
        layout = shorter;
    }
    Some(Framed {
        record: Ok(Record::new(
            &rest[..layout.len],
            RecordKind::Known(layout),
            pos,
        )),
        next,
    })
}

fn unknown_fixed(pos: usize, rt: Option<RecordType>) -> ParseError {
    ParseError::new(
        Category::UnknownRecordType,
        pos,
        "record type not defined by the specification; without line terminators its length \
         is unknown, so reading cannot go on",
    )
    .with_record_type(rt)
}
