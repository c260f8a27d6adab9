//! The nightly run with a real replica and subscription store: sequence check, delivery
//! against the state before apply, PNR moves committed to the store, apply, and reruns that
//! finish the night with byte-identical files.

#![allow(clippy::unwrap_used)]

mod common;

use cprsift_errors::Categorized;

use common::*;
use cprsift_format::write::Terminator;
use cprsift_nightly::{deliver, DeliveryOutcome};
use cprsift_subscriptions::{Store, SubscriberId};

#[test]
fn nightly_run_delivers_moves_applies_and_reruns_identically() {
    let dir = tempfile::tempdir().unwrap();
    let day = nightly_setup(dir.path());
    let outbox = dir.path().join("outbox");
    let file = |id: &str| std::fs::read(outbox.join(id).join("D240301.L110901")).unwrap();

    // A crash after the files but before the manifest: the rerun rewrites the same bytes.
    let first = deliver(&nightly_request(dir.path(), &day, false)).unwrap();
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

    let second = deliver(&nightly_request(dir.path(), &day, true)).unwrap();
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
    let third = deliver(&nightly_request(dir.path(), &day, true)).unwrap();
    assert_eq!(third.outcome, DeliveryOutcome::AlreadyApplied);
    assert_eq!(file("pnr-sub"), pnr_file);
}

#[test]
fn a_complete_manifest_means_the_delivery_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let day = nightly_setup(dir.path());
    deliver(&nightly_request(dir.path(), &day, false)).unwrap();
    let again = deliver(&nightly_request(dir.path(), &day, true)).unwrap();
    assert_eq!(again.outcome, DeliveryOutcome::AlreadyDelivered);
    assert!(again.applied);
}

#[test]
fn a_gap_delivers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    nightly_setup(dir.path());
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
    let e = deliver(&nightly_request(dir.path(), &path, true)).unwrap_err();
    assert_eq!(e.category().name(), "sequence-gap");
    assert_eq!(e.category().exit_code(), 1);
    assert!(!dir.path().join("outbox").exists());
}

#[test]
fn an_apply_that_fails_after_the_delivery_says_the_delivery_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let day = nightly_setup(dir.path());
    // Another process holds the replica's lock for the whole run.
    let held = std::fs::File::open(dir.path().join("replica/LOCK")).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let e = deliver(&nightly_request(dir.path(), &day, true)).unwrap_err();
    assert_eq!(e.category().name(), "locked", "{e}");
    let message = e.to_string();
    assert!(
        message.contains("the delivery is complete")
            && message.contains("D20240301.L110901.manifest.json")
            && message.contains("1 PNR move(s) committed")
            && message.contains("rerun"),
        "{message}"
    );
    drop(held);
    let rerun = deliver(&nightly_request(dir.path(), &day, true)).unwrap();
    assert_eq!(rerun.outcome, DeliveryOutcome::AlreadyDelivered);
    assert!(rerun.applied);
}

#[test]
fn a_night_already_applied_still_checks_the_subscriptions_and_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let day = nightly_setup(dir.path());
    deliver(&nightly_request(dir.path(), &day, true)).unwrap();
    let mut missing = nightly_request(dir.path(), &day, true);
    missing.subscriptions = dir.path().join("no-such-store");
    let e = deliver(&missing).unwrap_err();
    assert_eq!(e.category().exit_code(), 2, "{e}");
    assert!(e.to_string().contains("no-such-store"), "{e}");
    let mut file_outbox = nightly_request(dir.path(), &day, true);
    file_outbox.outbox = dir.path().join("day.txt");
    let e = deliver(&file_outbox).unwrap_err();
    assert_eq!(e.category().name(), "unsafe-path", "{e}");
}

#[test]
fn a_bad_subscription_file_creates_no_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let day = nightly_setup(dir.path());
    let toml = dir.path().join("bad.toml");
    std::fs::write(&toml, "[[subscriber]]\nid = \"x\"\npnr = [\"12\"]\n").unwrap();
    let mut request = nightly_request(dir.path(), &day, true);
    request.subscriptions = toml;
    let e = deliver(&request).unwrap_err();
    assert_eq!(e.category().name(), "bad-value", "{e}");
    assert!(
        !dir.path().join("outbox").exists(),
        "no outbox, no _runs/LOCK"
    );
}
