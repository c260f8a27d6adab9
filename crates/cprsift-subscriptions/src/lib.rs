//! Subscribers and their SF6002 filters (docs/rules.md §2): the model, its TOML form, the
//! atomically updated store, and the service's operations with their result words.
//!
//! - [`Registry`]: every subscriber ([`SubscriberId`]) with its [`Filters`], in id order; the
//!   service's operations ([`Registry::apply`] with an [`Operation`], answering an
//!   [`Outcome`]), bulk PNR operations ([`Registry::bulk`] with a [`PnrList`]) and the PNR-change
//!   rule ([`Registry::move_pnr_subscriptions`]).
//! - [`toml_form`]: the TOML form, read with file/line/column errors and exported
//!   deterministically.
//! - [`Store`]: a folder holding the registry, updated atomically (generations switched by a
//!   symlink rename), PNR sets as serialized roaring bitmaps.
//! - [`load`]: a registry from a path that is either a store or a TOML file.
//!
//! Values are validated where they enter ([`parse_pnr`], [`AgeRange::new`], ...); refusals are
//! [`InvalidValue`]s that name the subscriber and show PNRs masked. Nothing here prints.

mod error;
mod filters;
mod pnr_arrays;
mod pnr_list;
mod registry;
mod store;
pub mod toml_form;
mod values;

use std::path::{Path, PathBuf};

pub use error::{Field, InvalidValue, RejectedLine, SubscriptionError, TomlProblem};
pub use filters::{Filters, Operation, Outcome, PnrDirectory};
pub use pnr_list::PnrList;
pub use registry::{BulkMode, BulkReport, PnrMove, Registry};
pub use store::{Store, StoreLock};
pub use values::{
    municipality_from_number, municipality_from_text, municipality_text, parse_event_code,
    parse_pnr, AgeRange, FilterGroup, SubscriberId, MAX_AGE, MAX_ID_LEN,
};

/// Where a loaded registry came from, and so whether changes can be written back.
#[derive(Debug, Clone)]
pub enum Source {
    /// A store: changes are committed to it (under [`Store::lock`]).
    Store(Store),
    /// A TOML file: read only, nothing is ever written back to it.
    TomlFile(PathBuf),
}

/// Loads a registry from `path`: a store folder, or a file in the TOML form.
pub fn load(path: &Path) -> Result<(Registry, Source), SubscriptionError> {
    let meta = std::fs::metadata(path).map_err(|e| SubscriptionError::io(path, e))?;
    if meta.is_dir() {
        let store = Store::open(path)?;
        let registry = store.load()?;
        Ok((registry, Source::Store(store)))
    } else {
        let registry = toml_form::read_file(path)?;
        Ok((registry, Source::TomlFile(path.to_owned())))
    }
}
