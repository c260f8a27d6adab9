//! One generational store for the replica and the subscription store: a folder whose content
//! changes only by building a new generation beside the current one and switching a pointer.
//!
//! Why one: both need the same crash guarantee (a crash at any moment leaves the old state or
//! the new one whole, and the next writer finishes or discards what it left), and two
//! implementations had drifted (a `CURRENT` file and a `current` symlink, 12- and 8-digit
//! names, different locks, failpoints under `cfg(test)` or as a public option).
//!
//! ```text
//! ROOT/LOCK                 flock'd by writers (crate::lock: bounded wait, then `locked`)
//! ROOT/CURRENT              "gen-000000000007\n", replaced atomically: the commit point
//! ROOT/gen-000000000007/    the current generation, never changed once named
//! ROOT/...                  files of the user's that generations reference (the replica's
//!                           segments); the user says which are referenced ([`Claim`])
//! ```
//!
//! A commit ([`NewGeneration::commit`]): the new generation's files are written in a
//! temporary folder `.gen-N.tmp-<random>` and synced ([`Step::GenerationWritten`]); it is
//! renamed to `gen-N` ([`Step::GenerationNamed`]); a new `CURRENT` is written under a
//! temporary name ([`Step::PointerWritten`]) and renamed over `CURRENT` ([`Step::Switched`]).
//!
//! The clean-up rule ([`Writer::clean`]): under the lock, whatever the current generation does
//! not reference is removed (other generations, temporaries, files the user disowns), one
//! `unlinkat` at a time ([`Step::Removed`] after each). Writers run it at the start of every
//! writing operation, including one that then finds nothing to do, and after each commit.
//!
//! Older stores point with a `current` symlink to `gen-NNNNNNNN` (8 digits) and lock `.lock`:
//! [`Generations::current`] reads that form when there is no `CURRENT`; the next commit
//! writes `CURRENT`, and the clean-up then removes the old link, lock file and generation.

use std::io::{self, Write};
use std::path::Path;

use crate::atomic::{temporary_name, AtomicFile};
use crate::error::{refuse, Unsafe};
use crate::failpoint::{self, Step};
use crate::folder::{is_temporary, Folder, Kind};
use crate::lock::{lock, LockFile, LOCK};

/// The pointer file naming the current generation.
pub const CURRENT: &str = "CURRENT";
/// The older stores' pointer: a symbolic link to the generation folder.
const OLD_CURRENT: &str = "current";
/// The older stores' lock file (removed once `CURRENT` replaced their pointer).
const OLD_LOCK: &str = ".lock";

/// True for the temporary names of older versions' interrupted commits: the store's
/// `current.tmp`, the replica's `CURRENT.tmp` and `gen-NNNNNNNNNNNN.tmp/`.
fn is_old_temporary(name: &str) -> bool {
    name == "current.tmp"
        || name == "CURRENT.tmp"
        || name
            .strip_suffix(".tmp")
            .is_some_and(|n| parse_generation_name(n).is_some())
}

/// A generation folder's name: `gen-` and 12 digits.
pub fn generation_name(number: u64) -> String {
    format!("gen-{number:012}")
}

/// The number of a generation folder's name (12 digits; 8 in older stores).
pub fn parse_generation_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("gen-")?;
    (digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The current generation: its number and its folder's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Current {
    /// The generation number.
    pub number: u64,
    /// The folder's name in the root.
    pub name: String,
}

/// What the user says about a name in the root that is not the mechanism's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The user's, referenced by the current generation: kept.
    Keep,
    /// The user's, not referenced: removed.
    Remove,
    /// Not the user's either (an operator's file): left alone.
    Foreign,
}

/// A generational store's root folder.
#[derive(Clone, Debug)]
pub struct Generations {
    root: Folder,
}

impl Generations {
    /// Opens an existing store's folder (for reading; nothing is created or changed).
    pub fn open(path: &Path) -> io::Result<Generations> {
        Ok(Generations {
            root: Folder::open(path)?,
        })
    }

    /// Opens a store's folder for writing: created 0700 when missing (see
    /// [`Folder::create_private`]). Also tells whether this call created it.
    pub fn create_private(path: &Path) -> io::Result<(Generations, bool)> {
        let (root, created) = Folder::create_private_reporting(path)?;
        Ok((Generations { root }, created))
    }

    /// The root folder.
    pub fn root(&self) -> &Folder {
        &self.root
    }

    /// True for the names the mechanism itself uses in the root (pointer, lock, generations,
    /// temporaries, the older form's names).
    pub fn is_own(name: &str) -> bool {
        name == CURRENT
            || name == LOCK
            || name == OLD_CURRENT
            || name == OLD_LOCK
            || is_old_temporary(name)
            || parse_generation_name(name).is_some()
            || is_temporary(name)
    }

