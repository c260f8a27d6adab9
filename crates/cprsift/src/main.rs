//! `cprsift`: the command line of the cprsift engine. Thin by design: every command parses its
//! arguments, calls the library crates, and prints what they report.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cprsift_errors::Category;

mod args;
mod check;
mod deliver;
mod failure;
mod initial_load;
mod inspect;
mod replica;
mod subscriptions;

use failure::{CommandResult, Failure};

/// cprsift: CPR change extracts thinned to every subscriber, fast and exact.
#[derive(Parser)]
#[command(name = "cprsift", version, about)]
struct Cli {
    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS))]
    threads: Option<u16>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate an extract and report what it holds.
    Check(check::Args),
    /// Print records as JSON lines with field names and decoded text.
    Inspect(inspect::Args),
    /// Keep the replica: init, apply, export, status.
    #[command(subcommand)]
    Replica(replica::Command),
    /// Manage subscribers and their filters.
    #[command(subcommand)]
    Subscriptions(subscriptions::Command),
    /// Deliver a change extract to every subscriber.
    Deliver(deliver::Args),
    /// Write initial loads for new subscribers from the replica.
    InitialLoad(initial_load::Args),
}

/// The most worker threads `--threads` accepts: far beyond any machine's use for this work,
/// low enough that a typo cannot exhaust the system.
const MAX_THREADS: i64 = 1024;

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => run(cli).unwrap_or_else(Failure::report),
        Err(e) => command_line_failure(&e),
    }
}

/// Help and version go to standard output (exit 0); a value of the wrong form or out of range
/// is bad input (`[bad-argument]`, exit 1); anything else clap refuses is `[usage]` (exit 2).
fn command_line_failure(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let category = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return match e.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(io) => failure::stdout_failure(&io).report(),
            };
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8 => {
            Category::BadArgument
        }
        _ => Category::Usage,
    };
    let text = e.render().to_string();
    let text = text.trim_end().trim_start_matches("error: ");
    Failure::new(category, text).report()
}

fn run(cli: Cli) -> CommandResult {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build_global()
            .map_err(|e| Failure::new(Category::Io, format!("cannot start {n} threads: {e}")))?;
    }
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Replica(cmd) => replica::run(cmd),
        Command::Subscriptions(cmd) => subscriptions::run(cmd),
        Command::Deliver(args) => deliver::run(args),
        Command::InitialLoad(args) => initial_load::run(args),
    }
}
