//! `cprsift replica`: placeholder until its issue lands.

use crate::failure::{CommandResult, Failure};

/// The replica subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Not available yet.
    Pending,
}

/// Runs a replica subcommand.
pub fn run(_cmd: Command) -> CommandResult {
    Err(Failure::Usage("replica commands are not built yet".into()))
}
