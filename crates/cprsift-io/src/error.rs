//! The refusals a caller must tell apart from an ordinary I/O failure.
//!
//! Every function of this crate returns [`io::Result`], so callers wrap errors as before; a
//! refusal is an `io::Error` whose inner error is one of this module's types, and [`category`]
//! tells which, in the project's one table of categories: a name that is a link or a foreign object ([`UnsafePath`], the `unsafe-path`
//! category), a lock held by another process ([`Locked`]), or a test's simulated crash
//! ([`crate::failpoint`]). Anything else is a plain I/O failure.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use cprsift_errors::{Categorized, Category};

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsafe {
    /// It is a symbolic link: cprsift never reads or writes through one.
    Symlink,
    /// A folder was expected and something else is there.
    NotAFolder,
    /// A file was expected and a folder or a special file is there.
    NotAFile,
    /// It belongs to another user (its uid), so it is not cprsift's to use.
    ForeignOwner(u32),
    /// The folder at this path is no longer the one cprsift opened (it was replaced).
    Replaced,
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsafe::Symlink => f.write_str("it is a symbolic link"),
            Unsafe::NotAFolder => f.write_str("it is not a folder"),
            Unsafe::NotAFile => f.write_str("it is not a regular file"),
            Unsafe::ForeignOwner(uid) => write!(f, "it belongs to another user (uid {uid})"),
            Unsafe::Replaced => f.write_str("the folder was replaced while cprsift worked in it"),
        }
    }
}

/// A name cprsift refuses to write through or to: a link, a foreign object, a replaced folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsafePath {
    /// The path refused.
    pub path: PathBuf,
    /// Why.
    pub reason: Unsafe,
}

impl fmt::Display for UnsafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: refused: {}; cprsift writes only into its own files and folders, never through \
             a link (remove or move it)",
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for UnsafePath {}

/// A lock file held by another process after the bounded wait ([`crate::lock::LOCK_WAIT`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    /// The lock file.
    pub path: PathBuf,
}

impl fmt::Display for Locked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: held by another cprsift process (waited {} s)",
            self.path.display(),
            crate::lock::LOCK_WAIT.as_secs()
        )
    }
}

impl std::error::Error for Locked {}

impl Categorized for UnsafePath {
    fn category(&self) -> Category {
        Category::UnsafePath
    }
}

impl Categorized for Locked {
    fn category(&self) -> Category {
        Category::Locked
    }
}

/// The category of an `io::Error` from this crate: a refusal (`unsafe-path`), a held lock
/// (`locked`), a test's simulated crash (`failpoint`), or any other I/O failure (`io`: disk
/// full, permissions, a vanished file).
pub fn category(e: &io::Error) -> Category {
    match e.get_ref() {
        Some(inner) if inner.is::<UnsafePath>() => Category::UnsafePath,
        Some(inner) if inner.is::<Locked>() => Category::Locked,
        Some(inner) if inner.is::<crate::failpoint::Crash>() => Category::Failpoint,
        _ => Category::Io,
    }
}

/// The refusal inside `e`, if it is one.
pub fn unsafe_path(e: &io::Error) -> Option<&UnsafePath> {
    e.get_ref().and_then(|inner| inner.downcast_ref())
}

/// The held lock inside `e`, if it is one.
pub fn locked(e: &io::Error) -> Option<&Locked> {
    e.get_ref().and_then(|inner| inner.downcast_ref())
}

/// An `io::Error` refusing `path`.
pub(crate) fn refuse(path: &Path, reason: Unsafe) -> io::Error {
    io::Error::other(UnsafePath {
        path: path.to_path_buf(),
        reason,
    })
}
