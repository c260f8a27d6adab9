//! A folder opened once and then worked in through its descriptor, never through a link.
//!
//! Why: a path is looked up again at every use, so a symbolic link planted at any of its names
//! (a subscriber's folder, a temporary file, the outbox itself) would send cprsift's writes,
//! and its CPR data, wherever the link points. A [`Folder`] is opened with
//! `O_DIRECTORY|O_NOFOLLOW` (its last component must not be a link; the components above it
//! are the operator's choice), and every name in it is then used relative to the descriptor
//! with `openat`/`mkdirat`/`renameat`/`unlinkat`/`fstatat`, never following a link: files are
//! created `O_CREAT|O_EXCL|O_NOFOLLOW`, removal (`unlinkat`) removes a link, not its target.
//!
//! Private folders ([`Folder::create_private`], [`Folder::private_child`]) are created 0700
//! with `mkdirat`, or opened when they exist; one that is a link, not a folder or owned by
//! another user is refused ([`UnsafePath`](crate::error::UnsafePath)); a wrong mode is fixed
//! with `fchmod` on the opened descriptor.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::error::{refuse, Unsafe};

/// The mode of private folders.
pub const FOLDER_MODE: u32 = 0o700;
/// The mode of private files.
pub const FILE_MODE: u32 = 0o600;

/// How deep [`Folder::remove`] descends (cprsift's own trees are one or two levels deep).
const MAX_DEPTH: usize = 8;

const FOLDER_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// What a name in a folder is, looked at without following a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symbolic link.
    Link,
    /// Anything else (a device, a FIFO, a socket).
    Other,
}

/// An open folder; cheap to clone (the descriptor is shared).
#[derive(Clone, Debug)]
pub struct Folder {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fd: OwnedFd,
    path: PathBuf,
    key: FolderKey,
}

/// A folder's identity (device and inode), to find it again by path and check that it is
/// still the same folder ([`FolderKey::open`]): lets a batch of staged files hold no
/// descriptor per folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderKey {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl FolderKey {
    /// Opens the folder again: refused unless it is still the same one.
    pub fn open(&self) -> io::Result<Folder> {
        let folder = Folder::open(&self.path)?;
        if folder.inner.key != *self {
            return Err(refuse(&self.path, Unsafe::Replaced));
        }
        Ok(folder)
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file system holding it (`st_dev`).
    pub fn device(&self) -> u64 {
        self.dev
    }
}

/// `path` without `.` components and trailing slashes (a trailing slash would make the
/// kernel follow a link that `O_NOFOLLOW` must refuse).
fn normalized(path: &Path) -> PathBuf {
    let p: PathBuf = path.components().collect();
    if p.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        p
    }
}

/// Refuses a name that is not one plain component.
pub(crate) fn check_name(name: &str) -> io::Result<()> {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']);
    if plain {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a plain file name"),
        ))
    }
}

/// The effective user id: private folders and lock files must be ours.
fn our_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn kind_of(mode: u32) -> Kind {
    match FileType::from_raw_mode(mode) {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Folder,
        FileType::Symlink => Kind::Link,
        _ => Kind::Other,
    }
}

impl Folder {
    /// Opens an existing folder. Its last component must not be a link (refused, naming the
    /// path); nothing is created or changed.
    pub fn open(path: &Path) -> io::Result<Folder> {
        let path = normalized(path);
        let fd = open_folder_at(CWD, &path, &path)?;
        Folder::from_fd(fd, path)
    }

    /// Opens the folder `path`, created with mode 0700 when missing (missing parents too, 0700),
    /// as a private folder: see [`Folder::private_child`].
    pub fn create_private(path: &Path) -> io::Result<Folder> {
        Folder::create_private_reporting(path).map(|(folder, _)| folder)
    }

    /// [`Folder::create_private`], also telling whether this call created the folder.
    pub fn create_private_reporting(path: &Path) -> io::Result<(Folder, bool)> {
        let path = normalized(path);
        let name = match path.components().next_back() {
            Some(Component::Normal(name)) => name.to_str(),
            _ => None,
        };
        let Some(name) = name else {
            // `/`, `..` or a non-UTF-8 name: can only be opened, never created.
            let folder = Folder::open(&path)?;
            folder.make_private()?;
            return Ok((folder, false));
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(FOLDER_MODE)
                .create(&parent)?;
        }
        // The parent is the operator's choice: opened following links.
        Folder::open_following(&parent)?.private_child_reporting(name)
    }

    /// Opens an existing folder following links in every component: for a folder the
    /// operator named to hold an output file (an export's target), where only the file's own
    /// name must not be a link.
    pub fn open_following(path: &Path) -> io::Result<Folder> {
        let path = normalized(path);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(CWD, &path, flags, Mode::empty())?;
        Folder::from_fd(fd, path)
    }

    fn from_fd(fd: OwnedFd, path: PathBuf) -> io::Result<Folder> {
        let stat = rustix::fs::fstat(&fd)?;
        let key = FolderKey {
            path: path.clone(),
            dev: stat.st_dev,
            ino: stat.st_ino,
        };
        Ok(Folder {
            inner: Arc::new(Inner { fd, path, key }),
        })
    }

