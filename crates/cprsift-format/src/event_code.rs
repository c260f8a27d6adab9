//! The event code of a 099 record (HAENDELSE): a CPR value, like [`crate::Pnr`], used by the
//! reader (each block's events), the subscriptions (change-code filters) and the engine.

use std::fmt;

/// A 3-character event code (HAENDELSE of a 099 record): `[A-Z][0-9]{2}`.
///
/// It lives in the format crate because it is a value of the extract: the reader collects each
/// person block's codes, and the subscriptions and the engine compare them with the same type.
/// Text typed by a person is read with [`EventCode::parse`]; the subscriptions crate turns a
/// refusal into its own printable error.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventCode([u8; 3]);

impl EventCode {
    /// Checks and wraps the three bytes of a code; `None` unless they are `[A-Z][0-9]{2}`.
    /// Suits reading HAENDELSE straight from a record (a field cut short by a trimmed line
    /// has fewer than three bytes and is no code).
    pub fn from_bytes(bytes: &[u8]) -> Option<EventCode> {
        match bytes {
            [a, b, c] if a.is_ascii_uppercase() && b.is_ascii_digit() && c.is_ascii_digit() => {
                Some(EventCode([*a, *b, *c]))
            }
            _ => None,
        }
    }

    /// Reads a code as typed; surrounding blanks are ignored, letters must be capitals.
    /// `None` for anything else (callers that talk to people say why in their own words).
    pub fn parse(text: &str) -> Option<EventCode> {
        EventCode::from_bytes(text.trim().as_bytes())
    }

    /// The three bytes.
    pub fn as_bytes(&self) -> &[u8; 3] {
        &self.0
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventCode({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_a_capital_and_two_digits() {
        assert_eq!(
            EventCode::parse(" A01 ").map(|c| c.to_string()).as_deref(),
            Some("A01")
        );
        for bad in ["a01", "A1", "A011", "AA1", "101", ""] {
            assert_eq!(EventCode::parse(bad), None, "{bad}");
        }
        assert_eq!(EventCode::from_bytes(b"A0"), None);
    }
}
