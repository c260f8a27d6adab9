//! cprgen: realistic synthetic CPR data at national scale, deterministic for a seed.
//!
//! - [`generate_full`]: a full extract (status layout U12180 by default, or U12170), streamed
//!   in person batches generated in parallel and written in order;
//! - [`generate_days`]: consecutive daily change extracts (U12170 with 099 events) continuing a
//!   given full extract;
//! - [`generate_subscribers`]: subscriber sets in the subscription store's TOML form.
//!
//! Every record is built with `cprsift_format::write::RecordBuilder` and the layout constants,
//! so every line is valid by construction. PNRs are never printed in full (only masked).

mod days;
mod edit;
mod full;
mod index;
mod people;
mod pnr_alloc;
mod render;
mod rng;
mod subscribers;
mod tables;
mod tail;

use std::io;
use std::path::PathBuf;

use cprsift_io::{AtomicFile, Folder};

pub use days::{generate_days, DayConfig, DaySummary};
pub use full::{generate_full, FullConfig, PersonLayout, Preset, Summary};
pub use subscribers::{generate_subscribers, SubscriberConfig, SubscriberSummary};

/// Why a generation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Write(#[from] io::Error),
    /// The input extract is not valid.
    #[error("{}: {error}", path.display())]
    Input {
        /// The input file.
        path: PathBuf,
        /// Where and why (file offset, line, record type, field; PNR masked).
        error: Box<cprsift_format::ParseError>,
    },
    /// The configuration cannot be used.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Writes a file atomically through `cprsift_io::AtomicFile`: `fill` writes into a temporary
/// file beside `path` (mode 0600, created exclusively, never through a link), which is
/// fsynced and renamed to `path` on success and removed on failure, so no partial output is
/// ever left at `path`. A `path` that is a link or a folder is refused.
pub fn write_atomically<T>(
    path: &std::path::Path,
    fill: impl FnOnce(&mut AtomicFile) -> Result<T>,
) -> Result<T> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the output needs a file name",
        ))
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let folder = Folder::open_following(parent).map_err(io_err)?;
    let mut out = AtomicFile::create(&folder, name).map_err(io_err)?;
    let value = fill(&mut out)?;
    out.commit().map_err(io_err)?;
    Ok(value)
}

/// Creates a directory (and parents) with mode 0700 (a link at its name is refused).
pub fn create_private_dir(path: &std::path::Path) -> Result<()> {
    Folder::create_private(path)
        .map(drop)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
}
