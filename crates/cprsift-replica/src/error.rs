//! What can go wrong with a replica, as data: every variant names the file or directory it
//! concerns, and input errors carry the format crate's [`ParseError`] with its position.

use std::io;
use std::path::PathBuf;

use chrono::NaiveDate;
use cprsift_errors::{Categorized, Category};
use cprsift_format::{InvalidExtract, ParseError};
use cprsift_io::error::{classify, Classified};

use crate::sequence::Difference;

/// An error of a replica operation. Input problems (the extract files) and replica problems
/// (the directory) are told apart so that the CLI can map them to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// Reading or writing a file failed (disk full, permissions, a vanished file).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The extract cannot be read at all (no 000, no 999, ...), or its 000 lacks what the
    /// replica needs (PRODDTO, a 6-digit OPGAVENR).
    #[error("{}", error.in_file(path))]
    Input {
        /// The extract file.
        path: PathBuf,
        /// The error, located (line and byte offset). Boxed, as the other large parts of this
        /// type: errors travel in every `Result`, and callers wrap them in their own.
        error: Box<ParseError>,
    },
    /// The extract has errors (strict mode): nothing was stored.
    #[error(transparent)]
    Invalid(InvalidExtract),
    /// PRODDTOFORRIG is not the replica's PRODDTO and the file is newer: files are missing.
    /// Nothing of the call was applied.
    #[error(
        "{}: the replica's last applied extract is of {replica}{}; this file is of \
         {proddto} and follows the one of {}; the extracts in between are missing, nothing was \
         applied",
        path.display(),
        follows.filter(|f| f != replica).map_or(String::new(), |f| format!(
            " (and the files before this one in the same call would bring it to {f})"
        )),
        proddto_forrig.map_or("nothing (PRODDTOFORRIG is zeros)".to_string(), |d| d.to_string())
    )]
    SequenceGap {
        /// The change extract.
        path: PathBuf,
        /// The replica's PRODDTO.
        replica: NaiveDate,
        /// The date the file would have to follow, after the files before it in the call.
        follows: Option<NaiveDate>,
        /// The file's PRODDTO.
        proddto: NaiveDate,
        /// The file's PRODDTOFORRIG.
        proddto_forrig: Option<NaiveDate>,
    },
    /// The file names an extract the replica already holds by date (its PRODDTO is not newer
    /// than the replica's) but is not that extract: another content under an applied date, or
    /// a date the replica never applied. Nothing of the call was applied.
    #[error("{}: {reason}; nothing was applied", path.display())]
    DifferentExtract {
        /// The change extract.
        path: PathBuf,
        /// How it differs (boxed: it holds two identities, and errors travel in `Result`s).
        reason: Box<Difference>,
    },
    /// A change extract of another job number (OPGAVENR) than the last change extract applied,
    /// and not accepted by the call (`ApplyOptions::accept_opgavenr`). Nothing of the call was
    /// applied.
    #[error(
        "{}: this change extract is of job number (OPGAVENR) {}, the replica's last applied          change extract of {}; nothing was applied (to change the job number on purpose,          accept the new one: --accept-opgavenr {})",
        path.display(),
        digits(file),
        digits(replica),
        digits(file)
    )]
    OpgavenrMismatch {
        /// The change extract.
        path: PathBuf,
        /// The job number the replica expects: that of the last change extract applied.
        replica: [u8; 6],
        /// The file's job number.
        file: [u8; 6],
    },
    /// The directory does not hold a replica.
    #[error("{}: not a replica: {reason}", dir.display())]
    NotAReplica {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// The replica's files contradict each other or their format.
    #[error("{}: the replica is damaged: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another process holds the replica's lock (an init or apply is running) after the
    /// bounded wait (`cprsift_io::lock::LOCK_WAIT`).
    #[error("{}: another cprsift process is changing this replica (its LOCK is held)", dir.display())]
    Locked {
        /// The replica directory.
        dir: PathBuf,
    },
    /// `init` was pointed at a directory that already holds something.
    #[error("{}: {reason}; init needs a new or empty directory", dir.display())]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
        /// What is there.
        reason: String,
    },
    /// A person or field does not fit the index's fixed-width fields.
    #[error("{}: person {person}: {reason}", path.display())]
    TooLarge {
        /// The extract file.
        path: PathBuf,
        /// The person, masked.
        person: String,
        /// What does not fit.
        reason: String,
    },
    /// A name in the replica folder (or the folder itself, or an export's target) is a link or
    /// not what cprsift writes there: refused, nothing written through it.
    #[error("{0}")]
    UnsafePath(cprsift_io::error::UnsafePath),
    /// A failpoint stopped the operation where a crash would (tests only; no clean-up done).
    #[error("{0}")]
    InjectedCrash(cprsift_io::failpoint::Crash),
}

/// A job number as text (six ASCII digits, checked where it was read).
fn digits(opgavenr: &[u8; 6]) -> String {
    String::from_utf8_lossy(opgavenr).into_owned()
}

impl ReplicaError {
    /// Wraps an I/O error with the path it concerns.
    /// A refusal, a held lock or a failpoint's crash becomes its own variant.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> ReplicaError {
        let path = path.into();
        move |source| match classify(source) {
            Classified::UnsafePath(refusal) => ReplicaError::UnsafePath(refusal),
            Classified::Locked(locked) => ReplicaError::Locked {
                dir: locked
                    .path
                    .parent()
                    .map_or_else(PathBuf::new, PathBuf::from),
            },
            Classified::Crash(crash) => ReplicaError::InjectedCrash(crash),
            Classified::Io(source) => ReplicaError::Io { path, source },
        }
    }
}

impl Categorized for ReplicaError {
    /// The project's category: the format's for input errors.
    fn category(&self) -> Category {
        match self {
            ReplicaError::Io { .. } => Category::Io,
            ReplicaError::Input { error, .. } => error.category,
            ReplicaError::Invalid(invalid) => invalid.category(),
            ReplicaError::SequenceGap { .. } => Category::SequenceGap,
            ReplicaError::DifferentExtract { .. } => Category::DifferentExtract,
            ReplicaError::OpgavenrMismatch { .. } => Category::OpgavenrMismatch,
            ReplicaError::NotAReplica { .. } => Category::NotAReplica,
            ReplicaError::Corrupt { .. } => Category::ReplicaDamaged,
            ReplicaError::Locked { .. } => Category::Locked,
            ReplicaError::NotEmpty { .. } => Category::NotEmpty,
            ReplicaError::TooLarge { .. } => Category::TooLarge,
            ReplicaError::UnsafePath(_) => Category::UnsafePath,
            ReplicaError::InjectedCrash(_) => Category::Failpoint,
        }
    }
}
