//! One writer at a time, with one policy for the replica, the subscription store and the
//! outbox.
//!
//! Why one policy: each of them used to wait differently (two seconds, forever, not at all).
//! The rule now: a writer takes an exclusive `flock` on a lock file in the folder it changes
//! (`LOCK`, or `_runs/LOCK` in an outbox), polling for at most [`LOCK_WAIT`]; if the lock is
//! still held then, it fails with [`Locked`] naming the lock file, instead of queueing behind
//! a long run (a nightly apply) or hanging a service call. The short wait absorbs a lock that
//! outlives its holder for a moment (a process forked between taking and releasing it) and a
//! brief concurrent store update. The lock file is opened like every other name: never
//! through a link, only if it is ours; it is never removed. Readers take no lock.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;
use rustix::io::Errno;

use crate::error::Locked;
use crate::folder::Folder;

/// How long a writer waits for a held lock before failing with [`Locked`].
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The usual name of a lock file.
pub const LOCK: &str = "LOCK";

/// An exclusive lock, held until dropped.
#[derive(Debug)]
pub struct LockFile {
    _file: File,
    path: PathBuf,
}

impl LockFile {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the lock file `name` in `folder` (created 0600 if missing), waiting at most
/// [`LOCK_WAIT`] for another holder.
pub fn lock(folder: &Folder, name: &str) -> io::Result<LockFile> {
    lock_within(folder, name, LOCK_WAIT)
}

/// [`lock`] with another bound on the wait (tests).
pub fn lock_within(folder: &Folder, name: &str, wait: Duration) -> io::Result<LockFile> {
    let file = folder.open_lock_file(name)?;
    let path = folder.join(name);
    let deadline = Instant::now() + wait;
    loop {
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(LockFile { _file: file, path }),
            Err(Errno::WOULDBLOCK | Errno::INTR) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(Errno::WOULDBLOCK) => return Err(io::Error::other(Locked { path })),
            Err(e) => return Err(e.into()),
        }
    }
}
