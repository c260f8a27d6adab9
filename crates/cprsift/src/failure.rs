//! How a command fails: exit 1 for invalid input, 2 for usage and I/O problems.

use std::fmt::Display;
use std::process::ExitCode;

/// A command's failure, already worded for the operator.
#[derive(Debug)]
pub enum Failure {
    /// The input is invalid (exit code 1).
    Invalid(String),
    /// Usage, I/O or environment problem (exit code 2).
    Usage(String),
    /// Stop quietly with success (the reader of stdout went away).
    Quiet,
}

impl Failure {
    /// An I/O or usage failure with context.
    pub fn usage(context: impl Display, error: impl Display) -> Failure {
        Failure::Usage(format!("{context}: {error}"))
    }

    /// Prints the message and returns the exit code.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Invalid(m) => {
                eprintln!("cprsift: {m}");
                ExitCode::from(1)
            }
            Failure::Usage(m) => {
                eprintln!("cprsift: {m}");
                ExitCode::from(2)
            }
            Failure::Quiet => ExitCode::SUCCESS,
        }
    }
}

/// What every command returns.
pub type CommandResult = Result<ExitCode, Failure>;
