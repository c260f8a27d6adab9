//! How every command fails, in the project's one error language: one line
//! `cprsift: [category] message` on standard error (personal numbers masked), the exit code the
//! category's class calls for (1 bad input, 2 usage, I/O and environment), and nothing on
//! standard output beyond what was already reported. Standard output itself is written through
//! [`out!`](crate::out), so a reader that goes away ends a command quietly and a full disk
//! fails it with `[io]` instead of a panic.

use std::fmt::{self, Display};
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use cprsift_errors::{mask_personal_numbers, Categorized, Category};
use cprsift_format::InvalidExtract;

/// How many listed input errors a failure message shows before it only counts.
pub const SHOWN_ERRORS: usize = 10;

/// A command's failure.
#[derive(Debug)]
pub enum Failure {
    /// A failure with its category and its message for the operator.
    Error {
        /// The category: its name is printed, its class decides the exit code.
        category: Category,
        /// The message, without the category.
        message: String,
    },
    /// Stop quietly with success (the reader of standard output went away).
    Quiet,
}

impl Failure {
    /// A failure of `category` with `message`.
    pub fn new(category: Category, message: impl Display) -> Failure {
        Failure::Error {
            category,
            message: message.to_string(),
        }
    }

    /// The failure of a library error: its category and its text.
    pub fn of<E: Categorized + Display>(error: &E) -> Failure {
        Failure::new(error.category(), error)
    }

    /// An I/O failure concerning `path`.
    pub fn io(path: &Path, error: &io::Error) -> Failure {
        Failure::new(Category::Io, format!("{}: {error}", path.display()))
    }

    /// Adds the first of an invalid extract's errors, one per line, and the count of the rest.
    pub fn listing(mut self, invalid: &InvalidExtract) -> Failure {
        if let Failure::Error { message, .. } = &mut self {
            for e in invalid.errors.iter().take(SHOWN_ERRORS) {
                message.push_str(&format!(
                    "\n  [{}] {}",
                    e.category,
                    e.in_file(&invalid.path)
                ));
            }
            if invalid.count > SHOWN_ERRORS as u64 {
                let more = invalid.count - SHOWN_ERRORS as u64;
                message.push_str(&format!("\n  ... and {more} more"));
            }
        }
        self
    }

    /// Prints the message and returns the exit code.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Error { category, message } => {
                // Standard error may be closed too; there is nowhere left to say so.
                let _ = writeln!(
                    io::stderr().lock(),
                    "cprsift: [{category}] {}",
                    mask_personal_numbers(&message)
                );
                ExitCode::from(category.exit_code())
            }
            Failure::Quiet => ExitCode::SUCCESS,
        }
    }
}

/// What every command returns.
pub type CommandResult = Result<ExitCode, Failure>;

/// Writes one line to standard output (see [`out!`](crate::out)).
pub fn write_line(args: fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .map_err(|e| stdout_failure(&e))
}

/// Writes `bytes` to standard output as they are (see [`write_line`]).
pub fn write_raw(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| stdout_failure(&e))
}

/// A failed write to standard output: quiet success when the reader went away, else `[io]`.
pub fn stdout_failure(error: &io::Error) -> Failure {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Failure::Quiet
    } else {
        Failure::io(Path::new("standard output"), error)
    }
}

/// `println!` that returns `Result<(), Failure>` instead of panicking when standard output is
/// closed or full.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::failure::write_line(format_args!($($arg)*))
    };
}
