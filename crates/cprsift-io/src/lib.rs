//! The one place in cprsift that touches files specially.
//!
//! - [`MappedFile`]: a read-only memory map of a whole file. The `unsafe` that mapping needs
//!   is the project's only one; it lives in one module (`mapped`), which alone allows it.
//! - [`durable`]: private, durable and atomic writes (folders 0700, files 0600, fsync of
//!   folders, a file that appears only whole, a lock file). Safe code; every function returns
//!   [`std::io::Result`] so that each crate wraps the error in its own type with the path.

mod mapped;

pub mod durable;

pub use mapped::MappedFile;
