//! The TOML form and the store give back exactly the registry they were given; the export is
//! deterministic (golden file) and a fixed point of import -> export.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use cprsift_errors::{Categorized, Category};
use std::path::{Path, PathBuf};

use cprsift_format::EventCode;
use cprsift_subscriptions::{
    load, toml_form, AgeRange, Filters, Registry, Source, Store, SubscriberId, SubscriptionError,
    TomlProblem,
};
use proptest::prelude::*;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/subscriptions")
        .join(name)
}

#[test]
fn sample_import_export_import() {
    let (reg, source) = load(&testdata("sample.toml")).unwrap();
    assert!(matches!(source, Source::TomlFile(_)));
    assert_eq!(reg.len(), 5);
    let exported = toml_form::export(&reg);
    let golden = std::fs::read_to_string(testdata("sample.export.toml")).unwrap();
    assert_eq!(exported, golden);
    let again = toml_form::parse(Path::new("exported"), exported.as_bytes()).unwrap();
    assert_eq!(again, reg);
    assert_eq!(toml_form::export(&again), exported);
}

#[test]
fn bad_files_name_line_and_masked_value() {
    let e = load(&testdata("bad-pnr.toml")).unwrap_err();
    let m = e.to_string();
    assert_eq!(e.category(), Category::BadValue);
    assert!(
        m.contains("bad-pnr.toml:7:22: subscriber \"s2\": invalid pnr \"311365-xxxx\""),
        "{m}"
    );
    assert!(!m.contains("3113651234"), "{m}");
    let e = load(&testdata("bad-age.toml")).unwrap_err();
    match &e {
        SubscriptionError::Toml { line, problem, .. } => {
            let TomlProblem::Value(v) = problem.as_ref() else {
                panic!("{problem:?}")
            };
            assert_eq!(*line, Some(3));
            assert_eq!(v.subscriber.as_deref(), Some("s1"));
            assert_eq!(v.value, "[65, 18]");
        }
        other => panic!("{other:?}"),
    }
}

fn filters() -> impl Strategy<Value = Filters> {
    (
        prop::collection::vec(0u32..3_200_000_000, 0..50),
        prop::collection::btree_set(1u16..=999, 0..5),
        prop::collection::vec((0i64..=999, 0i64..=999), 0..4),
        prop::collection::btree_set((b'A'..=b'Z', 0u8..100), 0..4),
        any::<bool>(),
    )
        .prop_map(|(keys, municipalities, ages, codes, no_filter)| Filters {
            // Only keys of real dates are PNRs the parser accepts.
            pnrs: keys
                .into_iter()
                .filter(|k| cprsift_format::Pnr::from_key(*k).birth_date().is_some())
                .collect(),
            municipalities,
            ages: Filters::normalise_ages(
                ages.into_iter()
                    .map(|(a, b)| AgeRange::new(a.min(b), a.max(b)).unwrap())
                    .collect(),
            ),
            change_codes: codes
                .into_iter()
                .map(|(l, n)| EventCode::parse(&format!("{}{n:02}", l as char)).unwrap())
                .collect(),
            no_filter,
        })
}

fn registry() -> impl Strategy<Value = Registry> {
    prop::collection::btree_map("[A-Za-z0-9][A-Za-z0-9._-]{0,20}", filters(), 0..6).prop_map(|m| {
        let mut reg = Registry::new();
        for (id, f) in m {
            reg.insert(SubscriberId::new(&id).unwrap(), f);
        }
        reg
    })
}

proptest! {
    #[test]
    fn toml_round_trip(reg in registry()) {
        let text = toml_form::export(&reg);
        let back = toml_form::parse(Path::new("x.toml"), text.as_bytes()).unwrap();
        prop_assert_eq!(&back, &reg);
        prop_assert_eq!(toml_form::export(&back), text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn store_round_trip(regs in prop::collection::vec(registry(), 1..4)) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let store = Store::create(&dir, &regs[0]).unwrap();
        for reg in &regs {
            store.commit(reg).unwrap();
            let (loaded, source) = load(&dir).unwrap();
            prop_assert!(matches!(source, Source::Store(_)));
            prop_assert_eq!(&loaded, reg);
        }
    }
}
