//! The nightly run with a real replica and subscription store: sequence check, delivery
//! against the state before apply, PNR moves committed to the store, apply, and reruns that
//! finish the night with byte-identical files.

#![allow(clippy::unwrap_used)]

mod common;

use cprsift_errors::Categorized;
use std::path::Path;

use common::*;
use cprsift_engine::{deliver, DeliverRequest, DeliveryOutcome};
use cprsift_format::write::Terminator;
use cprsift_subscriptions::{Filters, Registry, Store, SubscriberId};

fn request(dir: &Path, extract: &Path, apply: bool) -> DeliverRequest {
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
    }
}

fn setup(dir: &Path) -> std::path::PathBuf {
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

#[test]
fn nightly_run_delivers_moves_applies_and_reruns_identically() {
    let dir = tempfile::tempdir().unwrap();
    let day = setup(dir.path());
    let outbox = dir.path().join("outbox");
    let file = |id: &str| std::fs::read(outbox.join(id).join("D240301.L110901")).unwrap();

    // A crash after the files but before the manifest: the rerun rewrites the same bytes.
    let first = deliver(&request(dir.path(), &day, false)).unwrap();
    assert_eq!(first.outcome, DeliveryOutcome::Delivered);
    let (pnr_file, k101_file) = (file("pnr-sub"), file("k101"));
    let manifest = first.manifest_path.clone().unwrap();
    std::fs::remove_file(&manifest).unwrap();
    // The store was moved by the first run; put it back as a crash before the move would leave it.
    let store = Store::open(&dir.path().join("store")).unwrap();
    let moved = store.load().unwrap();
    let id = SubscriberId::new("pnr-sub").unwrap();
    assert!(moved
        .get(&id)
        .unwrap()
        .pnrs
        .contains(pnr("0202802345").key()));
    assert!(!moved
        .get(&id)
        .unwrap()
        .pnrs
        .contains(pnr("0101801234").key()));
    assert_eq!(first.pnr_moves.len(), 1);
    assert_eq!(first.pnr_moves[0].from, "010180-xxxx");
    let mut before = moved.clone();
    before.move_pnr_subscriptions(&[(pnr("0202802345"), pnr("0101801234"))]);
    store.commit(&before).unwrap();

    let second = deliver(&request(dir.path(), &day, true)).unwrap();
    assert_eq!(second.outcome, DeliveryOutcome::Delivered);
    assert!(second.applied);
    assert_eq!(
        (file("pnr-sub"), file("k101")),
        (pnr_file.clone(), k101_file.clone())
    );
    // The PNR subscriber got A's and B's blocks; k101 got C (mover out) and A (resident before).
    let blocks = |bytes: &[u8]| {
        let e = cprsift_format::Extract::open(bytes, Default::default()).unwrap();
        e.blocks().map(|b| b.unwrap().pnr()).collect::<Vec<_>>()
    };
    assert_eq!(
        blocks(&pnr_file),
        vec![pnr("0101801234"), pnr("0202802345")]
    );
    assert_eq!(
        blocks(&k101_file),
        vec![pnr("0101801234"), pnr("0303803456")]
    );

    // Applied: a third run delivers nothing again.
    let third = deliver(&request(dir.path(), &day, true)).unwrap();
    assert_eq!(third.outcome, DeliveryOutcome::AlreadyApplied);
    assert_eq!(file("pnr-sub"), pnr_file);
}

#[test]
fn a_complete_manifest_means_the_delivery_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let day = setup(dir.path());
    deliver(&request(dir.path(), &day, false)).unwrap();
    let again = deliver(&request(dir.path(), &day, true)).unwrap();
    assert_eq!(again.outcome, DeliveryOutcome::AlreadyDelivered);
    assert!(again.applied);
}

#[test]
fn a_gap_delivers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let gap = extract_bytes(
        date(2024, 3, 5),
        Some(date(2024, 3, 4)),
        &[Person::new("0303803456", 101)],
        &[0],
        Terminator::Lf,
        false,
    );
    let path = dir.path().join("gap.txt");
    std::fs::write(&path, gap).unwrap();
    let e = deliver(&request(dir.path(), &path, true)).unwrap_err();
    assert_eq!(e.category().name(), "sequence-gap");
    assert_eq!(e.category().exit_code(), 1);
    assert!(!dir.path().join("outbox").exists());
}
