//! PNR list files for the bulk operations: one PNR per line, blank lines and `#` comments
//! allowed (a `#` starts a comment anywhere on a line), LF or CRLF, an optional UTF-8 byte order
//! mark. Lines are numbered from 1.

use std::path::{Path, PathBuf};

use cprsift_format::Pnr;

use crate::error::{Field, InvalidValue, RejectedLine, SubscriptionError};
use crate::values::parse_pnr;

/// A parsed PNR list: the valid PNRs in file order (with their line numbers) and the rejected
/// lines.
#[derive(Debug, Clone, Default)]
pub struct PnrList {
    /// The file the list came from (for messages).
    pub file: PathBuf,
    /// Valid PNRs with their 1-based line numbers, in file order (duplicates kept).
    pub pnrs: Vec<(usize, Pnr)>,
    /// Lines that are not a valid PNR.
    pub rejected: Vec<RejectedLine>,
}

impl PnrList {
    /// Reads and parses a list file.
    pub fn read(path: &Path) -> Result<PnrList, SubscriptionError> {
        let bytes = std::fs::read(path).map_err(|e| SubscriptionError::io(path, e))?;
        Ok(PnrList::parse(path, &bytes))
    }

    /// Parses the bytes of a list file; `file` only names it in messages.
    pub fn parse(file: &Path, bytes: &[u8]) -> PnrList {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut list = PnrList {
            file: file.to_owned(),
            ..PnrList::default()
        };
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            let content = raw.split(|&b| b == b'#').next().unwrap_or_default();
            let result = match std::str::from_utf8(content) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => parse_pnr(text),
                Err(_) => Err(InvalidValue::new(
                    Field::Pnr,
                    "(not text)",
                    "the line is not UTF-8 text",
                )),
            };
            match result {
                Ok(pnr) => list.pnrs.push((line, pnr)),
                Err(problem) => list.rejected.push(RejectedLine { line, problem }),
            }
        }
        list
    }

    /// The error refusing this list because of its rejected lines.
    pub(crate) fn refusal(&self) -> SubscriptionError {
        SubscriptionError::PnrList {
            file: self.file.clone(),
            rejected: self.rejected.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_crlf_and_rejects() {
        let text = b"\xEF\xBB\xBF# header\r\n0101651234\r\n\r\n  0202651234  # Jens\n010165123\n3213651234\n\xFF\xFE\n010165-1234";
        let list = PnrList::parse(Path::new("list.txt"), text);
        let lines: Vec<usize> = list.pnrs.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 4, 8]);
        assert_eq!(list.pnrs[0].1, list.pnrs[2].1, "dash form is the same PNR");
        let rejected: Vec<usize> = list.rejected.iter().map(|r| r.line).collect();
        assert_eq!(rejected, vec![5, 6, 7]);
        let message = list.refusal().to_string();
        assert!(
            message.contains("list.txt: 3 invalid line(s): line 5"),
            "{message}"
        );
        assert!(message.contains("321365-xxxx"), "{message}");
        assert!(!message.contains("3213651234"), "{message}");
    }
}
