//! The heart of cprsift: every subscriber's filters evaluated at once over roaring bitmaps of
//! the day's person blocks, per-subscriber daily files, and initial loads from the replica.
//!
//! The layers, in the order data flows through them:
//! - [`DayIndex`]: the change extract's blocks found in parallel, with bitmaps of block
//!   indices per municipality (before and after), age, event code and PNR;
//! - [`FilterSet`]: all subscribers compiled once; [`FilterSet::evaluate`] computes each
//!   distinct predicate once and gives every subscriber its [`Selection`];
//! - [`write_daily`]: the daily files, `.metadata` companions and the run manifest;
//! - [`write_initial_load`]: one pass over a [`PersonSource`] (the replica) for any number of
//!   new subscribers, in shards;
//! - [`deliver`] and [`initial_load`]: the nightly run and the initial-load command as the CLI
//!   runs them, with the replica and the subscriber registry.
//!
//! Nothing here takes a lock on the replica: the replica crate does. The outbox is locked for
//! the duration of a run.

mod daily;
mod day;
mod error;
mod filters;
mod initial;
mod lenient;
mod output;
mod run;

pub use daily::{
    daily_file_name, write_daily, DailyManifest, DailyOptions, ManifestFile, ReportedMove,
};
pub use day::{DayIndex, MatchOptions, PriorState};
pub use error::EngineError;
pub use filters::{FilterSet, Selection, SubscriberRef};
pub use initial::{
    initial_file_base, initial_manifest_path, write_initial_load, InitialLoadOptions,
    InitialManifest, PersonSource, StoredPersonView, DEFAULT_SHARD_SIZE,
};
pub use lenient::SetAside;
pub use output::{FileDigest, FileMetadata, OutputOptions};
pub use run::{
    deliver, initial_load, DeliverRequest, DeliveryOutcome, DeliveryReport, InitialLoadReport,
    InitialLoadRequest,
};
