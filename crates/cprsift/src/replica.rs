//! `cprsift replica`: keep the replica (init, apply, export, status). The work is done by the
//! `cprsift-replica` crate; this module parses arguments and words its reports.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use cprsift_format::ExtractOptions;
use cprsift_replica::{short_id, ApplyOptions, ApplyOutcome, InitOptions, ReplicaError};

use cprsift_errors::Category;

use crate::args::parse_opgavenr;
use crate::failure::{CommandResult, Failure};

/// The replica subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Build a replica from a full extract (checked strictly first; nothing is created if invalid).
    Init {
        /// The full extract (status layout U12180 or change layout U12170).
        extract: PathBuf,
        /// The replica directory to create (new or empty).
        #[arg(long)]
        replica: PathBuf,
        /// Treat record types the specification does not define as errors.
        #[arg(long)]
        strict_unknown: bool,
    },
    /// Apply change extracts in PRODDTO order; ones already applied (the same content) are
    /// skipped.
    Apply {
        /// The change extracts.
        #[arg(required = true)]
        extracts: Vec<PathBuf>,
        /// The replica directory.
        #[arg(long)]
        replica: PathBuf,
        /// Treat record types the specification does not define as errors.
        #[arg(long)]
        strict_unknown: bool,
        /// Accept this new job number (OPGAVENR, six digits) where the replica expects the one
        /// of the last change extract applied (changing job number on purpose; this call only).
        #[arg(long, value_name = "OPGAVENR", value_parser = parse_opgavenr)]
        accept_opgavenr: Option<[u8; 6]>,
    },
    /// Write the replica as one extract (atomically, mode 0600).
    Export {
        /// The replica directory.
        #[arg(long)]
        replica: PathBuf,
        /// The file to write.
        out: PathBuf,
    },
    /// Show the replica's date, persons by status, size, segments and generations.
    Status {
        /// The replica directory.
        #[arg(long)]
        replica: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a replica subcommand: exit 0 on success (also when every file was already applied),
/// 1 for invalid input (an invalid extract, a sequence gap, a different extract under an
/// applied date, another job number), 2 for everything else.
pub fn run(cmd: Command) -> CommandResult {
    match cmd {
        Command::Init {
            extract,
            replica,
            strict_unknown,
        } => init(&extract, &replica, strict_unknown),
        Command::Apply {
            extracts,
            replica,
            strict_unknown,
            accept_opgavenr,
        } => apply(&extracts, &replica, strict_unknown, accept_opgavenr),
        Command::Export { replica, out } => export(&replica, &out),
        Command::Status { replica, json } => status(&replica, json),
    }
}

/// Words a replica error for the operator, with every listed input error.
fn failure(e: ReplicaError) -> Failure {
    match &e {
        ReplicaError::Invalid(invalid) => Failure::of(&e).listing(invalid),
        _ => Failure::of(&e),
    }
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn init(extract: &Path, replica: &Path, strict_unknown: bool) -> CommandResult {
    let started = Instant::now();
    let opts = InitOptions {
        extract: ExtractOptions { strict_unknown },
    };
    let r = cprsift_replica::init(extract, replica, opts).map_err(failure)?;
    let secs = started.elapsed().as_secs_f64();
    crate::out!(
        "replica {} initialised from {}: {} persons, PRODDTO {}, OPGAVENR {}, {}",
        replica.display(),
        extract.display(),
        r.persons,
        r.proddto,
        r.opgavenr,
        short_id(&r.content_id)
    )?;
    crate::out!(
        "stored {:.1} MB in 1 segment; index {:.1} MB ({} bytes per person); {:.2} s, {:.0} MB/s; {} warnings",
        megabytes(r.segment_bytes),
        megabytes(r.index_bytes),
        r.index_bytes_per_person,
        secs,
        megabytes(r.input_bytes) / secs.max(1e-9),
        r.warnings
    )?;
    Ok(ExitCode::SUCCESS)
}

fn apply(
    extracts: &[PathBuf],
    replica: &Path,
    strict_unknown: bool,
    accept_opgavenr: Option<[u8; 6]>,
) -> CommandResult {
    let opts = ApplyOptions {
        extract: ExtractOptions { strict_unknown },
        accept_opgavenr,
    };
    let started = Instant::now();
    let outcomes = cprsift_replica::apply(replica, extracts, opts).map_err(failure)?;
    for o in &outcomes {
        match o {
            ApplyOutcome::Applied {
                path,
                proddto,
                content_id,
                persons,
                new_persons,
                set_aside: _,
                generation,
                segment_bytes,
                compacted_segments,
            } => {
                crate::out!(
                    "applied {} (PRODDTO {proddto}, {}): {persons} persons, {new_persons} new; \
                     generation {generation}, {:.1} MB written{}",
                    path.display(),
                    short_id(content_id),
                    megabytes(*segment_bytes),
                    if *compacted_segments > 0 {
                        format!(", {compacted_segments} segments compacted")
                    } else {
                        String::new()
                    }
                )?;
            }
            ApplyOutcome::AlreadyApplied {
                path,
                proddto,
                content_id,
                replica,
            } => crate::out!(
                "already applied: {} (PRODDTO {proddto}, {}; the replica is of {replica}), skipped",
                path.display(),
                short_id(content_id)
            )?,
        }
    }
    crate::out!("{:.2} s", started.elapsed().as_secs_f64())?;
    Ok(ExitCode::SUCCESS)
}

fn export(replica: &Path, out: &Path) -> CommandResult {
    let r = cprsift_replica::export(replica, out).map_err(failure)?;
    crate::out!(
        "exported {} persons ({} records, {:.1} MB) of {} to {}",
        r.persons,
        r.records,
        megabytes(r.bytes),
        r.proddto,
        out.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn status(replica: &Path, json: bool) -> CommandResult {
    let s = cprsift_replica::status(replica).map_err(failure)?;
    if json {
        let value = serde_json::to_value(&s)
            .map_err(|e| Failure::new(Category::Io, format!("json: {e}")))?;
        crate::out!("{value}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let by_status: Vec<String> = s
        .persons_by_status
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    crate::out!("replica:      {}", s.dir.display())?;
    crate::out!("PRODDTO:      {}", s.proddto)?;
    crate::out!("OPGAVENR:     {}", s.opgavenr)?;
    crate::out!("persons:      {}", s.persons)?;
    crate::out!("by status:    {}", by_status.join(", "))?;
    crate::out!(
        "index:        {:.1} MB ({} bytes per person)",
        megabytes(s.index_bytes),
        s.index_bytes_per_person
    )?;
    crate::out!(
        "segments:     {} ({:.1} MB, {:.1} MB dead)",
        s.segments.len(),
        megabytes(s.segment_bytes),
        megabytes(s.dead_bytes)
    )?;
    crate::out!("generation:   {} ({} present)", s.generation, s.generations)?;
    crate::out!(
        "extracts:     {} applied, the last {}",
        s.extracts_applied,
        s.last_extract.as_deref().unwrap_or("none")
    )?;
    for a in &s.history {
        let aside = match a.set_aside {
            Some(n) => format!(", {n} blocks set aside"),
            None => String::new(),
        };
        crate::out!(
            "  {}  {}  {}  {}  {} persons ({} new){aside}",
            a.proddto,
            a.opgavenr.as_deref().unwrap_or("------"),
            a.content_id
                .as_ref()
                .map_or_else(|| "(no identity recorded)".to_string(), short_id),
            a.file,
            a.persons,
            a.new_persons
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
