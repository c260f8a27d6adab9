//! Errors as data: what went wrong, where (file, line, column), and for whom (subscriber id),
//! each with its category from the project's one table. Messages never hold a full PNR: text
//! echoed from the input (parser messages, ids) passes through the project's masking rule.

use std::fmt;
use std::io;
use std::path::PathBuf;

use cprsift_errors::{mask_personal_numbers, Categorized, Category};
use cprsift_io::error::{classify, Classified};
use thiserror::Error;

/// The filter field (or other input) a value was meant for; its name is the TOML field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The subscriber id.
    Id,
    /// A personal number of the PNR filter.
    Pnr,
    /// A municipality code.
    Municipality,
    /// An age range.
    Age,
    /// An event (change) code.
    ChangeCode,
    /// A filter group named in RemoveAll.
    Group,
    /// The no-filter flag.
    NoFilter,
}

impl Field {
    /// The name used in the TOML form and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Pnr => "pnr",
            Field::Municipality => "municipality",
            Field::Age => "age",
            Field::ChangeCode => "change_code",
            Field::Group => "group",
            Field::NoFilter => "no_filter",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not acceptable for its field. `value` is safe to print: PNR-like text is
/// masked (`DDMMYY-xxxx`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct InvalidValue {
    /// The subscriber the value was meant for, when known.
    pub subscriber: Option<String>,
    /// The field the value was meant for.
    pub field: Field,
    /// The value as shown to the operator (masked where it may be a PNR).
    pub value: String,
    /// Why it is refused, in words.
    pub reason: String,
}

impl InvalidValue {
    /// A refusal not yet tied to a subscriber.
    pub(crate) fn new(field: Field, value: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidValue {
            subscriber: None,
            field,
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// Names the subscriber the value was meant for.
    pub fn for_subscriber(mut self, id: impl fmt::Display) -> Self {
        self.subscriber = Some(id.to_string());
        self
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.subscriber {
            write!(f, "subscriber \"{}\": ", mask_personal_numbers(s))?;
        }
        write!(
            f,
            "invalid {} \"{}\": {}",
            self.field, self.value, self.reason
        )
    }
}

impl Categorized for InvalidValue {
    fn category(&self) -> Category {
        Category::BadValue
    }
}

/// One line of a PNR list file that is not a valid PNR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number in the file.
    pub line: usize,
    /// The value (masked) and the reason.
    pub problem: InvalidValue,
}

impl fmt::Display for RejectedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: \"{}\": {}",
            self.line, self.problem.value, self.problem.reason
        )
    }
}

/// Where in a TOML file a problem is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TomlProblem {
    /// The file is not TOML of the expected shape (syntax, unknown field, wrong type).
    Syntax(String),
    /// The file is well-formed but a value is refused.
    Value(InvalidValue),
    /// Two `[[subscriber]]` tables carry the same id.
    DuplicateId(String),
}

impl fmt::Display for TomlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TomlProblem::Syntax(m) => f.write_str(&mask_personal_numbers(m)),
            TomlProblem::Value(v) => v.fmt(f),
            TomlProblem::DuplicateId(id) => write!(
                f,
                "subscriber \"{}\" is defined twice",
                mask_personal_numbers(id)
            ),
        }
    }
}

/// Everything this crate can fail with.
#[derive(Debug, Error)]
pub enum SubscriptionError {
    /// A value given to an operation is refused; nothing was changed.
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    /// A TOML subscription file is refused; nothing was changed.
    #[error("{}{}: {problem}", file.display(), location(*line, *column))]
    Toml {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column (characters), when known.
        column: Option<usize>,
        /// What is wrong (boxed: keeps every `Result` of this crate small).
        problem: Box<TomlProblem>,
    },
    /// A PNR list file has invalid lines (and they were not to be skipped); nothing was changed.
    #[error("{}: {} invalid line(s): {}", file.display(), rejected.len(), first_lines(rejected))]
    PnrList {
        /// The file.
        file: PathBuf,
        /// Every invalid line.
        rejected: Vec<RejectedLine>,
    },
    /// The subscriber is not in the registry.
    #[error("no subscriber \"{}\"", mask_personal_numbers(.0))]
    UnknownSubscriber(String),
    /// A sync was asked to skip invalid lines: that would remove the subscriptions those lines
    /// were meant to keep.
    #[error("sync refuses to skip invalid lines: a skipped line would remove its subscription")]
    SyncSkipsInvalid,
    /// Reading or writing a file or folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Another process holds the store's writer lock after the bounded wait
    /// (`cprsift_io::lock::LOCK_WAIT`); nothing was changed.
    #[error("{}: another cprsift process is changing this subscription store (its lock is held)", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A name in the store (or the store folder itself, or an export's target) is a link or not
    /// what cprsift writes there: refused, nothing written through it.
    #[error("{0}")]
    UnsafePath(cprsift_io::error::UnsafePath),
    /// A folder is not a subscription store (and, for a new store, not empty).
    #[error("{}: not a subscription store: {detail}", path.display())]
    NotAStore {
        /// The folder.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A store's files are damaged or of another format.
    #[error("{}: damaged subscription store: {detail}", path.display())]
    CorruptStore {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl SubscriptionError {
    /// Wraps an I/O error with the path it concerns; a refusal or a held lock becomes its own
    /// variant.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        match classify(source) {
            Classified::UnsafePath(refusal) => SubscriptionError::UnsafePath(refusal),
            Classified::Locked(locked) => SubscriptionError::Locked { path: locked.path },
            // A failpoint's stop stays an I/O failure here, carrying the stop.
            Classified::Crash(crash) => SubscriptionError::Io {
                path,
                source: io::Error::other(crash),
            },
            Classified::Io(source) => SubscriptionError::Io { path, source },
        }
    }

    /// A damaged-store error.
    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        SubscriptionError::CorruptStore {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

impl Categorized for SubscriptionError {
    fn category(&self) -> Category {
        match self {
            SubscriptionError::Invalid(_) => Category::BadValue,
            SubscriptionError::Toml { problem, .. } => match **problem {
                TomlProblem::Syntax(_) => Category::BadToml,
                TomlProblem::Value(_) => Category::BadValue,
                TomlProblem::DuplicateId(_) => Category::DuplicateSubscriber,
            },
            SubscriptionError::PnrList { .. } => Category::BadPnrList,
            SubscriptionError::UnknownSubscriber(_) => Category::UnknownSubscriber,
            SubscriptionError::SyncSkipsInvalid => Category::BadArgument,
            SubscriptionError::Io { .. } => Category::Io,
            SubscriptionError::NotAStore { .. } => Category::NotAStore,
            SubscriptionError::CorruptStore { .. } => Category::StoreDamaged,
            SubscriptionError::UnsafePath(_) => Category::UnsafePath,
            SubscriptionError::Locked { .. } => Category::Locked,
        }
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// How many rejected lines an error message lists before summarising the rest.
const LISTED_LINES: usize = 20;

fn first_lines(rejected: &[RejectedLine]) -> String {
    let mut text: Vec<String> = rejected
        .iter()
        .take(LISTED_LINES)
        .map(ToString::to_string)
        .collect();
    if rejected.len() > LISTED_LINES {
        text.push(format!("and {} more", rejected.len() - LISTED_LINES));
    }
    text.join("; ")
}
