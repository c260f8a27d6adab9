//! Initial loads (docs/rules.md §4) for one or more new subscribers, in one pass over the
//! replica, as the `initial-load` command runs them.

use std::path::PathBuf;

use cprsift_engine::{
    initial_manifest_path, lock_outbox, write_initial_load, FilterSet, InitialLoadOptions,
    InitialManifest,
};
use cprsift_replica::Replica;
use cprsift_subscriptions::SubscriberId;

use crate::error::NightlyError;
use crate::replica_view::ReplicaView;

/// An initial load for one or more new subscribers.
#[derive(Clone, Debug)]
pub struct InitialLoadRequest {
    /// The replica folder.
    pub replica: PathBuf,
    /// A subscription store folder or a TOML file.
    pub subscriptions: PathBuf,
    /// The subscribers to serve (each must be in the registry), in output order.
    pub subscribers: Vec<String>,
    /// The outbox.
    pub outbox: PathBuf,
    /// Shard size, framing, compression.
    pub options: InitialLoadOptions,
}

/// What an initial load wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InitialLoadReport {
    /// The manifest's path.
    pub manifest_path: PathBuf,
    /// The manifest.
    pub manifest: InitialManifest,
}

/// Writes the initial loads in one pass over the replica.
pub fn initial_load(req: &InitialLoadRequest) -> Result<InitialLoadReport, NightlyError> {
    let replica = Replica::open(&req.replica)?;
    let (registry, _) = cprsift_subscriptions::load(&req.subscriptions)?;
    let mut chosen = Vec::with_capacity(req.subscribers.len());
    for id in &req.subscribers {
        let wanted =
            SubscriberId::new(id).map_err(|_| NightlyError::BadSubscriberId { id: id.clone() })?;
        let subscriber = registry
            .subscribers()
            .find(|(rid, _)| **rid == wanted)
            .ok_or_else(|| NightlyError::UnknownSubscriber { id: id.clone() })?;
        chosen.push(subscriber);
    }
    FilterSet::compile(chosen.iter().copied())?; // refuses a subscriber named twice
    let _outbox_lock = lock_outbox(&req.outbox)?;
    let source = ReplicaView(&replica);
    let manifest = write_initial_load(&source, chosen.iter().copied(), &req.outbox, &req.options)?;
    let ids: Vec<&SubscriberId> = chosen.iter().map(|&(id, _)| id).collect();
    Ok(InitialLoadReport {
        manifest_path: initial_manifest_path(
            &req.outbox,
            replica.proddto(),
            &manifest.opgavenr,
            &ids,
        ),
        manifest,
    })
}
