//! What can go wrong in a nightly run or an initial load, as data. The engine's, the
//! replica's and the store's errors are kept as they are (typed, with their categories); what
//! belongs to the run itself (the extract's input errors, a delivery record of another file,
//! an unknown subscriber, an apply that failed after a complete delivery) has its own
//! variants.

use std::io;
use std::path::PathBuf;

use cprsift_engine::{DailyManifest, EngineError};
use cprsift_errors::{mask_personal_numbers, Categorized, Category};
use cprsift_format::{InvalidExtract, ParseError};
use cprsift_replica::ReplicaError;
use cprsift_subscriptions::SubscriptionError;

/// An error of a nightly run or an initial load.
#[derive(Debug, thiserror::Error)]
pub enum NightlyError {
    /// The extract could not be read (a missing file, not a regular file).
    #[error("{}: {source}", path.display())]
    Io {
        /// The extract.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The extract cannot be delivered (no readable frame, a 000 without what a delivery
    /// needs, an error lenient mode cannot set aside): nothing was delivered.
    #[error("{}; nothing was delivered", error.in_file(path))]
    Input {
        /// The extract.
        path: PathBuf,
        /// The error, located.
        error: ParseError,
    },
    /// The extract has errors (strict mode): nothing was delivered.
    #[error("{0}; nothing was delivered")]
    Invalid(InvalidExtract),
    /// The outbox's record of this date and job number describes another extract (another
    /// content identity): nothing was delivered.
    #[error(
        "{}: the delivery recorded for this date and job number was of another extract ({}); \
         this file is {}; nothing was delivered",
        manifest.display(),
        recorded,
        found
    )]
    DifferentExtract {
        /// The run record it contradicts.
        manifest: PathBuf,
        /// The identity recorded there (or what was recorded instead).
        recorded: String,
        /// This extract's identity.
        found: String,
    },
    /// A subscriber id that is not `[A-Za-z0-9][A-Za-z0-9._-]{0,63}` (ids become folder names).
    #[error(
        "subscriber id {:?} is not allowed: ids match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}",
        mask_personal_numbers(id)
    )]
    BadSubscriberId {
        /// The id as given.
        id: String,
    },
    /// An initial load names a subscriber the registry does not hold.
    #[error("subscriber {} is not in the registry", mask_personal_numbers(id))]
    UnknownSubscriber {
        /// The id.
        id: String,
    },
    /// Applying the extract to the replica failed after the delivery was complete: the files
    /// and the run record are in the outbox and the PNR moves are committed; a rerun of the
    /// same command finds the delivery done and applies.
    #[error(
        "the delivery is complete ({}; {moves} PNR move(s) committed), but applying the \
         extract to the replica failed: {source}; rerun the same command to apply it",
        manifest.display()
    )]
    ApplyFailed {
        /// The delivery's run record.
        manifest: PathBuf,
        /// PNR subscriptions moved by this run.
        moves: usize,
        /// Why the apply failed.
        source: ReplicaError,
    },
    /// The fan-out core failed (writing the outbox, a subscriber named twice, ...).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The replica failed (opening it, the sequence check).
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The subscriber registry failed (loading it, committing PNR moves).
    #[error(transparent)]
    Subscriptions(#[from] SubscriptionError),
}

impl NightlyError {
    /// The error that refuses a delivery because its run record is of another extract.
    pub(crate) fn different(manifest: PathBuf, recorded: &DailyManifest, found: String) -> Self {
        NightlyError::DifferentExtract {
            manifest,
            recorded: recorded.extract_id.map_or_else(
                || {
                    format!(
                        "{} bytes, {} persons",
                        recorded.extract_bytes, recorded.extract_persons
                    )
                },
                |id| id.to_string(),
            ),
            found,
        }
    }
}

impl Categorized for NightlyError {
    fn category(&self) -> Category {
        match self {
            NightlyError::Io { .. } => Category::Io,
            NightlyError::Input { error, .. } => error.category,
            NightlyError::Invalid(invalid) => invalid.category(),
            NightlyError::DifferentExtract { .. } => Category::DifferentExtract,
            NightlyError::BadSubscriberId { .. } => Category::BadValue,
            NightlyError::UnknownSubscriber { .. } => Category::UnknownSubscriber,
            NightlyError::ApplyFailed { source, .. } => source.category(),
            NightlyError::Engine(e) => e.category(),
            NightlyError::Replica(e) => e.category(),
            NightlyError::Subscriptions(e) => e.category(),
        }
    }
}
