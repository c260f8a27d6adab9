//! `cprsift initial-load --replica DIR --subscriptions PATH --subscriber ID... --outbox DIR`:
//! initial loads for new subscribers in one pass over the replica (docs/rules.md §4), in shards.
//! The work is done by `cprsift-nightly`.

use std::path::PathBuf;
use std::process::ExitCode;

use cprsift_engine::{InitialLoadOptions, OutputOptions};
use cprsift_nightly::{initial_load, InitialLoadRequest};

use crate::args::TerminatorArg;
use crate::deliver::nightly_failure;
use cprsift_errors::Category;

use crate::failure::{CommandResult, Failure};

/// Arguments of `initial-load`.
#[derive(clap::Args)]
pub struct Args {
    /// The replica directory.
    #[arg(long)]
    replica: PathBuf,
    /// A subscription store directory, or a TOML file.
    #[arg(long)]
    subscriptions: PathBuf,
    /// The new subscribers (each in the registry); all are served by one pass.
    #[arg(long = "subscriber", value_name = "ID", required = true)]
    subscribers: Vec<String>,
    /// The outbox: one folder per subscriber.
    #[arg(long)]
    outbox: PathBuf,
    /// Largest shard in bytes (before compression).
    #[arg(long, value_name = "BYTES", default_value_t = cprsift_engine::DEFAULT_SHARD_SIZE)]
    shard_size: u64,
    /// Compress shards with zstd at this level (names get `.zst`).
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd: Option<i32>,
    /// Output record terminator (`--framing` is an older name for it).
    #[arg(long, alias = "framing", value_enum, default_value_t = TerminatorArg::Lf)]
    terminator: TerminatorArg,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `initial-load`.
pub fn run(args: Args) -> CommandResult {
    let request = InitialLoadRequest {
        replica: args.replica,
        subscriptions: args.subscriptions,
        subscribers: args.subscribers,
        outbox: args.outbox,
        options: InitialLoadOptions {
            output: OutputOptions {
                terminator: args.terminator.into(),
                zstd: args.zstd,
            },
            shard_size: args.shard_size,
        },
    };
    let report = initial_load(&request).map_err(nightly_failure)?;
    if args.json {
        let json = serde_json::to_string(&report)
            .map_err(|e| Failure::new(Category::Io, format!("json: {e}")))?;
        crate::out!("{json}")?;
    } else {
        let m = &report.manifest;
        crate::out!("replica:   PRODDTO {}, OPGAVENR {}", m.proddto, m.opgavenr)?;
        for id in &m.subscribers {
            let files: Vec<_> = m.files.iter().filter(|f| &f.subscriber == id).collect();
            let persons: u64 = files.iter().map(|f| f.persons).sum();
            let bytes: u64 = files.iter().map(|f| f.bytes).sum();
            crate::out!(
                "{id}: {persons} persons in {} shards, {bytes} bytes",
                files.len()
            )?;
        }
        crate::out!("manifest:  {}", report.manifest_path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
