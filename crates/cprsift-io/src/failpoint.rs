//! Named failpoints: a test hook that stops a write where a crash would, to prove that every
//! state a crash can leave is the old state or the new one, and that a rerun completes it.
//!
//! The writers of this crate call [`reach`] at each durable step ([`Step`], one table). Nothing
//! happens unless a failpoint is armed, in one of two ways:
//! - **in-process** (unit and integration tests): [`arm`] on the calling thread; the step then
//!   returns an error ([`Category::Failpoint`](cprsift_errors::Category::Failpoint)) and, until the guard is
//!   dropped, [`crashed`] is true so that no clean-up runs (temporary files stay, as after a
//!   kill);
//! - **the built binary**: the environment variable [`ENV`] (`CPRSIFT_FAILPOINT=<step>` or
//!   `<step>:<n>`, the `n`-th time the step is reached, default 1) makes the process call
//!   `std::process::abort()` there: no destructor, no clean-up, no flush of buffers.
//!
//! This is a test hook, not a setting: production never sets the variable.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms a failpoint in a built binary.
pub const ENV: &str = "CPRSIFT_FAILPOINT";

/// A durable step of a write, where a failpoint can stop it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// An atomic file is written and fsynced under its temporary name, not yet renamed.
    FileSynced,
    /// An atomic file is renamed into place and its folder fsynced.
    FileCommitted,
    /// A batch's staged files are durable (one `syncfs` per file system), none renamed.
    BatchSynced,
    /// One more file of a batch is renamed into place (reached once per file).
    BatchRenamed,
    /// A new generation's files are written and synced in its temporary folder.
    GenerationWritten,
    /// The new generation's folder has its final name `gen-N`; `CURRENT` still names the old.
    GenerationNamed,
    /// The new `CURRENT` is written and synced under its temporary name.
    PointerWritten,
    /// `CURRENT` names the new generation: the commit point.
    Switched,
    /// One entry the current generation does not reference is removed (once per entry).
    Removed,
}

/// Every step: its name (the value of [`ENV`]) and what a crash there leaves.
pub const STEPS: [(Step, &str, &str); 9] = [
    (Step::FileSynced, "file-synced", "a stray temporary file"),
    (Step::FileCommitted, "file-committed", "the file in place"),
    (Step::BatchSynced, "batch-synced", "stray temporary files"),
    (
        Step::BatchRenamed,
        "batch-renamed",
        "some of a batch's files in place",
    ),
    (
        Step::GenerationWritten,
        "generation-written",
        "the old generation; a stray folder",
    ),
    (
        Step::GenerationNamed,
        "generation-named",
        "the old generation; an unused one",
    ),
    (
        Step::PointerWritten,
        "pointer-written",
        "the old generation; a stray pointer",
    ),
    (
        Step::Switched,
        "switched",
        "the new generation; the old one not yet removed",
    ),
    (Step::Removed, "removed", "the new generation; some garbage"),
];

impl Step {
    /// The step's name, as [`ENV`] takes it.
    pub fn name(self) -> &'static str {
        STEPS
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("", |(_, name, _)| name)
    }

    /// The step of a name.
    pub fn from_name(name: &str) -> Option<Step> {
        STEPS
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(s, _, _)| *s)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where to stop: the `nth` time (from 1) `step` is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failpoint {
    /// The step.
    pub step: Step,
    /// Which time it is reached.
    pub nth: u32,
}

impl Failpoint {
    /// Parses `<step>` or `<step>:<n>`.
    pub fn parse(text: &str) -> Option<Failpoint> {
        let (name, nth) = match text.split_once(':') {
            Some((name, n)) => (name, n.parse().ok().filter(|&n| n > 0)?),
            None => (text, 1),
        };
        Some(Failpoint {
            step: Step::from_name(name.trim())?,
            nth,
        })
    }
}

/// The error a failpoint returns in-process: the operation stopped as a crash would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crash {
    /// Where it stopped.
    pub at: Failpoint,
}

impl fmt::Display for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "failpoint: stopped at {}:{} as a crash would",
            self.at.step, self.at.nth
        )
    }
}

impl std::error::Error for Crash {}

/// The failpoint armed on a thread, and how often its step was reached.
#[derive(Clone, Copy)]
struct Armed {
    at: Failpoint,
    seen: u32,
}

thread_local! {
    static ARMED: Cell<Option<Armed>> = const { Cell::new(None) };
    static CRASHED: Cell<bool> = const { Cell::new(false) };
}

