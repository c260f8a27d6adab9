//! `cprsift deliver CHANGE_EXTRACT --replica DIR --subscriptions PATH --outbox DIR`: the nightly
//! run (docs/rules.md §5.6): read the extract once, check the sequence against the replica,
//! write every subscriber's daily file against the state before apply, move PNR subscriptions,
//! and with `--apply` apply the extract to the replica. The work is done by `cprsift-nightly`.

use std::path::PathBuf;
use std::process::ExitCode;

use cprsift_engine::{DailyOptions, MatchOptions, OutputOptions};
use cprsift_format::ExtractOptions;
use cprsift_nightly::{deliver, DeliverRequest, DeliveryOutcome, DeliveryReport, NightlyError};
use cprsift_replica::ReplicaError;

use cprsift_errors::Category;

use crate::args::{parse_opgavenr, TerminatorArg};
use crate::failure::{CommandResult, Failure};

/// Arguments of `deliver`.
#[derive(clap::Args)]
pub struct Args {
    /// The day's change extract.
    extract: PathBuf,
    /// The replica directory (delivery reads its state before this extract).
    #[arg(long)]
    replica: PathBuf,
    /// A subscription store directory, or a TOML file (then PNR moves are only reported).
    #[arg(long)]
    subscriptions: PathBuf,
    /// The outbox: one folder per subscriber.
    #[arg(long)]
    outbox: PathBuf,
    /// After delivering, apply the extract to the replica.
    #[arg(long)]
    apply: bool,
    /// Municipality filters look only at today's address, not the replica's (switch after-only).
    #[arg(long)]
    after_only: bool,
    /// Change-code filters look only at the main person's events (switch main-only).
    #[arg(long)]
    main_only: bool,
    /// No file for a subscriber without a matching person (switch skip-empty).
    #[arg(long)]
    skip_empty: bool,
    /// Output record terminator (`--framing` is an older name for it).
    #[arg(long, alias = "framing", value_enum, default_value_t = TerminatorArg::Lf)]
    terminator: TerminatorArg,
    /// Compress files with zstd at this level (names get `.zst`).
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd: Option<i32>,
    /// Treat record types the specification does not define as errors everywhere.
    #[arg(long)]
    strict_unknown: bool,
    /// Set malformed person blocks aside into the run's reject file and deliver the rest
    /// (errors of the file itself still stop the run).
    #[arg(long)]
    lenient: bool,
    /// Accept this new job number (OPGAVENR, six digits) where the replica expects the one of
    /// the change extracts applied so far: the way to change job number on purpose.
    #[arg(long, value_name = "OPGAVENR", value_parser = parse_opgavenr)]
    accept_opgavenr: Option<[u8; 6]>,
    /// Print the run report as JSON.
    #[arg(long)]
    json: bool,
}

/// Words a nightly-run error for the operator, with every listed input error.
pub fn nightly_failure(e: NightlyError) -> Failure {
    match &e {
        NightlyError::Invalid(invalid) | NightlyError::Replica(ReplicaError::Invalid(invalid)) => {
            Failure::of(&e).listing(invalid)
        }
        _ => Failure::of(&e),
    }
}

/// Runs `deliver`.
pub fn run(args: Args) -> CommandResult {
    let request = DeliverRequest {
        extract: args.extract,
        replica: args.replica,
        subscriptions: args.subscriptions,
        outbox: args.outbox,
        extract_options: ExtractOptions {
            strict_unknown: args.strict_unknown,
        },
        matching: MatchOptions {
            after_only: args.after_only,
            main_events_only: args.main_only,
        },
        daily: DailyOptions {
            output: OutputOptions {
                terminator: args.terminator.into(),
                zstd: args.zstd,
            },
            skip_empty: args.skip_empty,
        },
        apply: args.apply,
        lenient: args.lenient,
        accept_opgavenr: args.accept_opgavenr,
    };
    let report = deliver(&request).map_err(nightly_failure)?;
    if args.json {
        let json = serde_json::to_string(&report)
            .map_err(|e| Failure::new(Category::Io, format!("json: {e}")))?;
        crate::out!("{json}")?;
    } else {
        print_human(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_human(r: &DeliveryReport) -> Result<(), Failure> {
    let what = match r.outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::AlreadyDelivered => {
            "already delivered (complete manifest found); not written again"
        }
        DeliveryOutcome::AlreadyApplied => {
            "already applied to the replica; nothing delivered again"
        }
    };
    crate::out!(
        "extract:   PRODDTO {}, OPGAVENR {}, {} persons",
        r.proddto,
        r.opgavenr,
        r.persons
    )?;
    crate::out!("outcome:   {what}")?;
    if let Some(m) = &r.manifest {
        let persons: u64 = m.files.iter().map(|f| f.persons).sum();
        let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
        crate::out!(
            "files:     {} for {} subscribers ({} skipped empty), {persons} persons, {bytes} bytes",
            m.files.len(),
            m.subscribers,
            m.skipped_empty.len()
        )?;
    }
    if let Some(p) = &r.manifest_path {
        crate::out!("manifest:  {}", p.display())?;
    }
    let verb = if r.moves_committed {
        "moved"
    } else {
        "due (not written back: TOML file)"
    };
    for m in &r.pnr_moves {
        crate::out!("pnr move:  {} {} -> {} {verb}", m.subscriber, m.from, m.to)?;
    }
    if !r.set_aside.is_empty() {
        crate::out!(
            "set aside: {} malformed person block(s), neither delivered nor applied",
            r.set_aside.len()
        )?;
        if let Some(p) = &r.reject_file {
            crate::out!("rejects:   {}", p.display())?;
        }
        const SHOWN: usize = 20;
        for s in r.set_aside.iter().take(SHOWN) {
            crate::out!("  [{}] {}", s.category, s.reason)?;
        }
        if r.set_aside.len() > SHOWN {
            crate::out!(
                "  ... {} more in the reject file",
                r.set_aside.len() - SHOWN
            )?;
        }
    }
    if r.warnings > 0 {
        crate::out!(
            "warnings:  {} (undefined record types carried through)",
            r.warnings
        )?;
    }
    if r.applied {
        crate::out!("replica:   extract applied")?;
    }
    Ok(())
}
