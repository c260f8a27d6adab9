//! `cprsift subscriptions`: placeholder until its issue lands.

use crate::failure::{CommandResult, Failure};

/// The subscriptions subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Not available yet.
    Pending,
}

/// Runs a subscriptions subcommand.
pub fn run(_cmd: Command) -> CommandResult {
    Err(Failure::Usage(
        "subscriptions commands are not built yet".into(),
    ))
}
