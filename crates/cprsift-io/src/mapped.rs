//! The one place in cprsift that maps a file into memory.
//!
//! Every crate that reads extract files or replica segments goes through [`MappedFile`]; the
//! `unsafe` that memory-mapping needs lives here and nowhere else (this module alone allows it).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A read-only memory map of a whole file, or an empty buffer for an empty file (which cannot be
/// mapped on every platform).
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    map: Option<memmap2::Mmap>,
}

impl MappedFile {
    /// Maps `path` read-only. Only a regular file can be mapped: a folder, a FIFO or a device
    /// is refused with an error saying which it is (and a FIFO is never opened, which would wait
    /// for a writer).
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        require_regular_file(&std::fs::metadata(path)?)?;
        Self::map(File::open(path)?, path)
    }

    /// Maps a file already open for reading (opened without following a link, e.g. with
    /// [`crate::Folder::open_file`]); `path` names it in messages. Anything but a regular file
    /// is refused.
    pub fn map(file: File, path: &Path) -> io::Result<Self> {
        let metadata = file.metadata()?;
        require_regular_file(&metadata)?;
        let len = metadata.len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the mapping is read-only and cprsift never writes to a file it has mapped:
            // extract files are inputs, and replica segments and indexes are immutable once
            // written (a new generation writes new files and switches by rename, so a mapped
            // file is never truncated or rewritten in place). Another process modifying the file
            // behind our back is outside the contract, as with any reader of these files.
            let map = unsafe { memmap2::Mmap::map(&file)? };
            #[cfg(unix)]
            {
                // Sequential scans dominate; the hint is advisory and its failure harmless.
                let _ = map.advise(memmap2::Advice::Sequential);
            }
            Some(map)
        };
        Ok(Self {
            path: path.to_path_buf(),
            map,
        })
    }

    /// The path the map was opened from, for error messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

/// Refuses anything but a regular file, naming what it is.
fn require_regular_file(metadata: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let t = metadata.file_type();
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a device"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("this is {what}, not a regular file; cprsift reads files"),
    ))
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_contents_and_empty_files() {
        let dir = std::env::temp_dir().join(format!("cprsift-io-mmap-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let full = dir.join("full");
        std::fs::File::create(&full)
            .unwrap()
            .write_all(b"000abc")
            .unwrap();
        let empty = dir.join("empty");
        std::fs::File::create(&empty).unwrap();
        assert_eq!(MappedFile::open(&full).unwrap().bytes(), b"000abc");
        assert!(MappedFile::open(&empty).unwrap().is_empty());
        assert!(MappedFile::open(dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
