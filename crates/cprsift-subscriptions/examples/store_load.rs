//! Measures how long a store takes to load (a measurement, not a test):
//! `cargo run --release -p cprsift-subscriptions --example store_load [SCRATCH_DIR]`.
//!
//! Three stores: 10,000 subscribers with 100 PNRs and a few other filters each; one subscriber
//! with 200,000 PNRs; both together. Prints commit and load times (best of 5) and sizes, and
//! the TOML form's parse time of the 200,000-PNR subscriber for comparison.

#![allow(clippy::unwrap_used)] // a measurement program: any failure should stop it loudly

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cprsift_format::{EventCode, Pnr};
use cprsift_subscriptions::{toml_form, AgeRange, Filters, Registry, Store, SubscriberId};

/// A small deterministic generator (64-bit LCG): the figures must not depend on luck.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn pnr(&mut self) -> u32 {
        let (d, m, y, s) = (
            1 + self.below(28),
            1 + self.below(12),
            self.below(100),
            self.below(10_000),
        );
        let digits = format!("{d:02}{m:02}{y:02}{s:04}");
        Pnr::from_digits(digits.as_bytes()).unwrap().key()
    }
}

fn subscriber(rng: &mut Lcg, pnrs: usize) -> Filters {
    let start = rng.below(90) as i64;
    Filters {
        pnrs: (0..pnrs).map(|_| rng.pnr()).collect(),
        municipalities: (0..1 + rng.below(3))
            .map(|_| 1 + rng.below(999) as u16)
            .collect(),
        ages: vec![AgeRange::new(start, start + 10).unwrap()],
        change_codes: ["A01", "A21"]
            .iter()
            .map(|c| EventCode::parse(c).unwrap())
            .collect(),
        no_filter: false,
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        best = best.min(t.elapsed());
    }
    (best, last.unwrap())
}

fn dir_size(dir: &Path) -> u64 {
    let gen = std::fs::read_link(dir.join("current")).unwrap();
    std::fs::read_dir(dir.join(gen))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn measure(name: &str, dir: PathBuf, reg: &Registry) {
    let _ = std::fs::remove_dir_all(&dir);
    let t = Instant::now();
    let store = Store::create(&dir, reg).unwrap();
    let commit = t.elapsed();
    let (load, loaded) = best_of(5, || store.load().unwrap());
    assert_eq!(&loaded, reg);
    let pnrs: u64 = reg.subscribers().map(|(_, f)| f.pnrs.len()).sum();
    println!(
        "{name}: {} subscribers, {pnrs} PNRs, store {} KiB: commit {:.1} ms, load {:.1} ms",
        reg.len(),
        dir_size(&dir) / 1024,
        commit.as_secs_f64() * 1e3,
        load.as_secs_f64() * 1e3
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn main() {
    let scratch = std::env::args().nth(1).map_or_else(
        || PathBuf::from("/work/scratch/subscriptions"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&scratch).unwrap();
    let mut rng = Lcg(20_220_512);
    let mut many = Registry::new();
    for i in 0..10_000 {
        let id = SubscriberId::new(&format!("sub-{i:05}")).unwrap();
        many.insert(id, subscriber(&mut rng, 100));
    }
    let mut big = Registry::new();
    big.insert(
        SubscriberId::new("big").unwrap(),
        subscriber(&mut rng, 200_000),
    );
    measure("10k subscribers", scratch.join("many"), &many);
    measure("one 200k-PNR list", scratch.join("big"), &big);
    let mut both = many.clone();
    for (id, f) in big.subscribers() {
        both.insert(id.clone(), f.clone());
    }
    measure("both", scratch.join("both"), &both);
    let text = toml_form::export(&big);
    let (parse, _) = best_of(3, || {
        toml_form::parse(Path::new("big.toml"), text.as_bytes()).unwrap()
    });
    println!(
        "TOML form of the 200k-PNR list: {} KiB, parse {:.1} ms",
        text.len() / 1024,
        parse.as_secs_f64() * 1e3
    );
}
