//! Subscriber sets: TOML in the subscription store's form, a realistic mix, PNRs drawn from the
//! extract.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use cprgen::{generate_full, generate_subscribers, FullConfig, SubscriberConfig};

#[test]
fn default_mix_is_valid_toml_with_the_expected_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.txt");
    let mut bytes = Vec::new();
    generate_full(&FullConfig::persons(20_000, 2), &mut bytes).unwrap();
    std::fs::write(&full, &bytes).unwrap();
    let x = cprsift_format::Extract::open(&bytes, Default::default()).unwrap();
    let pnrs: HashSet<String> = x
        .blocks()
        .map(|b| String::from_utf8(b.unwrap().pnr().digits().to_vec()).unwrap())
        .collect();
    let out = dir.path().join("subs.toml");
    let summary = generate_subscribers(&SubscriberConfig::new(full, out.clone())).unwrap();
    assert_eq!(summary.subscribers, 350);
    let doc: toml::Table = std::fs::read_to_string(&out).unwrap().parse().unwrap();
    let subs = doc["subscriber"].as_array().unwrap();
    assert_eq!(subs.len(), 350);
    let (mut municipal, mut lists, mut ages, mut codes, mut open) = (HashSet::new(), 0, 0, 0, 0);
    let mut ids = HashSet::new();
    for s in subs {
        let id = s["id"].as_str().unwrap();
        assert!(id.len() <= 64 && id.chars().next().unwrap().is_ascii_alphanumeric());
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
        assert!(ids.insert(id.to_string()));
        for k in s["municipality"].as_array().unwrap() {
            municipal.insert(k.as_integer().unwrap());
        }
        let list = s["pnr"].as_array().unwrap();
        if !list.is_empty() {
            lists += 1;
            assert!(list.len() >= 100);
            assert!(list.iter().all(|p| pnrs.contains(p.as_str().unwrap())));
        }
        ages += usize::from(!s["age"].as_array().unwrap().is_empty());
        codes += usize::from(!s["change_code"].as_array().unwrap().is_empty());
        open += usize::from(s["no_filter"].as_bool().unwrap());
    }
    assert_eq!(municipal.len(), 98);
    assert!(municipal.contains(&101) && municipal.contains(&851));
    assert!(
        lists > 150 && ages >= 10 && codes >= 10 && open == 3,
        "{lists} {ages} {codes} {open}"
    );
    assert_eq!(
        summary.pnrs as usize,
        subs.iter()
            .map(|s| s["pnr"].as_array().unwrap().len())
            .sum::<usize>()
    );
}
