//! Times the single-pass reader against a memchr line count over one mapping of a file, for
//! files too large for the criterion bench: `cargo run --release -p cprsift-benches --example
//! read_ratio -- FILE [RUNS [NAME]]`. Prints each measurement's best time and its throughput as a share
//! of the line count's, run by run interleaved so that a busy machine affects all alike. A
//! measurement, not a test.

use std::time::{Duration, Instant};

use cprsift_benches::count_lines;
use cprsift_format::{CheckedExtract, ContentId, ExtractOptions};
use cprsift_io::MappedFile;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: read_ratio FILE [RUNS [NAME]]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    // A third argument names the one measurement to run (for a profiler).
    let only = args.next();
    let map = MappedFile::open(std::path::Path::new(&path)).expect("mapping the file");
    let bytes: &[u8] = &map;
    let options = ExtractOptions::default();
    let mut best = [Duration::MAX; 4];
    let names = ["memchr_line_count", "read", "read_unhashed", "content_id"];
    for _ in 0..runs {
        let mut time = |i: usize, f: &dyn Fn() -> usize| {
            if only.as_deref().is_some_and(|o| o != names[i]) {
                return;
            }
            let t = Instant::now();
            std::hint::black_box(f());
            best[i] = best[i].min(t.elapsed());
        };
        time(0, &|| count_lines(bytes));
        time(1, &|| CheckedExtract::read(bytes, options).len());
        time(2, &|| CheckedExtract::read_unhashed(bytes, options).len());
        time(3, &|| ContentId::of(bytes).as_bytes()[0] as usize);
    }
    let gib = bytes.len() as f64 / (1u64 << 30) as f64;
    for (name, t) in names.iter().zip(best).filter(|(_, t)| *t < Duration::MAX) {
        println!(
            "{name:18} {:8.1} ms {:6.2} GiB/s {:5.1} % of the line count",
            t.as_secs_f64() * 1e3,
            gib / t.as_secs_f64(),
            100.0 * best[0].as_secs_f64() / t.as_secs_f64()
        );
    }
}
