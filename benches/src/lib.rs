//! Shared set-up of the benchmarks: generated data sets, made once per run in a temporary
//! folder that is removed afterwards (generated data never enters git).

use std::io::Read;
use std::path::{Path, PathBuf};

use cprgen::{
    generate_days, generate_full, generate_subscribers, DayConfig, FullConfig, SubscriberConfig,
    Summary,
};

/// A temporary folder for bench data: under `CPRSIFT_BENCH_DIR` when set, else the system's.
pub fn scratch() -> tempfile::TempDir {
    match std::env::var_os("CPRSIFT_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("a temporary folder for the bench data")
}

/// Reads a size from the environment (`name`), or the default.
pub fn env_size(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A generated full extract on disk, removed when dropped.
pub struct DataSet {
    dir: tempfile::TempDir,
    path: PathBuf,
    /// What the generator says it wrote: the benches assert these counts before timing.
    pub summary: Summary,
}

impl DataSet {
    /// Generates a full extract of `persons` persons (seed 1).
    pub fn full_extract(persons: u64) -> DataSet {
        let dir = scratch();
        let path = dir.path().join("full.txt");
        let file = std::fs::File::create(&path).expect("the bench data file");
        let summary = generate_full(
            &FullConfig::persons(persons, 1),
            std::io::BufWriter::new(file),
        )
        .expect("generating the bench data");
        DataSet { dir, path, summary }
    }

    /// The extract's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data set's folder, for what is derived from it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A replica of a generated full extract, one generated weekday after it, and subscriber
/// stores of two sizes: what the nightly run reads.
pub struct Night {
    /// The full extract (kept for its folder).
    pub full: DataSet,
    /// The replica folder.
    pub replica: PathBuf,
    /// The weekday's change extract.
    pub day: PathBuf,
    /// Persons in the weekday.
    pub day_persons: u64,
    /// Subscription stores by number of subscribers.
    pub stores: Vec<(u32, PathBuf)>,
}

impl Night {
    /// Generates `persons` persons, inits the replica, makes one weekday and the stores.
    pub fn generate(persons: u64, subscriber_counts: &[u32]) -> Night {
        let full = DataSet::full_extract(persons);
        let replica = full.dir().join("replica");
        cprsift_replica::init(full.path(), &replica, Default::default()).expect("replica init");
        let days = generate_days(&DayConfig::new(
            full.path().to_path_buf(),
            full.dir().join("days"),
        ))
        .expect("generating a weekday");
        let stores = subscriber_counts
            .iter()
            .map(|&n| {
                let toml = full.dir().join(format!("subscribers-{n}.toml"));
                let mut cfg = SubscriberConfig::new(full.path().to_path_buf(), toml.clone());
                cfg.subscribers = n;
                generate_subscribers(&cfg).expect("generating subscribers");
                let (registry, _) =
                    cprsift_subscriptions::load(&toml).expect("loading subscribers");
                let store = full.dir().join(format!("store-{n}"));
                cprsift_subscriptions::Store::create(&store, &registry).expect("creating a store");
                (n, store)
            })
            .collect();
        Night {
            replica,
            day: days[0].path.clone(),
            day_persons: days[0].persons,
            stores,
            full,
        }
    }
}

/// The speed-of-light reference: counting line feeds with memchr over the same bytes.
pub fn count_lines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// The plain-copy reference: reads every file under `path` (a file or a folder, recursively)
/// as `cat` would, returning the bytes read.
pub fn read_all(path: &Path) -> u64 {
    if path.is_dir() {
        let mut total = 0;
        for entry in std::fs::read_dir(path).expect("a readable folder") {
            total += read_all(&entry.expect("a folder entry").path());
        }
        total
    } else {
        let mut file = std::fs::File::open(path).expect("a readable file");
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        loop {
            let n = file.read(&mut buf).expect("reading");
            if n == 0 {
                return total;
            }
            total += n as u64;
        }
    }
}
