//! What can go wrong while the core writes a delivery or an initial load, as data: output and
//! environment problems (the outbox), and the two input problems the core itself can find (a
//! subscriber named twice, a shard size too small for one person). Each variant has its
//! category in the project's one table.

use std::io;
use std::path::PathBuf;

use cprsift_errors::{mask_personal_numbers, Categorized, Category};
use cprsift_io::error::{classify, Classified};

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
    /// The same subscriber twice in one run.
    #[error("subscriber {} is named twice", mask_personal_numbers(id))]
    DuplicateSubscriber {
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
    /// The outbox holds something this run cannot read (a damaged manifest).
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
    /// A name in the outbox (or the outbox itself) is a link or not what cprsift writes there:
    /// refused, nothing written through it.
    #[error("{0}")]
    UnsafePath(cprsift_io::error::UnsafePath),
}

impl EngineError {
    /// Wraps an I/O error with the path it concerns.
    /// A refusal and a held lock become their own variants.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> EngineError {
        let path = path.into();
        move |source| match classify(source) {
            Classified::UnsafePath(refusal) => EngineError::UnsafePath(refusal),
            Classified::Locked(locked) => EngineError::Locked { path: locked.path },
            // A failpoint's stop stays an I/O failure here, carrying the stop.
            Classified::Crash(crash) => EngineError::Io {
                path,
                source: io::Error::other(crash),
            },
            Classified::Io(source) => EngineError::Io { path, source },
        }
    }
}

impl Categorized for EngineError {
    fn category(&self) -> Category {
        match self {
            EngineError::Io { .. } => Category::Io,
            EngineError::DuplicateSubscriber { .. } => Category::DuplicateSubscriber,
            EngineError::ShardTooSmall { .. } => Category::BadArgument,
            EngineError::Outbox { .. } => Category::OutboxDamaged,
            EngineError::Locked { .. } => Category::Locked,
            EngineError::UnsafePath(_) => Category::UnsafePath,
        }
    }
}
