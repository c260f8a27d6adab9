//! Placeholder until its issue lands.

use crate::failure::{CommandResult, Failure};

/// Arguments.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> CommandResult {
    Err(Failure::Usage("not built yet".into()))
}
