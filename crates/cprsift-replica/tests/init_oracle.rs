//! `init` validates in its single storing pass; `Extract::check` is the oracle. For randomly
//! damaged extracts, init succeeds exactly when the check finds the extract valid (and it has the
//! PRODDTO and OPGAVENR a replica needs), and a refused init leaves nothing behind.
#![allow(clippy::unwrap_used)]

mod common;

use cprsift_format::{check, Extract, ExtractOptions};
use cprsift_replica::{init, InitOptions};
use proptest::prelude::*;

fn base() -> Vec<u8> {
    common::World::new(99).base(40)
}

#[derive(Clone, Debug)]
enum Damage {
    Byte(usize, u8),
    DeleteLine(usize),
    DuplicateLine(usize),
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (any::<usize>(), prop::sample::select(vec![b'x', b' ', b'0', b'9', b'\n', b'A', b'-'])).prop_map(|(p, b)| Damage::Byte(p, b)),
        1 => any::<usize>().prop_map(Damage::DeleteLine),
        1 => any::<usize>().prop_map(Damage::DuplicateLine),
        1 => any::<usize>().prop_map(Damage::Truncate),
    ]
}

fn apply_damage(bytes: &mut Vec<u8>, d: &Damage) {
    let lines: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, &c)| c == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&i| i < bytes.len())
        .collect();
    let line = |n: usize| {
        let start = lines[n % lines.len()];
        let end = bytes[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(bytes.len(), |i| start + i + 1);
        start..end
    };
    match *d {
        Damage::Byte(p, b) => {
            let n = bytes.len();
            bytes[p % n] = b;
        }
        Damage::DeleteLine(n) => {
            let r = line(n);
            bytes.drain(r);
        }
        Damage::DuplicateLine(n) => {
            let r = line(n);
            let copy = bytes[r.clone()].to_vec();
            bytes.splice(r.end..r.end, copy);
        }
        Damage::Truncate(p) => {
            let n = bytes.len();
            bytes.truncate(p % n);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn init_accepts_exactly_what_check_accepts(damages in prop::collection::vec(damage(), 1..3)) {
        let mut bytes = base();
        for d in &damages {
            apply_damage(&mut bytes, d);
        }
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("full.txt");
        std::fs::write(&file, &bytes).unwrap();
        let dir = tmp.path().join("replica");
        let usable = Extract::open(&bytes, ExtractOptions::default()).is_ok_and(|e| {
            e.proddto().is_some() && e.opgavenr().len() == 6 && e.opgavenr().iter().all(u8::is_ascii_digit)
        });
        let expected = usable && check(&bytes, ExtractOptions::default()).is_valid();
        let result = init(&file, &dir, InitOptions::default());
        prop_assert_eq!(result.is_ok(), expected, "{:?}", result.as_ref().err().map(ToString::to_string));
        if result.is_err() {
            prop_assert!(!dir.exists());
        }
    }
}

#[test]
fn the_undamaged_base_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("full.txt");
    std::fs::write(&file, base()).unwrap();
    assert!(init(&file, &tmp.path().join("r"), InitOptions::default()).is_ok());
}
