//! Lenient mode (docs/rules.md §6.3): a malformed person block is set aside with its reason and
//! the rest of the day is delivered.
//!
//! What is a block's fault, and so set aside: any error inside the lines of one person block
//! (a bad field, a bad PNR, a line too long, a short line, a block that does not start with
//! 001, a stray 003/997/910 or undefined record type among the blocks) and every block of a
//! person that has more than one (duplicate-person: which one is right cannot be told, so none
//! is delivered). What stops the run as in strict mode: the file's frame (no 000, no 999, a 000
//! or 999 among the blocks, a record after the 999), a counter mismatch, an error in the 000,
//! 997, 003 tail, 999 or 910 records, concatenated framing that cannot be followed (nothing
//! after a cut record can be found), and a sequence gap.

use std::ops::Range;
use std::path::Path;

use cprsift_errors::Category;
use cprsift_format::{CheckedExtract, Framing, ParseError, RecordType};
use serde::{Deserialize, Serialize};

/// One person block (or the stray lines standing where a block should) set aside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    /// Byte offset of its first record in the extract.
    pub offset: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Line (or record number, in concatenated framing) of the error.
    pub line: u64,
    /// The person, masked, when positions 4-13 hold a PNR.
    pub person: Option<String>,
    /// The stable category of the (first) error.
    pub category: cprsift_errors::Category,
    /// The error as the operator reads it: file, line, byte, record type, field, person
    /// (masked), what was expected.
    pub reason: String,
}

impl SetAside {
    /// Its byte range in the extract.
    pub fn range(&self) -> Range<usize> {
        self.offset as usize..(self.offset + self.bytes) as usize
    }
}

/// The blocks set aside, in input order: what the manifest shows (each entry with its byte
/// range, for the reject file) and the reader's indices of the person blocks among them (what
/// the day index and the replica leave out).
#[derive(Debug, Default)]
pub struct SetAsideBlocks {
    /// What the report and the manifest show, ascending by offset.
    pub entries: Vec<SetAside>,
    /// The reader's indices of the person blocks set aside, ascending (stray records have
    /// none).
    pub blocks: Vec<usize>,
}

impl SetAsideBlocks {
    /// True when `offset` lies inside a block set aside.
    fn covers(&self, offset: usize) -> bool {
        let i = self.entries.partition_point(|e| e.range().start <= offset);
        i > 0 && self.entries[i - 1].range().contains(&offset)
    }

    /// Sorts an extract that failed validation into the blocks (and stray records) set aside
    /// and the rest, or returns the error that stops a lenient run as it stops a strict one
    /// (see the module documentation), with its line filled in. `path` names the file in the
    /// reasons.
    pub fn sort(checked: &CheckedExtract<'_>, path: &Path) -> Result<SetAsideBlocks, ParseError> {
        let report = checked.report();
        let stop = |e: ParseError| {
            let mut one = [e];
            checked.locate(&mut one);
            let [e] = one;
            e
        };
        checked.frame()?;
        let mut items: Vec<(Range<usize>, Option<usize>, ParseError)> = Vec::new();
        let mut accounted = 0u64;
        for (i, facts) in checked.blocks().iter().enumerate() {
            if !facts.is_faulty() {
                continue;
            }
            let errors = checked.block_errors(i);
            accounted += errors.len() as u64;
            let first = errors.into_iter().next().unwrap_or_else(|| {
                ParseError::new(
                    Category::DuplicatePerson,
                    facts.offset(),
                    "this person has more than one block in the file; every one is set aside",
                )
                .with_record_type(Some(RecordType::PERSON))
                .with_person(Some(facts.pnr()))
            });
            let range = checked
                .block_range(i)
                .unwrap_or(facts.offset()..facts.offset());
            items.push((range, Some(i), first));
        }
        for (i, range) in checked.strays().enumerate() {
            let Some(e) = checked.stray_error(i) else {
                continue;
            };
            if is_file_level(&e, checked.framing()) {
                return Err(stop(e));
            }
            accounted += 1;
            items.push((range, None, e));
        }
        items.sort_by_key(|(range, _, _)| range.start);
        let mut errors: Vec<ParseError> = items.iter().map(|(_, _, e)| e.clone()).collect();
        checked.locate(&mut errors);
        let mut out = SetAsideBlocks::default();
        for ((range, block, _), error) in items.into_iter().zip(&errors) {
            out.entries.push(SetAside {
                offset: range.start as u64,
                bytes: range.len() as u64,
                line: error.position.line,
                person: error.person.map(|p| p.masked().to_string()),
                category: error.category,
                reason: error.in_file(path).to_string(),
            });
            out.blocks.extend(block);
        }
        out.blocks.sort_unstable();
        // Every error must lie in what was set aside: one that does not (in the 000, 997, 003
        // tail, 999 or 910 records, the counter) stops the run. The counts can differ only
        // when such an error exists, so one is always found (the report's first, else the
        // first set aside, are the fallbacks of a count that disagrees with no error).
        if accounted != report.error_count {
            let outside = report
                .errors
                .iter()
                .find(|e| !out.covers(e.position.offset as usize))
                .or(report.errors.first())
                .cloned()
                .map(stop)
                .or_else(|| errors.into_iter().next());
            if let Some(e) = outside {
                return Err(e);
            }
        }
        Ok(out)
    }

    /// The reject file: for each block a `#` line with its reason, then its bytes verbatim
    /// (a line end is added when they do not end with one). A CPR record never starts with
    /// `#`, so the file splits back into blocks unambiguously.
    pub fn reject_file(&self, input: &[u8], extract_name: &str) -> Vec<u8> {
        let mut out = format!(
            "# cprsift reject file of {extract_name}: {} person block(s) set aside (lenient mode)\n",
            self.entries.len()
        )
        .into_bytes();
        for (n, entry) in self.entries.iter().enumerate() {
            let reason = entry.reason.replace(['\n', '\r'], " ");
            out.extend_from_slice(
                format!(
                    "# block {}: {} bytes at byte {}: [{}] {reason}\n",
                    n + 1,
                    entry.bytes,
                    entry.offset,
                    entry.category
                )
                .as_bytes(),
            );
            let bytes = input.get(entry.range()).unwrap_or_default();
            out.extend_from_slice(bytes);
            if bytes.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        out
    }
}

/// True for errors that belong to the file, not to one block: they stop a lenient run too.
fn is_file_level(e: &ParseError, framing: Framing) -> bool {
    matches!(
        e.category,
        Category::Missing000
            | Category::Misplaced000
            | Category::Missing999
            | Category::RecordAfter999
            | Category::CounterMismatch
    ) || (framing == Framing::Concatenated && e.category == Category::TruncatedRecord)
}
