//! A slow, obviously correct reader: it copies every line into its own buffer, finds layouts by
//! a linear search of the table and checks fields character by character. The fast reader in
//! `cprsift_format::framing` must agree with it on every input, errors included.

use cprsift_errors::Category;
use cprsift_format::layout::ALL;
use cprsift_format::{FieldKind, Layout};

/// What the reader yields at one position: a record (its canonical padded bytes and the first
/// field that fails its check) or the category of a framing error.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    Record {
        offset: usize,
        padded: Vec<u8>,
        bad_field: Option<(&'static str, Category)>,
    },
    Error {
        offset: usize,
        category: Category,
    },
}

fn layouts_of(bytes: &[u8]) -> Vec<&'static Layout> {
    let mut found: Vec<&'static Layout> = ALL
        .iter()
        .copied()
        .filter(|l| bytes.len() >= 3 && l.record_type.digits() == bytes[..3])
        .collect();
    found.sort_by_key(|l| l.len);
    found
}

fn all_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b' ')
}

fn digits_ok(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.is_ascii_digit())
}

fn number(bytes: &[u8]) -> u32 {
    std::str::from_utf8(bytes).unwrap().parse().unwrap()
}

fn real_date(y: &[u8], m: &[u8], d: &[u8]) -> bool {
    digits_ok(y)
        && digits_ok(m)
        && digits_ok(d)
        && chrono::NaiveDate::from_ymd_opt(number(y) as i32, number(m), number(d)).is_some()
}

fn field_ok(kind: FieldKind, v: &[u8]) -> bool {
    let zeros = v.iter().all(|&b| b == b'0' || b == b'-');
    match kind {
        FieldKind::Text => true,
        FieldKind::Numeric => all_blank(v) || digits_ok(v),
        FieldKind::D8 => all_blank(v) || zeros || real_date(&v[0..4], &v[4..6], &v[6..8]),
        FieldKind::D10 => {
            all_blank(v)
                || zeros
                || (v[4] == b'-' && v[7] == b'-' && real_date(&v[0..4], &v[5..7], &v[8..10]))
        }
        FieldKind::Ts12 => all_blank(v) || digits_ok(v),
    }
}

fn record(offset: usize, layout: &'static Layout, content: &[u8]) -> Item {
    let mut padded = content.to_vec();
    padded.resize(layout.len, b' ');
    let bad_field = layout
        .fields
        .iter()
        .find(|f| !field_ok(f.kind, &padded[f.start..f.end()]))
        .map(|f| {
            let category = if f.kind == FieldKind::Numeric {
                Category::BadNumeric
            } else {
                Category::BadDate
            };
            (f.name, category)
        });
    Item::Record {
        offset,
        padded,
        bad_field,
    }
}

fn unknown(offset: usize, line: &[u8]) -> Item {
    let mut padded = line.to_vec();
    while padded.len() > 3 && padded.last() == Some(&b' ') {
        padded.pop();
    }
    Item::Record {
        offset,
        padded,
        bad_field: None,
    }
}

/// Reads the whole input.
pub fn read(input: &[u8]) -> Vec<Item> {
    if input.contains(&b'\n') {
        read_lines(input)
    } else {
        read_concatenated(input)
    }
}

/// The lines of a line-framed input: (offset, bytes without terminator), CR before LF and a
/// final 0x1A removed, a final empty line dropped.
fn lines(input: &[u8]) -> Vec<(usize, Vec<u8>)> {
    // Split into (offset, line, terminated) by walking byte by byte.
    let mut lines = Vec::new();
    let mut current = Vec::new();
    let mut start = 0;
    for (i, &b) in input.iter().enumerate() {
        if b == b'\n' {
            lines.push((start, std::mem::take(&mut current), true));
            start = i + 1;
        } else {
            current.push(b);
        }
    }
    if start < input.len() {
        lines.push((start, current, false));
    }
    let mut out = Vec::new();
    for (offset, mut line, terminated) in lines {
        if terminated && line.last() == Some(&b'\r') {
            line.pop();
        }
        if !terminated {
            if line.last() == Some(&0x1A) {
                line.pop();
            }
            if line.is_empty() {
                continue;
            }
        }
        out.push((offset, line));
    }
    out
}