/// Disarms the thread's failpoint when dropped (and forgets that it crashed).
#[derive(Debug)]
#[must_use = "the failpoint is disarmed when the guard is dropped"]
pub struct ArmedGuard {
    _private: (),
}

impl Drop for ArmedGuard {
    fn drop(&mut self) {
        ARMED.with(|a| a.set(None));
        CRASHED.with(|c| c.set(false));
    }
}

/// Test hook: arms `at` on the calling thread until the guard is dropped.
pub fn arm(at: Failpoint) -> ArmedGuard {
    ARMED.with(|a| a.set(Some(Armed { at, seen: 0 })));
    CRASHED.with(|c| c.set(false));
    ArmedGuard { _private: () }
}

/// True after an in-process failpoint stopped an operation on this thread (until its guard is
/// dropped): clean-up code must then leave everything as a crash would.
pub fn crashed() -> bool {
    CRASHED.with(Cell::get)
}

/// The failpoint of [`ENV`], read once.
fn from_env() -> Option<Failpoint> {
    static FROM_ENV: OnceLock<Option<Failpoint>> = OnceLock::new();
    *FROM_ENV.get_or_init(|| {
        let text = std::env::var(ENV).ok()?;
        let parsed = Failpoint::parse(&text);
        if parsed.is_none() {
            eprintln!("cprsift: {ENV}={text:?} names no failpoint step; ignored");
        }
        parsed
    })
}

/// Marks `step` reached: stops here when it is the armed failpoint (see the module docs).
pub fn reach(step: Step) -> io::Result<()> {
    let stop = ARMED.with(|a| match a.get() {
        Some(mut armed) if armed.at.step == step => {
            armed.seen += 1;
            a.set(Some(armed));
            (armed.seen == armed.at.nth).then_some(armed.at)
        }
        _ => None,
    });
    if let Some(at) = stop {
        CRASHED.with(|c| c.set(true));
        return Err(io::Error::other(Crash { at }));
    }
    if let Some(at) = from_env().filter(|at| at.step == step) {
        static SEEN: AtomicU32 = AtomicU32::new(0);
        if SEEN.fetch_add(1, Ordering::SeqCst) + 1 == at.nth {
            std::process::abort();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::error::category;
    use cprsift_errors::Category;

    #[test]
    fn names_round_trip_and_parse() {
        for (step, name, _) in STEPS {
            assert_eq!(step.name(), name);
            assert_eq!(Step::from_name(name), Some(step));
        }
        let at = Failpoint::parse("removed:3").unwrap();
        assert_eq!((at.step, at.nth), (Step::Removed, 3));
        assert_eq!(Failpoint::parse("switched").unwrap().nth, 1);
        for bad in ["", "nope", "switched:0", "switched:x", "switched:"] {
            assert!(Failpoint::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_armed_step_stops_the_nth_time_and_only_on_its_thread() {
        assert!(reach(Step::Removed).is_ok(), "nothing armed");
        let guard = arm(Failpoint {
            step: Step::Removed,
            nth: 2,
        });
        reach(Step::Switched).unwrap();
        reach(Step::Removed).unwrap();
        std::thread::spawn(|| reach(Step::Removed).unwrap())
            .join()
            .unwrap();
        assert!(!crashed());
        let e = reach(Step::Removed).unwrap_err();
        assert_eq!(category(&e), Category::Failpoint);
        assert!(e.to_string().contains("removed:2"), "{e}");
        assert!(crashed());
        reach(Step::Removed).unwrap();
        drop(guard);
        assert!(!crashed());
    }

    #[test]
    fn the_environment_variable_aborts_the_built_binary() {
        use std::os::unix::process::ExitStatusExt;
        if std::env::var_os("CPRSIFT_FAILPOINT_CHILD").is_some() {
            // The child: the first time passes, the second aborts before the print.
            reach(Step::FileSynced).unwrap();
            println!("first passed");
            reach(Step::FileSynced).unwrap();
            println!("second passed");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "failpoint::tests::the_environment_variable_aborts_the_built_binary",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV, "file-synced:2")
            .env("CPRSIFT_FAILPOINT_CHILD", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.signal(), Some(6), "SIGABRT expected: {stdout}");
        assert!(stdout.contains("first passed"), "{stdout}");
        assert!(!stdout.contains("second passed"), "{stdout}");
    }
}
