//! The content identity of an extract: the BLAKE3 hash of its bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The identity of an extract's content: the BLAKE3 hash of every byte of the file, written
/// `blake3:<64 lowercase hex digits>`.
///
/// Two deliveries with the same identity are the same file whatever their names, so manifests
/// record it to tell "already delivered" or "already applied" from a new file. The reader
/// computes it over the same mapping it validates, concurrently with the walk
/// ([`crate::CheckedExtract::read`]), so the file is not read twice.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentId([u8; 32]);

/// The prefix naming the hash function in the text form.
const PREFIX: &str = "blake3:";

/// Below this size one thread hashes faster than a split across the pool.
const PARALLEL_FROM: usize = 128 * 1024;

impl ContentId {
    /// Hashes `input` on the current rayon pool (one thread for small inputs).
    pub fn of(input: &[u8]) -> ContentId {
        let mut hasher = blake3::Hasher::new();
        if input.len() < PARALLEL_FROM {
            hasher.update(input);
        } else {
            hasher.update_rayon(input);
        }
        ContentId(*hasher.finalize().as_bytes())
    }

    /// Wraps 32 hash bytes (as stored in a binary index).
    pub fn from_bytes(bytes: [u8; 32]) -> ContentId {
        ContentId(bytes)
    }

    /// The 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

/// Why a text is not a content identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadContentId(String);

impl fmt::Display for BadContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a content identity (blake3: and 64 hex digits)",
            self.0
        )
    }
}

impl std::error::Error for BadContentId {}

impl FromStr for ContentId {
    type Err = BadContentId;

    /// Reads `blake3:<64 hex digits>` (either letter case).
    fn from_str(text: &str) -> Result<ContentId, BadContentId> {
        let bad = || {
            // A wrong text is echoed in errors; keep it short.
            BadContentId(text.chars().take(80).collect())
        };
        let hex = text.strip_prefix(PREFIX).ok_or_else(bad)?.as_bytes();
        if hex.len() != 64 {
            return Err(bad());
        }
        let nibble = |c: u8| char::from(c).to_digit(16);
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let (hi, lo) = (
                nibble(pair[0]).ok_or_else(bad)?,
                nibble(pair[1]).ok_or_else(bad)?,
            );
            *slot = (hi * 16 + lo) as u8;
        }
        Ok(ContentId(out))
    }
}

impl Serialize for ContentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ContentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ContentId, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hash_round_trips_as_text() {
        // BLAKE3 of the empty input, from the reference implementation's test vectors.
        let empty = ContentId::of(b"");
        let text = "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
        assert_eq!(empty.to_string(), text);
        assert_eq!(text.parse::<ContentId>(), Ok(empty));
        assert_eq!(
            text.to_uppercase().replace("BLAKE3", "blake3").parse(),
            Ok(empty)
        );
        for bad in [
            "",
            "blake3:",
            "sha256:af13",
            &text[..70],
            &format!("{text}0"),
        ] {
            assert!(bad.parse::<ContentId>().is_err(), "{bad}");
        }
        assert!(text.replace('a', "g").parse::<ContentId>().is_err());
    }

    #[test]
    fn large_inputs_hash_alike_on_one_thread_and_many() {
        let input: Vec<u8> = (0..3 * PARALLEL_FROM)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let one = blake3::hash(&input);
        assert_eq!(ContentId::of(&input).as_bytes(), one.as_bytes());
    }
}
