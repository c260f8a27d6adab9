//! `cprsift`: the command line of the cprsift engine. Thin by design: every command parses its
//! arguments, calls the library crates, and prints what they report.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod deliver;
mod failure;
mod initial_load;
mod inspect;
mod replica;
mod subscriptions;

pub use failure::Failure;

/// cprsift: CPR change extracts thinned to every subscriber, fast and exact.
#[derive(Parser)]
#[command(name = "cprsift", version, about)]
struct Cli {
    /// Worker threads (default: one per core).
    #[arg(long, global = true)]
    threads: Option<usize>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("cprsift: cannot start {n} threads: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Replica(cmd) => replica::run(cmd),
        Command::Subscriptions(cmd) => subscriptions::run(cmd),
        Command::Deliver(args) => deliver::run(args),
        Command::InitialLoad(args) => initial_load::run(args),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
