//! What can go wrong in a delivery or an initial load, as data. Input problems (the extract)
//! are told apart from output and environment problems so that the CLI maps them to exit codes
//! (1 for input, 2 for the rest), and every variant has a stable category.

use std::fmt;
use std::io;
use std::path::PathBuf;

use chrono::NaiveDate;
use cprsift_errors::{mask_personal_numbers, Categorized, Category};
use cprsift_format::ParseError;
use cprsift_replica::ReplicaError;
use cprsift_subscriptions::SubscriptionError;

/// An error of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Reading or writing a file failed (disk full, permissions, a vanished file).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The extract cannot be read at all (no 000, no 999, ...): nothing was delivered.
    #[error("{}; nothing was delivered", error.in_file(path))]
    Input {
        /// The extract file.
        path: PathBuf,
        /// The error, located.
        error: ParseError,
    },
    /// The extract has errors (strict mode): nothing was delivered.
    #[error("{}: invalid extract, {count} errors, nothing was delivered; the first: {}", path.display(), First(errors))]
    Invalid {
        /// The extract file.
        path: PathBuf,
        /// The first errors, located.
        errors: Vec<ParseError>,
        /// All errors.
        count: u64,
    },
    /// The change extract does not continue the replica: files are missing in between.
    #[error(
        "{}: the replica's last applied extract is of {replica}, this file is of \
         {proddto} and follows the one of {}; nothing was delivered",
        path.display(),
        proddto_forrig.map_or("nothing (PRODDTOFORRIG is zeros)".to_string(), |d| d.to_string())
    )]
    SequenceGap {
        /// The change extract.
        path: PathBuf,
        /// The replica's PRODDTO.
        replica: NaiveDate,
        /// The file's PRODDTO.
        proddto: NaiveDate,
        /// The file's PRODDTOFORRIG.
        proddto_forrig: Option<NaiveDate>,
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
    /// The same subscriber twice in one run.
    #[error("subscriber {} is named twice", mask_personal_numbers(id))]
    DuplicateSubscriber {
        /// The id.
        id: String,
    },
    /// An initial load names a subscriber the registry does not hold.
    #[error("subscriber {} is not in the registry", mask_personal_numbers(id))]
    UnknownSubscriber {
        /// The id.
        id: String,
    },
    /// One person does not fit in a shard of the configured size with a 000 and a 999.
    #[error(
        "the shard size of {limit} bytes is too small: person {person} alone needs {needed} bytes \
         with its 000, 099 A45, 003 and 999 records"
    )]
    ShardTooSmall {
        /// The configured limit.
        limit: u64,
        /// The bytes the shard would need.
        needed: u64,
        /// The person, masked.
        person: String,
    },
    /// The outbox holds something that contradicts this run (a manifest of another file for
    /// the same date, an unreadable manifest).
    #[error("{}: {reason}", path.display())]
    Outbox {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another cprsift process holds a lock this run needs (the outbox's or the subscription
    /// store's) after the bounded wait, `cprsift_io::lock::LOCK_WAIT`.
    #[error("{}: another cprsift process is writing here (its lock is held)", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A file whose dates and job number name a delivery already made, but whose content is
    /// another: nothing was delivered.
    #[error("{}: {reason}", path.display())]
    DifferentExtract {
        /// The extract, or the run record it contradicts.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A name in the outbox (or the outbox itself) is a link or not what cprsift writes there:
    /// refused, nothing written through it.
    #[error("{0}")]
    UnsafePath(cprsift_io::error::UnsafePath),
    /// The replica failed (opening, reading, applying).
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The subscriber registry failed (loading, committing PNR moves).
    #[error(transparent)]
    Subscriptions(#[from] SubscriptionError),
}

/// Shows the first error of a list.
struct First<'a>(&'a [ParseError]);

impl fmt::Display for First<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.first() {
            Some(e) => write!(f, "{e}"),
            None => write!(f, "(not recorded)"),
        }
    }
}

impl EngineError {
    /// Wraps an I/O error with the path it concerns.
    /// A refusal and a held lock become their own variants.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> EngineError {
        let path = path.into();
        move |source| {
            if let Some(refusal) = cprsift_io::error::unsafe_path(&source) {
                return EngineError::UnsafePath(refusal.clone());
            }
            match cprsift_io::error::locked(&source) {
                Some(locked) => EngineError::Locked {
                    path: locked.path.clone(),
                },
                None => EngineError::Io { path, source },
            }
        }
    }
}

impl Categorized for EngineError {
    /// The project's category: the format's for input errors, the replica's and the
    /// registry's for theirs.
    fn category(&self) -> Category {
        match self {
            EngineError::Io { .. } => Category::Io,
            EngineError::Input { error, .. } => error.category,
            EngineError::Invalid { errors, .. } => {
                errors.first().map_or(Category::BadNumeric, |e| e.category)
            }
            EngineError::SequenceGap { .. } => Category::SequenceGap,
            EngineError::BadSubscriberId { .. } => Category::BadValue,
            EngineError::DuplicateSubscriber { .. } => Category::DuplicateSubscriber,
            EngineError::UnknownSubscriber { .. } => Category::UnknownSubscriber,
            EngineError::ShardTooSmall { .. } => Category::BadArgument,
            EngineError::Outbox { .. } => Category::OutboxDamaged,
            EngineError::Locked { .. } => Category::Locked,
            EngineError::DifferentExtract { .. } => Category::DifferentExtract,
            EngineError::UnsafePath(_) => Category::UnsafePath,
            EngineError::Replica(e) => e.category(),
            EngineError::Subscriptions(e) => e.category(),
        }
    }
}
