//! The nightly run and the initial-load command as the platform runs them: the fan-out core
//! (`cprsift-engine`) joined to the replica (`cprsift-replica`), the subscription store
//! (`cprsift-subscriptions`) and the outbox.
//!
//! - [`deliver`]: one read of the day's change extract (framed, checked, indexed and
//!   identified in one parallel pass), the sequence check against the replica, the delivery
//!   against the state before, the PNR moves, and on request the apply of that same checked
//!   value to the replica;
//! - [`initial_load`]: initial loads for new subscribers in one pass over the replica.
//!
//! Errors stay typed across the seam: [`NightlyError`] holds the engine's, the replica's and
//! the store's own errors, each with its category.

mod deliver;
mod error;
mod initial_load;
mod replica_view;

pub use deliver::{deliver, DeliverRequest, DeliveryOutcome, DeliveryReport};
pub use error::NightlyError;
pub use initial_load::{initial_load, InitialLoadReport, InitialLoadRequest};
pub use replica_view::ReplicaView;