    /// The current generation; `None` when there is none yet. A `CURRENT` that is a link or
    /// not a file is refused; one that does not name a generation is `InvalidData`.
    pub fn current(&self) -> io::Result<Option<Current>> {
        let text = match self.root.kind(CURRENT)? {
            Some(Kind::File) => {
                // A pointer is one short line; a longer file is not one (read no more of it).
                let mut bytes = Vec::new();
                let file = self.root.open_file(CURRENT)?;
                std::io::Read::read_to_end(&mut std::io::Read::take(file, 256), &mut bytes)?;
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Some(Kind::Link) => return Err(refuse(&self.root.join(CURRENT), Unsafe::Symlink)),
            Some(_) => return Err(refuse(&self.root.join(CURRENT), Unsafe::NotAFile)),
            None => match self.root.kind(OLD_CURRENT)? {
                None => return Ok(None),
                Some(Kind::Link) => self.root.read_link(OLD_CURRENT)?.unwrap_or_default(),
                Some(_) => return Err(refuse(&self.root.join(OLD_CURRENT), Unsafe::NotAFile)),
            },
        };
        let name = text.trim();
        match parse_generation_name(name) {
            Some(number) => Ok(Some(Current {
                number,
                name: name.to_string(),
            })),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: does not name a generation folder",
                    self.root.join(CURRENT).display()
                ),
            )),
        }
    }

    /// Opens a generation's folder (a link is refused).
    pub fn folder(&self, current: &Current) -> io::Result<Folder> {
        self.root.child(&current.name)
    }

    /// Takes the writer lock (`LOCK`, bounded wait: [`crate::lock`]).
    pub fn lock(&self) -> io::Result<Writer<'_>> {
        Ok(Writer {
            generations: self,
            _lock: lock(&self.root, LOCK)?,
        })
    }
}

/// A writer of a generational store: holds its lock until dropped.
#[derive(Debug)]
pub struct Writer<'g> {
    generations: &'g Generations,
    _lock: LockFile,
}

impl Writer<'_> {
    /// The current generation (see [`Generations::current`]).
    pub fn current(&self) -> io::Result<Option<Current>> {
        self.generations.current()
    }

    /// Removes whatever the current generation does not reference (see the module
    /// documentation); `claim` judges the names that are not the mechanism's own. Names are
    /// taken in sorted order; [`Step::Removed`] is reached after each removal.
    pub fn clean(&self, claim: &dyn Fn(&str) -> Claim) -> io::Result<()> {
        let root = &self.generations.root;
        let current = self.current()?;
        let has_pointer = root.kind(CURRENT)?.is_some();
        for name in root.names()? {
            let remove = match name.as_str() {
                CURRENT | LOCK => false,
                // The older form's names go once `CURRENT` replaced them.
                OLD_CURRENT | OLD_LOCK => has_pointer,
                n if is_old_temporary(n) => true,
                n if parse_generation_name(n).is_some() => {
                    current.as_ref().map(|c| c.name.as_str()) != Some(n)
                }
                n if is_temporary(n) => true,
                n => claim(n) == Claim::Remove,
            };
            if remove && root.remove(&name)? {
                failpoint::reach(Step::Removed)?;
            }
        }
        root.sync()
    }

    /// Starts the next generation (the current one's number plus one, or 1) in a new
    /// temporary folder.
    pub fn begin(&self) -> io::Result<NewGeneration<'_>> {
        let number = self.current()?.map_or(1, |c| c.number + 1);
        let name = generation_name(number);
        let root = &self.generations.root;
        let mut last = None;
        for _ in 0..16 {
            let temp = temporary_name(&name);
            match root.create_new_folder(&temp) {
                Ok(folder) => {
                    return Ok(NewGeneration {
                        writer: self,
                        folder,
                        number,
                        name,
                        temp: Some(temp),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no temporary folder could be created")))
    }
}

/// A generation being built in its temporary folder. Dropped without a commit, the folder is
/// removed (not after a failpoint's simulated crash).
#[derive(Debug)]
pub struct NewGeneration<'w> {
    writer: &'w Writer<'w>,
    folder: Folder,
    number: u64,
    name: String,
    /// The temporary folder's name; `None` once renamed.
    temp: Option<String>,
}

impl NewGeneration<'_> {
    /// The generation's number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The folder to write the generation's files into (with [`AtomicFile`]s).
    pub fn folder(&self) -> &Folder {
        &self.folder
    }

    /// The store's root folder (for files beside the generations, like the replica's segments).
    pub fn root(&self) -> &Folder {
        &self.writer.generations.root
    }

    /// Syncs the generation's folder, names it `gen-N` and makes it current by replacing
    /// `CURRENT` (the commit point). Then run [`Writer::clean`] to remove the old generation.
    pub fn commit(mut self) -> io::Result<()> {
        let root = self.writer.generations.root.clone();
        self.folder.sync()?;
        failpoint::reach(Step::GenerationWritten)?;
        // The clean-up at the start removed whatever of ours had this name: anything there
        // now was put there by someone else, and is not replaced.
        match root.kind(&self.name)? {
            None => {}
            Some(Kind::Link) => return Err(refuse(&root.join(&self.name), Unsafe::Symlink)),
            Some(_) => return Err(refuse(&root.join(&self.name), Unsafe::Replaced)),
        }
        if let Some(temp) = &self.temp {
            root.rename(temp, &self.name)?;
            self.temp = None;
        }
        root.sync()?;
        failpoint::reach(Step::GenerationNamed)?;
        let mut pointer = AtomicFile::create(&root, CURRENT)?;
        pointer.write_all(format!("{}\n", self.name).as_bytes())?;
        pointer.commit_at(Step::PointerWritten, Step::Switched)
    }
}

impl Drop for NewGeneration<'_> {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            if !failpoint::crashed() {
                let _ = self.writer.generations.root.remove(&temp);
            }
        }
    }
}
