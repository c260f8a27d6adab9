//! The refusals a caller must tell apart from an ordinary I/O failure.
//!
//! Every function of this crate returns [`io::Result`]; a refusal is an `io::Error` whose inner
//! error is one of this module's types. [`classify`] takes such an error apart so that each
//! caller maps the parts to its own variants, and [`category`] names it in the project's one
//! table: a name that is a link or a foreign object ([`UnsafePath`], `unsafe-path`), a lock
//! held by another process ([`Locked`], `locked`), a test's simulated crash
//! ([`crate::failpoint`], `failpoint`). Anything else is a plain I/O failure (`io`).

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

/// What an `io::Error` from this crate is, taken apart: each caller turns the parts into its
/// own error variants. [`classify`] and [`category`] decide by one rule (a private `part`).
#[derive(Debug)]
pub enum Classified {
    /// A refusal: a link, a foreign object, a replaced folder (`unsafe-path`).
    UnsafePath(UnsafePath),
    /// Another process holds the lock (`locked`).
    Locked(Locked),
    /// A test's failpoint stopped the operation as a crash would (`failpoint`).
    Crash(crate::failpoint::Crash),
    /// Any other I/O failure: disk full, permissions, a vanished file (`io`).
    Io(io::Error),
}

/// Which part an error is, borrowed.
enum Part<'e> {
    UnsafePath(&'e UnsafePath),
    Locked(&'e Locked),
    Crash(&'e crate::failpoint::Crash),
    Io,
}

/// The one rule: the error this crate wrapped inside, if any.
fn part(e: &io::Error) -> Part<'_> {
    let Some(inner) = e.get_ref() else {
        return Part::Io;
    };
    if let Some(r) = inner.downcast_ref() {
        Part::UnsafePath(r)
    } else if let Some(l) = inner.downcast_ref() {
        Part::Locked(l)
    } else if let Some(c) = inner.downcast_ref() {
        Part::Crash(c)
    } else {
        Part::Io
    }
}

/// Takes an `io::Error` from this crate apart (see [`Classified`]).
pub fn classify(e: io::Error) -> Classified {
    match part(&e) {
        Part::UnsafePath(r) => Classified::UnsafePath(r.clone()),
        Part::Locked(l) => Classified::Locked(l.clone()),
        Part::Crash(c) => Classified::Crash(*c),
        Part::Io => Classified::Io(e),
    }
}

/// The category of an `io::Error` from this crate: `unsafe-path`, `locked`, `failpoint`, or
/// `io` for any other I/O failure.
pub fn category(e: &io::Error) -> Category {
    match part(e) {
        Part::UnsafePath(_) => Category::UnsafePath,
        Part::Locked(_) => Category::Locked,
        Part::Crash(_) => Category::Failpoint,
        Part::Io => Category::Io,
    }
}

/// The refusal inside `e`, if it is one.
pub fn unsafe_path(e: &io::Error) -> Option<&UnsafePath> {
    match part(e) {
        Part::UnsafePath(r) => Some(r),
        _ => None,
    }
}

/// An `io::Error` refusing `path`.
pub(crate) fn refuse(path: &Path, reason: Unsafe) -> io::Error {
    io::Error::other(UnsafePath {
        path: path.to_path_buf(),
        reason,
    })
}
