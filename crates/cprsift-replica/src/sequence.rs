//! The sequence rules (docs/rules.md §5.5): where a change extract stands against the replica,
//! decided by its dates, its job number and its content identity. One rule, used by
//! [`crate::Replica::sequence`] (which the nightly run asks before delivering anything), by the
//! chain check of a multi-file apply (against the replica advanced by the files before it in
//! the call) and by the apply of each file.

use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use cprsift_format::{ContentId, Header};

use crate::dir::Manifest;
use crate::error::ReplicaError;

/// Where a change extract stands against the replica, when it may be applied at all. The
/// refusals (a gap, another extract under a date the replica knows, another job number) are
/// errors ([`ReplicaError::SequenceGap`], [`ReplicaError::DifferentExtract`],
/// [`ReplicaError::OpgavenrMismatch`]), so that a caller cannot mistake one for a go-ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequence {
    /// PRODDTOFORRIG is the replica's PRODDTO (and the job number is the one expected, or
    /// accepted): the file is the next one and applies.
    Next,
    /// The replica has applied this very extract (same PRODDTO, same content identity): there
    /// is nothing to do.
    AlreadyApplied,
}

/// Why a file under a date the replica already holds is not the extract it applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference {
    /// An extract of this PRODDTO was applied (or comes earlier in the same call) with another
    /// content: two different files claim one day.
    OtherContent {
        /// The PRODDTO both claim.
        proddto: NaiveDate,
        /// The identity of the extract applied (or given earlier in the call).
        applied: ContentId,
        /// The identity of this file.
        file: ContentId,
        /// True when the other extract is a file earlier in the same call, not yet applied.
        in_call: bool,
    },
    /// The file's PRODDTO is not newer than the replica's, but the replica never applied an
    /// extract of that date: it is not part of the replica's chain.
    NeverApplied {
        /// The file's PRODDTO.
        proddto: NaiveDate,
        /// The replica's PRODDTO.
        replica: NaiveDate,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::OtherContent {
                proddto,
                applied,
                file,
                in_call,
            } => write!(
                f,
                "{} of {proddto} has another content ({}) than this file ({}): two different \
                 files claim the same day",
                if *in_call {
                    "another file of this call"
                } else {
                    "the extract the replica applied"
                },
                short_id(applied),
                short_id(file)
            ),
            Difference::NeverApplied { proddto, replica } => write!(
                f,
                "this file is of {proddto}, not newer than the replica ({replica}), but the \
                 replica never applied an extract of that date"
            ),
        }
    }
}

/// The short form of a content identity an operator compares by eye: `blake3:` and the first
/// 16 hex digits.
pub fn short_id(id: &ContentId) -> String {
    let text = id.to_string();
    text.get(..23).unwrap_or(&text).to_string()
}

/// An extract the replica knows under a date: applied, or earlier in the same call.
#[derive(Clone, Copy)]
struct Known {
    proddto: NaiveDate,
    /// `None` for a history entry written before identities were recorded.
    id: Option<ContentId>,
    in_call: bool,
}

/// Why the rule refuses a file, before the file's path is attached.
pub(crate) enum Refusal {
    Gap { follows: NaiveDate },
    Different(Difference),
    Opgavenr { expected: [u8; 6] },
}

/// What the rule needs of a replica: its date and job number, whether a change extract was
/// applied since `init`, and the extracts it knows by date. Advanced by each file of a call.
pub(crate) struct Standing {
    /// The replica's PRODDTO before the call (named in gap errors).
    replica: NaiveDate,
    proddto: NaiveDate,
    opgavenr: [u8; 6],
    /// A change extract has been applied (the history holds more than the full extract).
    changes_applied: bool,
    known: Vec<Known>,
}

impl Standing {
    /// The standing of the replica whose current manifest is `manifest` (job number `opgavenr`).
    pub fn of(manifest: &Manifest, opgavenr: [u8; 6]) -> Standing {
        Standing {
            replica: manifest.proddto,
            proddto: manifest.proddto,
            opgavenr,
            changes_applied: manifest.history.len() > 1,
            known: manifest
                .history
                .iter()
                .map(|a| Known {
                    proddto: a.proddto,
                    id: a.content_id,
                    in_call: false,
                })
                .collect(),
        }
    }

    /// The rule (docs/rules.md §5.5):
    /// 1. PRODDTO not newer than the replica's: already applied when an extract of that date
    ///    with the same identity is known (or one recorded without identity, by an older
    ///    version: the date is all there is to compare); otherwise another extract.
    /// 2. Otherwise PRODDTOFORRIG must be the replica's PRODDTO, else a gap.
    /// 3. And once a change extract has been applied, the job number must be the last one
    ///    applied, or the one `accept_opgavenr` names. The first change extract after `init`
    ///    may carry any (a full extract's job differs from the daily job's).
    pub fn decide(
        &self,
        header: &Header,
        id: ContentId,
        accept_opgavenr: Option<[u8; 6]>,
    ) -> Result<Sequence, Refusal> {
        if header.proddto <= self.proddto {
            let same_day = || self.known.iter().filter(|k| k.proddto == header.proddto);
            if same_day().any(|k| k.id.is_none_or(|known| known == id)) {
                return Ok(Sequence::AlreadyApplied);
            }
            return Err(Refusal::Different(
                match same_day().find_map(|k| k.id.map(|applied| (applied, k.in_call))) {
                    Some((applied, in_call)) => Difference::OtherContent {
                        proddto: header.proddto,
                        applied,
                        file: id,
                        in_call,
                    },
                    None => Difference::NeverApplied {
                        proddto: header.proddto,
                        replica: self.proddto,
                    },
                },
            ));
        }
        if header.proddto_forrig != Some(self.proddto) {
            return Err(Refusal::Gap {
                follows: self.proddto,
            });
        }
        if self.changes_applied
            && header.opgavenr != self.opgavenr
            && accept_opgavenr != Some(header.opgavenr)
        {
            return Err(Refusal::Opgavenr {
                expected: self.opgavenr,
            });
        }
        Ok(Sequence::Next)
    }

    /// The standing after `header`'s extract (identity `id`) is applied.
    pub fn advance(&mut self, header: &Header, id: ContentId) {
        self.proddto = header.proddto;
        self.opgavenr = header.opgavenr;
        self.changes_applied = true;
        self.known.push(Known {
            proddto: header.proddto,
            id: Some(id),
            in_call: true,
        });
    }

    /// The rule's refusal as the error naming `path`.
    pub fn error(&self, refusal: Refusal, path: &Path, header: &Header) -> ReplicaError {
        let path = path.to_path_buf();
        match refusal {
            Refusal::Gap { follows } => ReplicaError::SequenceGap {
                path,
                replica: self.replica,
                follows: Some(follows),
                proddto: header.proddto,
                proddto_forrig: header.proddto_forrig,
            },
            Refusal::Different(reason) => ReplicaError::DifferentExtract {
                path,
                reason: Box::new(reason),
            },
            Refusal::Opgavenr { expected } => ReplicaError::OpgavenrMismatch {
                path,
                replica: expected,
                file: header.opgavenr,
            },
        }
    }
}
