//! Argument types more than one command takes, parsed by the rules of the crates that own
//! them.

use cprsift_format::write::Terminator;

/// Output record terminators (docs/rules.md §3.6 switch).
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum TerminatorArg {
    /// One record per line, LF-terminated (default).
    #[default]
    Lf,
    /// One record per line, CRLF-terminated.
    Crlf,
    /// Records concatenated without terminators.
    None,
}

impl From<TerminatorArg> for Terminator {
    fn from(f: TerminatorArg) -> Terminator {
        match f {
            TerminatorArg::Lf => Terminator::Lf,
            TerminatorArg::Crlf => Terminator::Crlf,
            TerminatorArg::None => Terminator::None,
        }
    }
}

/// A job number (OPGAVENR) given on the command line, by the format's rule (six digits).
pub fn parse_opgavenr(text: &str) -> Result<[u8; 6], String> {
    cprsift_format::opgavenr_from(text.as_bytes())
        .ok_or_else(|| "a job number (OPGAVENR) is six digits".to_string())
}
