//! The fan-out core of cprsift: every subscriber's filters evaluated at once over roaring
//! bitmaps of the day's person blocks, per-subscriber daily files, and initial loads. Pure in
//! the sense that matters: inputs in (a checked extract, the subscribers, a view of the state
//! before), selections and files out. It never opens the replica or the subscription store:
//! the nightly run (`cprsift-nightly`) does, and hands this crate what it needs through
//! [`PriorState`] and [`PersonSource`].
//!
//! The layers, in the order data flows through them:
//! - [`DayIndex`]: a change extract as the single-pass reader checked it, with bitmaps of
//!   day block numbers per municipality (before and after), age, event code and PNR;
//! - [`SetAsideBlocks`]: lenient mode's sorting of faulty blocks from the rest;
//! - [`FilterSet`]: all subscribers compiled once; [`FilterSet::evaluate`] computes each
//!   distinct predicate once and gives every subscriber its [`Selection`];
//! - [`write_daily`]: the daily files, `.metadata` companions and the run manifest;
//! - [`write_initial_load`]: one pass over a [`PersonSource`] for any number of new
//!   subscribers, in shards.
//!
//! Every file is written through `cprsift-io`'s one durable mechanism: created exclusively,
//! never through a link, published whole.

mod daily_files;
mod day_index;
mod error;
mod filter_set;
mod initial;
mod lenient;
mod output;

pub use daily_files::{
    daily_file_name, write_daily, DailyManifest, DailyOptions, ManifestFile, ReportedMove,
};
pub use day_index::{DayIndex, MatchOptions, PriorState};
pub use error::EngineError;
pub use filter_set::{FilterSet, Selection, SubscriberRef};
pub use initial::{
    initial_file_base, initial_manifest_path, write_initial_load, InitialLoadOptions,
    InitialManifest, PersonSource, SourcePerson, DEFAULT_SHARD_SIZE,
};
pub use lenient::{SetAside, SetAsideBlocks};
pub use output::{check_outbox, lock_outbox, FileDigest, FileMetadata, OutputOptions};
