//! PNR lists read straight into roaring bitmaps, before the TOML parser sees the file.
//!
//! A subscription file can hold tens of millions of PNRs; a generic TOML parser builds a
//! document tree with a node (and a string) per value, which costs about 200 bytes per PNR.
//! [`lift`] walks the text once, with TOML's lexical rules for strings, comments and
//! brackets, finds every `pnr = [ ... ]` key of a `[[subscriber]]` table whose elements are
//! plain strings, reads them into a bitmap (validated with [`parse_pnr`], the first refusal
//! kept with its byte offset), and hands the TOML parser a copy of the file where each such
//! array is `[]`. An array the walk does not recognise (escapes, a value of another type, a
//! syntax error, a quoted or dotted key) is left in place: the TOML parser reads it and
//! reports it as before, so the result and the error messages are the same either way.
//! [`ArrayMap::original_offset`] maps an offset in the reduced text back to the file.

use std::ops::Range;

use roaring::RoaringBitmap;

use crate::error::InvalidValue;
use crate::values::parse_pnr;

/// One PNR array taken out of the text.
#[derive(Debug)]
pub(crate) struct LiftedArray {
    /// Where `[]` stands in the reduced text.
    pub reduced_start: usize,
    /// The array's bytes in the original text.
    pub original: Range<usize>,
}

/// A lifted array's PNRs, or the first one refused with the offset of its opening quote.
pub(crate) type LiftedPnrs = Result<RoaringBitmap, (usize, InvalidValue)>;

/// The file with its PNR arrays lifted out.
#[derive(Debug)]
pub(crate) struct Lifted {
    /// The text the TOML parser reads.
    pub reduced: String,
    /// Where the arrays were, in text order.
    pub map: ArrayMap,
    /// Their PNRs, in the same order.
    pub pnrs: Vec<LiftedPnrs>,
}

/// Where the lifted arrays were: maps the reduced text's offsets to the file's.
#[derive(Debug, Default)]
pub(crate) struct ArrayMap {
    /// The arrays, in text order.
    pub arrays: Vec<LiftedArray>,
}

impl ArrayMap {
    /// The index of the array whose `[]` starts at `reduced_start`, if it was lifted.
    pub fn array_at(&self, reduced_start: usize) -> Option<usize> {
        self.arrays
            .binary_search_by_key(&reduced_start, |a| a.reduced_start)
            .ok()
    }

    /// The offset in the original text of an offset in the reduced text (inside a lifted
    /// `[]`: the array's start).
    pub fn original_offset(&self, reduced: usize) -> usize {
        let i = self.arrays.partition_point(|a| a.reduced_start <= reduced);
        let Some(a) = i.checked_sub(1).map(|i| &self.arrays[i]) else {
            return reduced;
        };
        let within = reduced - a.reduced_start;
        if within < 2 {
            a.original.start + within.min(a.original.len().saturating_sub(1))
        } else {
            a.original.end + (within - 2)
        }
    }
}

/// Takes the PNR arrays of `[[subscriber]]` tables out of `text` (see the module docs).
pub(crate) fn lift(text: &str) -> Lifted {
    let b = text.as_bytes();
    let mut lifted = Lifted {
        reduced: String::new(),
        map: ArrayMap::default(),
        pnrs: Vec::new(),
    };
    let mut copied = 0; // text[..copied] is in `reduced`
    let mut in_subscriber = false;
    let mut pos = 0;
    loop {
        pos = skip_blank(b, pos, true);
        let Some(&c) = b.get(pos) else { break };
        if c == b'[' {
            in_subscriber = is_subscriber_header(&b[pos..]);
        } else if in_subscriber {
            if let Some(value) = pnr_value_start(b, pos) {
                if let Some((end, pnrs)) = read_array(text, value) {
                    lifted.reduced.push_str(&text[copied..value]);
                    lifted.map.arrays.push(LiftedArray {
                        reduced_start: lifted.reduced.len(),
                        original: value..end,
                    });
                    lifted.pnrs.push(pnrs);
                    lifted.reduced.push_str("[]");
                    copied = end;
                    pos = end;
                }
            }
        }
        pos = skip_expression(b, pos);
    }
    lifted.reduced.push_str(&text[copied..]);
    lifted
}

/// Skips spaces, tabs, comments and (when `newlines`) line ends.
fn skip_blank(b: &[u8], mut pos: usize, newlines: bool) -> usize {
    while let Some(&c) = b.get(pos) {
        match c {
            b' ' | b'\t' => pos += 1,
            b'\r' | b'\n' if newlines => pos += 1,
            b'#' => {
                while b.get(pos).is_some_and(|&c| c != b'\n') {
                    pos += 1;
                }
            }
            _ => break,
        }
    }
    pos
}

/// True for a header `[[ subscriber ]]` (blanks allowed inside the brackets).
fn is_subscriber_header(b: &[u8]) -> bool {
    let Some(rest) = b.strip_prefix(b"[[") else {
        return false;
    };
    let rest = &rest[skip_blank(rest, 0, false).min(rest.len())..];
    let Some(rest) = rest.strip_prefix(b"subscriber") else {
        return false;
    };
    let rest = &rest[skip_blank(rest, 0, false).min(rest.len())..];
    rest.starts_with(b"]]")
}

/// For a line `pnr = [`, the position of the `[`.
fn pnr_value_start(b: &[u8], pos: usize) -> Option<usize> {
    let rest = b.get(pos..)?.strip_prefix(b"pnr")?;
    let after_key = pos + 3;
    let eq = skip_blank(b, after_key, false);
    if rest.first().is_some_and(|&c| is_bare_key_char(c)) || b.get(eq) != Some(&b'=') {
        return None;
    }
    let value = skip_blank(b, eq + 1, false);
    (b.get(value) == Some(&b'[')).then_some(value)
}

