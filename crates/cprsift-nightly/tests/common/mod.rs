//! Test fixtures of the nightly run: the engine's (people, extracts, oracles), shared from its
//! tests, plus a real replica and store on disk.

#![allow(dead_code)] // each test file uses a part

#[path = "../../../cprsift-engine/tests/common/mod.rs"]
mod engine;

use std::path::Path;

use chrono::NaiveDate;
use cprsift_format::write::Terminator;
use cprsift_nightly::DeliverRequest;
use cprsift_subscriptions::{Filters, Registry, Store, SubscriberId};
pub use engine::*;

/// Writes a full extract of `persons` (LF, file order as given) dated `proddto` to
/// `dir/full.txt` and initialises the replica `dir/replica` from it.
pub fn init_replica(dir: &Path, proddto: NaiveDate, persons: &[Person]) {
    let order: Vec<usize> = (0..persons.len()).collect();
    let full = extract_bytes(proddto, None, persons, &order, Terminator::Lf, false);
    std::fs::write(dir.join("full.txt"), full).unwrap();
    cprsift_replica::init(
        &dir.join("full.txt"),
        &dir.join("replica"),
        Default::default(),
    )
    .unwrap();
}

/// The nightly run's request on the folders of [`nightly_setup`].
pub fn nightly_request(dir: &Path, extract: &Path, apply: bool) -> DeliverRequest {
    DeliverRequest {
        extract: extract.to_path_buf(),
        replica: dir.join("replica"),
        subscriptions: dir.join("store"),
        outbox: dir.join("outbox"),
        extract_options: Default::default(),
        matching: Default::default(),
        daily: Default::default(),
        apply,
        lenient: false,
        accept_opgavenr: None,
    }
}

/// A replica (A and C in 101, of 2024-02-29), a store (a PNR subscriber of A, k101) and the
/// next day's extract (A changes PNR to B, C moves out), in `dir`; returns the extract's path.
pub fn nightly_setup(dir: &Path) -> std::path::PathBuf {
    // The full extract of 2024-02-29: A and C live in 101.
    init_replica(
        dir,
        date(2024, 2, 29),
        &[
            Person::new("0101801234", 101),
            Person::new("0303803456", 101),
        ],
    );
    // Today: A changes PNR to B (status 60), B's new block, C moves out to 851.
    let mut old = Person::new("0101801234", 101);
    old.status = 60;
    old.pnr_gaeld = Some(pnr("0202802345"));
    old.municipality = None;
    let day = extract_bytes(
        date(2024, 3, 1),
        Some(date(2024, 2, 29)),
        &[
            old,
            Person::new("0202802345", 851),
            Person::new("0303803456", 851),
        ],
        &[2, 1, 0],
        Terminator::Lf,
        false,
    );
    let path = dir.join("day.txt");
    std::fs::write(&path, day).unwrap();
    let mut registry = Registry::new();
    let mut pnr_sub = Filters::default();
    pnr_sub.pnrs.insert(pnr("0101801234").key());
    registry.insert(SubscriberId::new("pnr-sub").unwrap(), pnr_sub);
    let mut k101 = Filters::default();
    k101.municipalities.insert(101);
    registry.insert(SubscriberId::new("k101").unwrap(), k101);
    Store::create(&dir.join("store"), &registry).unwrap();
    path
}
