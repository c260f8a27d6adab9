//! The CPR extract format, as data: record layouts generated from the specification's
//! `records.tsv`, the framings CPR uses, records, person blocks, personal numbers and dates.
//!
//! This crate does no I/O and allocates nothing per record: it reads a byte slice (normally a
//! memory-mapped file) and hands out views into it. Errors are values carrying the byte offset,
//! line, record type and field they concern, with a stable category from the project's one table (`cprsift_errors::Category`).
//!
//! The layers, in the order data flows through them:
//! - [`layout`]: every record layout and field, generated at build time from `records.tsv`;
//! - [`framing`]: finding records in the bytes (LF, CRLF, trimmed lines, 0x1A, concatenated);
//! - [`Record`] and [`FieldValue`]: zero-copy typed access to fields;
//! - [`Extract`] and [`PersonBlock`]: the file's structure (000, 997, person blocks, 003 tail,
//!   999, 910);
//! - [`CheckedExtract`]: the single-pass reader every consumer shares: validation, per-block
//!   facts, the content identity, the [`CheckReport`]; [`Header`]: what a delivery needs of the
//!   000 record;
//! - [`Pnr`] and [`date`]: personal numbers and the three date forms.

mod content_id;
pub mod date;
mod error;
mod event_code;
mod extract;
mod field;
pub mod framing;
pub mod fuzz_entry;
mod header;
pub mod layout;
mod pnr;
mod read;
mod record;
mod validate;
pub mod write;

pub use content_id::{BadContentId, ContentId};
pub use error::{InvalidExtract, ParseError, Position, Severity};
pub use event_code::EventCode;
pub use extract::{
    BlockRecords, Blocks, Extract, ExtractOptions, PersonBlock, Records, TailIndex, TailRecords,
};
pub use field::FieldValue;
pub use framing::{Framing, FramingReport};
pub use header::{opgavenr_from, Header};
pub use layout::{Field, FieldKind, Layout, RecordType, Variant};
pub use pnr::{MaskedPnr, Pnr};
pub use read::{BlockEvent, BlockFacts, CheckedExtract, ErrorSite};
pub use record::{Record, RecordKind};
pub use validate::{
    check, taeller_of, tail_pnr_error, CheckReport, ERROR_DETAIL_LIMIT, TAELLER_MODULUS,
};
