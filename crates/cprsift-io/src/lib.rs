//! The one place in cprsift that touches files specially.
//!
//! - [`MappedFile`]: a read-only memory map of a whole file. The `unsafe` that mapping needs
//!   is the project's only one; it lives in one module (`mapped`), which alone allows it.
//! - [`Folder`] ([`folder`]): a folder opened once and worked in through its descriptor, never
//!   through a link; private folders 0700.
//! - [`AtomicFile`] ([`atomic`]): the one way a file is created: exclusively under a fresh
//!   temporary name, 0600, made durable, renamed into place; alone ([`AtomicFile::commit`]) or
//!   in a batch with one `syncfs` per file system ([`atomic::publish`]).
//! - [`lock`]: one writer at a time, one policy (a bounded wait, then `locked`).
//! - [`generations`]: the replica's and the subscription store's generations: a `CURRENT`
//!   pointer, `gen-N` folders, the lock, the clean-up rule.
//! - [`failpoint`]: named steps where tests stop a write as a crash would.
//! - [`error`]: how a caller tells a refusal ([`error::UnsafePath`]) or a held lock
//!   ([`error::Locked`]) from an I/O failure ([`error::category`]).
//!
//! Everything returns [`std::io::Result`]: each crate wraps the error in its own type with the
//! path it concerns. Unix only (descriptors, modes, `syncfs`), like the rest of cprsift.

mod mapped;

pub mod atomic;
pub mod error;
pub mod failpoint;
pub mod folder;
pub mod generations;
pub mod lock;

pub use atomic::{AtomicFile, StagedFile};
pub use folder::Folder;
pub use mapped::MappedFile;