/// The records 999 TAELLER counts in a line-framed input, by the rule itself (docs/rules.md
/// §6): every line before the last 999 but those whose type is 000, 999 or 910, wherever they
/// stand (after the 999 only 910 records may follow, and nothing there is counted).
pub fn taeller_count(input: &[u8]) -> u64 {
    let lines = lines(input);
    let end = lines
        .iter()
        .rposition(|(_, l)| l.get(..3) == Some(b"999"))
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .filter(|(_, l)| !matches!(l.get(..3), Some(b"000" | b"999" | b"910")))
        .count() as u64
}

/// What a line-framed input says of its start record: `None` when the first line is a 000,
/// `misplaced-000` when a later line is, `missing-000` when none is. (`None` too when the first
/// line cannot be read as a record: that line's own framing error comes first.)
pub fn start_error(input: &[u8]) -> Option<Category> {
    let is_000 = |l: &[u8]| l.get(..3) == Some(b"000");
    match read_lines(input).first() {
        Some(Item::Record { padded, .. }) if is_000(padded) => None,
        Some(Item::Error { .. }) => None,
        _ if lines(input).iter().any(|(_, l)| is_000(l)) => Some(Category::Misplaced000),
        _ => Some(Category::Missing000),
    }
}

fn read_lines(input: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    for (offset, line) in lines(input) {
        if line.len() < 3 {
            items.push(Item::Error {
                offset,
                category: Category::TruncatedRecord,
            });
            continue;
        }
        let layouts = layouts_of(&line);
        if !digits_ok(&line[..3]) || layouts.is_empty() {
            items.push(unknown(offset, &line));
            continue;
        }
        match layouts
            .iter()
            .find(|l| line.len() <= l.len || all_blank(&line[l.len..]))
        {
            Some(l) => items.push(record(offset, l, &line[..line.len().min(l.len)])),
            None => items.push(Item::Error {
                offset,
                category: Category::LineTooLong,
            }),
        }
    }
    items
}

fn skip(input: &[u8], mut pos: usize) -> usize {
    while pos < input.len() && matches!(input[pos], b'\r' | b'\n' | 0x1A) {
        pos += 1;
    }
    pos
}

fn read_concatenated(input: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut pos = skip(input, 0);
    while pos < input.len() {
        let rest = &input[pos..];
        if rest.len() < 3 {
            items.push(Item::Error {
                offset: pos,
                category: Category::TruncatedRecord,
            });
            return items;
        }
        let layouts = layouts_of(rest);
        if !digits_ok(&rest[..3]) || layouts.is_empty() {
            items.push(Item::Error {
                offset: pos,
                category: Category::UnknownRecordType,
            });
            return items;
        }
        let fits: Vec<_> = layouts.iter().filter(|l| l.len <= rest.len()).collect();
        let followed = |l: &&&Layout| {
            let next = skip(input, pos + l.len);
            next >= input.len()
                || (digits_ok(&input[next..(next + 3).min(input.len())])
                    && input.len() - next >= 3
                    && !layouts_of(&input[next..]).is_empty())
        };
        let Some(chosen) = fits.iter().find(|l| followed(l)).or(fits.first()) else {
            items.push(Item::Error {
                offset: pos,
                category: Category::TruncatedRecord,
            });
            return items;
        };
        let shorter = layouts
            .iter()
            .find(|l| l.len < chosen.len && all_blank(&rest[l.len..chosen.len]));
        let layout = shorter.unwrap_or(chosen);
        items.push(record(pos, layout, &rest[..layout.len]));
        pos = skip(input, pos + chosen.len);
    }
    items
}
