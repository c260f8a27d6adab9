//! Shared set-up of the benchmarks: generated data sets, made once per run in a temporary
//! folder that is removed afterwards (generated data never enters git).

use std::path::{Path, PathBuf};

use cprgen::{generate_full, FullConfig, Summary};

/// A generated full extract on disk, removed when dropped.
pub struct DataSet {
    _dir: tempfile::TempDir,
    path: PathBuf,
    /// What the generator says it wrote: the benches assert these counts before timing.
    pub summary: Summary,
}

impl DataSet {
    /// Generates a full extract of `persons` persons (seed 1) under the system temp folder, or
    /// under `CPRSIFT_BENCH_DIR` when set.
    pub fn full_extract(persons: u64) -> DataSet {
        let dir = match std::env::var_os("CPRSIFT_BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d),
            None => tempfile::tempdir(),
        }
        .expect("a temporary folder for the bench data");
        let path = dir.path().join("full.txt");
        let file = std::fs::File::create(&path).expect("the bench data file");
        let summary = generate_full(&FullConfig::persons(persons, 1), std::io::BufWriter::new(file))
            .expect("generating the bench data");
        DataSet { _dir: dir, path, summary }
    }

    /// The extract's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The speed-of-light reference: counting line feeds with memchr over the same bytes.
pub fn count_lines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}