    /// The folder's path (for messages, and for readers that take a path).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The path of `name` in this folder (for messages).
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.inner.path.join(name)
    }

    /// The folder's identity, to open it again later ([`FolderKey::open`]).
    pub fn key(&self) -> &FolderKey {
        &self.inner.key
    }

    /// Checks that the folder is ours and makes it 0700.
    fn make_private(&self) -> io::Result<()> {
        let stat = rustix::fs::fstat(&self.inner.fd)?;
        if stat.st_uid != our_uid() {
            return Err(refuse(self.path(), Unsafe::ForeignOwner(stat.st_uid)));
        }
        if stat.st_mode & 0o7777 != FOLDER_MODE {
            rustix::fs::fchmod(&self.inner.fd, Mode::from_raw_mode(FOLDER_MODE))?;
        }
        Ok(())
    }

    /// Opens the existing folder `name` in this one (a link is refused).
    pub fn child(&self, name: &str) -> io::Result<Folder> {
        check_name(name)?;
        let path = self.join(name);
        let fd = open_folder_at(&self.inner.fd, Path::new(name), &path)?;
        Folder::from_fd(fd, path)
    }

    /// The private folder `name` in this one: created 0700 (`mkdirat`), or opened when it
    /// exists (refused when it is a link, not a folder or another user's; a wrong mode is
    /// fixed with `fchmod` on its descriptor).
    pub fn private_child(&self, name: &str) -> io::Result<Folder> {
        self.private_child_reporting(name).map(|(folder, _)| folder)
    }

    fn private_child_reporting(&self, name: &str) -> io::Result<(Folder, bool)> {
        check_name(name)?;
        let created =
            match rustix::fs::mkdirat(&self.inner.fd, name, Mode::from_raw_mode(FOLDER_MODE)) {
                Ok(()) => true,
                Err(Errno::EXIST) => false,
                Err(e) => return Err(e.into()),
            };
        let folder = self.child(name)?;
        folder.make_private()?;
        Ok((folder, created))
    }

    /// Creates the new private folder `name` (`mkdirat`, 0700): fails with `AlreadyExists`
    /// when anything has the name.
    pub(crate) fn create_new_folder(&self, name: &str) -> io::Result<Folder> {
        check_name(name)?;
        rustix::fs::mkdirat(&self.inner.fd, name, Mode::from_raw_mode(FOLDER_MODE))?;
        let folder = self.child(name)?;
        folder.make_private()?;
        Ok(folder)
    }

    /// Fsyncs the folder: names created, renamed or removed in it become durable.
    pub fn sync(&self) -> io::Result<()> {
        Ok(rustix::fs::fsync(&self.inner.fd)?)
    }

    /// Flushes the whole file system holding the folder (`syncfs(2)`).
    pub(crate) fn sync_file_system(&self) -> io::Result<()> {
        Ok(rustix::fs::syncfs(&self.inner.fd)?)
    }

    /// What `name` is (a link is reported as such, not followed); `None` when absent.
    pub fn kind(&self, name: &str) -> io::Result<Option<Kind>> {
        check_name(name)?;
        match rustix::fs::statat(&self.inner.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(kind_of(stat.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The names in the folder (`.` and `..` left out; a name that is not UTF-8 is shown
    /// lossily, so it matches none of cprsift's own names).
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.inner.fd)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy();
            if name != "." && name != ".." {
                names.push(name.into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Opens the regular file `name` for reading; a link, a folder or a special file is refused.
    pub fn open_file(&self, name: &str) -> io::Result<File> {
        check_name(name)?;
        let path = self.join(name);
        // NONBLOCK: a FIFO planted at the name must not hang the open.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = match rustix::fs::openat(&self.inner.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::LOOP) => return Err(refuse(&path, Unsafe::Symlink)),
            Err(e) => return Err(e.into()),
        };
        if kind_of(rustix::fs::fstat(&fd)?.st_mode) != Kind::File {
            return Err(refuse(&path, Unsafe::NotAFile));
        }
        Ok(File::from(fd))
    }

    /// Reads the regular file `name` whole (see [`Folder::open_file`]).
    pub fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_file(name)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Reads the target of the link `name` (for the subscription store's old pointer).
    pub(crate) fn read_link(&self, name: &str) -> io::Result<Option<String>> {
        check_name(name)?;
        match rustix::fs::readlinkat(&self.inner.fd, name, Vec::new()) {
            Ok(target) => Ok(Some(target.to_string_lossy().into_owned())),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the new file `name` (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600, read-write):
    /// fails with `AlreadyExists` when anything (a link too) has the name.
    pub(crate) fn create_new_file(&self, name: &str) -> io::Result<File> {
        check_name(name)?;
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.inner.fd, name, flags, Mode::from_raw_mode(FILE_MODE))?;
        // The umask can only take bits away; a file that ends up without them is fixed.
        if rustix::fs::fstat(&fd)?.st_mode & 0o7777 != FILE_MODE {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(FILE_MODE))?;
        }
        Ok(File::from(fd))
    }

    /// Opens (creating it 0600 if missing, never truncating) the lock file `name`: a link, a
    /// non-file and another user's file are refused.
    pub(crate) fn open_lock_file(&self, name: &str) -> io::Result<File> {
        check_name(name)?;
        let path = self.join(name);
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd =
            match rustix::fs::openat(&self.inner.fd, name, flags, Mode::from_raw_mode(FILE_MODE)) {
                Ok(fd) => fd,
                Err(Errno::LOOP) => return Err(refuse(&path, Unsafe::Symlink)),
                Err(Errno::ISDIR) => return Err(refuse(&path, Unsafe::NotAFile)),
                Err(e) => return Err(e.into()),
            };
        let stat = rustix::fs::fstat(&fd)?;
        if kind_of(stat.st_mode) != Kind::File {
            return Err(refuse(&path, Unsafe::NotAFile));
        }
        if stat.st_uid != our_uid() {
            return Err(refuse(&path, Unsafe::ForeignOwner(stat.st_uid)));
        }
        if stat.st_mode & 0o7777 != FILE_MODE {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(FILE_MODE))?;
        }
        Ok(File::from(fd))
    }

    /// Renames `from` to `to` in this folder (`renameat`: a link at `to` is replaced, never
    /// followed).
    pub(crate) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        check_name(from)?;
        check_name(to)?;
        Ok(rustix::fs::renameat(
            &self.inner.fd,
            from,
            &self.inner.fd,
            to,
        )?)
    }

    /// Refuses `name` as the target of a file: a link or a folder (or a special file) is never
    /// replaced; a regular file or nothing is fine.
    pub(crate) fn check_file_target(&self, name: &str) -> io::Result<()> {
        match self.kind(name)? {
            None | Some(Kind::File) => Ok(()),
            Some(Kind::Link) => Err(refuse(&self.join(name), Unsafe::Symlink)),
            Some(_) => Err(refuse(&self.join(name), Unsafe::NotAFile)),
        }
    }

    /// Removes `name`: a file or a link with `unlinkat` (a link's target is never touched), a
    /// folder with everything in it (each entry by `unlinkat`, never following a link). True
    /// when something was removed.
    pub fn remove(&self, name: &str) -> io::Result<bool> {
        self.remove_at_depth(name, 0)
    }

    fn remove_at_depth(&self, name: &str, depth: usize) -> io::Result<bool> {
        match self.kind(name)? {
            None => Ok(false),
            Some(Kind::Folder) => {
                if depth >= MAX_DEPTH {
                    return Err(io::Error::other(format!(
                        "{}: nested too deeply to remove",
                        self.join(name).display()
                    )));
                }
                let child = self.child(name)?;
                for entry in child.names()? {
                    child.remove_at_depth(&entry, depth + 1)?;
                }
                drop(child);
                unlink(&self.inner.fd, name, AtFlags::REMOVEDIR)
            }
            Some(_) => unlink(&self.inner.fd, name, AtFlags::empty()),
        }
    }

    /// Removes the temporary files a crashed writer left in this folder ([`is_temporary`]
    /// names), with `unlinkat`. Call it only where no live writer can have temporary files in
    /// the folder (under the lock that makes the caller the folder's only writer, before it
    /// creates any). Returns how many were removed.
    pub fn remove_stale_temporaries(&self) -> io::Result<usize> {
        let mut removed = 0;
        for name in self.names()? {
            if is_temporary(&name) && self.remove(&name)? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn unlink(fd: &OwnedFd, name: &str, flags: AtFlags) -> io::Result<bool> {
    match rustix::fs::unlinkat(fd, name, flags) {
        Ok(()) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Opens the folder `name` relative to `dir` without following a link; `path` names it in
/// errors.
fn open_folder_at(dir: impl AsFd, name: &Path, path: &Path) -> io::Result<OwnedFd> {
    match rustix::fs::openat(&dir, name, FOLDER_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::LOOP) => Err(refuse(path, Unsafe::Symlink)),
        // With O_DIRECTORY, Linux reports a final link as "not a directory": tell them apart.
        Err(Errno::NOTDIR) => {
            let link = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|s| kind_of(s.st_mode) == Kind::Link);
            let reason = if link {
                Unsafe::Symlink
            } else {
                Unsafe::NotAFolder
            };
            Err(refuse(path, reason))
        }
        Err(e) => Err(e.into()),
    }
}

/// True for the name of a temporary file or folder cprsift writes before a rename:
/// `.<name>.tmp-<suffix>`, and the older forms `.<name>.tmp` and `.tmp-<name>`.
pub fn is_temporary(name: &str) -> bool {
    if !name.starts_with('.') {
        return false;
    }
    if name.len() > 4 && name.ends_with(".tmp") {
        return true;
    }
    match name.rsplit_once(".tmp-") {
        Some((_, suffix)) => {
            !suffix.is_empty()
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        None => false,
    }
}