fn is_bare_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Reads an array of plain one-line strings starting at `start` (a `[`). Returns the offset
/// after its `]` and the PNRs, or `None` when the array holds anything else.
fn read_array(text: &str, start: usize) -> Option<(usize, LiftedPnrs)> {
    let b = text.as_bytes();
    // Keys are gathered and sorted first: a bitmap built in order is several times faster
    // than one built by random inserts.
    let mut keys: Result<Vec<u32>, (usize, InvalidValue)> = Ok(Vec::new());
    let done = |end: usize, keys: Result<Vec<u32>, _>| {
        let pnrs = keys.map(|mut k| {
            k.sort_unstable();
            k.dedup();
            RoaringBitmap::from_sorted_iter(k).unwrap_or_default()
        });
        Some((end, pnrs))
    };
    let mut pos = start + 1;
    loop {
        pos = skip_blank(b, pos, true);
        match b.get(pos)? {
            b']' => return done(pos + 1, keys),
            &quote @ (b'"' | b'\'') => {
                let content = plain_string(b, pos, quote)?;
                if let Ok(list) = &mut keys {
                    match parse_pnr(text.get(content.clone())?) {
                        Ok(pnr) => list.push(pnr.key()),
                        Err(e) => keys = Err((pos, e)),
                    }
                }
                pos = skip_blank(b, content.end + 1, true);
                match b.get(pos)? {
                    b',' => pos += 1,
                    b']' => return done(pos + 1, keys),
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// The content of a one-line string at `pos` that needs no decoding: no escape, no control
/// character, not a multi-line string. `None` otherwise.
fn plain_string(b: &[u8], pos: usize, quote: u8) -> Option<Range<usize>> {
    let from = pos + 1;
    let mut end = from;
    loop {
        match *b.get(end)? {
            c if c == quote => break,
            b'\\' | b'\x7f' => return None,
            c if c < 0x20 && c != b'\t' => return None,
            _ => end += 1,
        }
    }
    // `""` or `''` followed by the same quote opens a multi-line string.
    (end > from || b.get(end + 1) != Some(&quote)).then_some(from..end)
}

/// Skips the rest of a TOML expression (a header or a key/value line, with any multi-line
/// array or string), following strings, comments and brackets; stops after its line end.
fn skip_expression(b: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&c) = b.get(pos) {
        match c {
            b'\n' if depth == 0 => return pos + 1,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'#' => {
                while b.get(pos + 1).is_some_and(|&c| c != b'\n') {
                    pos += 1;
                }
            }
            b'"' | b'\'' => {
                pos = skip_string(b, pos);
                continue;
            }
            _ => {}
        }
        pos += 1;
    }
    pos
}

/// The offset after the string starting at `pos` (any of TOML's four kinds). An unterminated
/// one-line string ends at its line end (the TOML parser reports it).
fn skip_string(b: &[u8], pos: usize) -> usize {
    let quote = b[pos];
    let escapes = quote == b'"';
    if b.get(pos..pos + 3) == Some(&[quote; 3][..]) {
        let mut p = pos + 3;
        while p < b.len() {
            if escapes && b[p] == b'\\' {
                p += 2;
            } else if b[p] == quote {
                // Three quotes close; up to two more before them belong to the content.
                let run = b[p..].iter().take_while(|&&c| c == quote).count();
                if run >= 3 {
                    return p + run.min(5);
                }
                p += run;
            } else {
                p += 1;
            }
        }
        return p;
    }
    let mut p = pos + 1;
    while let Some(&c) = b.get(p) {
        match c {
            b'\\' if escapes => p += 2,
            b'\n' => return p,
            c if c == quote => return p + 1,
            _ => p += 1,
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifts_plain_pnr_arrays_of_subscriber_tables_only() {
        let text = "# x = \"[[subscriber]]\"\n[[subscriber]]\nid = \"a\"\npnr = [\n  \"0101651234\", # c\n  '0202651234',\n]\nnote = \"\"\"\npnr = [\"0101651234\"]\n\"\"\"\n[other]\npnr = [\"0101651234\"]\n[[ subscriber ]]\npnr=[\"0101651234\" ,\"bad\"]\npnr_x = [\"0101651234\"]\npnr = [\"a\\u0041\"]\n";
        let l = lift(text);
        assert_eq!(l.map.arrays.len(), 2, "{l:?}");
        assert_eq!(l.pnrs[0].as_ref().unwrap().len(), 2);
        let (at, e) = l.pnrs[1].as_ref().unwrap_err();
        assert_eq!(&text[*at..*at + 5], "\"bad\"");
        assert!(e.to_string().contains("10 digits"), "{e}");
        assert!(l.reduced.contains("\npnr = []\nnote"));
        assert!(l.reduced.contains("[other]\npnr = [\"0101651234\"]"));
        assert!(l.reduced.contains("pnr_x = [\"0101651234\"]"));
        assert!(l.reduced.contains("pnr = [\"a\\u0041\"]"));
        let m = &l.map;
        for a in &m.arrays {
            assert_eq!(m.original_offset(a.reduced_start), a.original.start);
            assert_eq!(&l.reduced[a.reduced_start..a.reduced_start + 2], "[]");
        }
        // Offsets after a lifted array map past it.
        let after = m.arrays[0].reduced_start + 2;
        assert_eq!(m.original_offset(after), m.arrays[0].original.end);
        assert_eq!(m.original_offset(0), 0);
    }
}
