//! The table of error categories. Each row is written once, here: the variant, its stable
//! name, its class (which decides the exit code), whether the rule is one of cprsift's own
//! choices where the CPR contract is silent ("ours"), and the sentence saying when it applies.
//! The enum, its names, its JSON form, its exit codes and the documentation's table
//! ([`Category::markdown_table`]) are all generated from it.

use std::fmt;
use std::str::FromStr;

/// What kind of failure a category is; it decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Something the operator handed in is wrong: an extract, a subscription file, a
    /// subscriber id, an argument's value. Exit code 1.
    Input,
    /// The command line itself is not understood (an unknown option, a missing argument).
    /// Exit code 2.
    Usage,
    /// The machine or cprsift's own state stands in the way: I/O, locks, damaged or foreign
    /// folders. Exit code 2.
    Environment,
}

impl Class {
    /// The process exit code of a failure of this class.
    pub fn exit_code(self) -> u8 {
        match self {
            Class::Input => 1,
            Class::Usage | Class::Environment => 2,
        }
    }
}

/// Something that can say which category it is: every error type of cprsift.
pub trait Categorized {
    /// The error's category.
    fn category(&self) -> Category;
}

macro_rules! categories {
    ($($variant:ident = $name:literal, $class:ident, $ours:literal, $when:literal;)*) => {
        /// A stable category of failure. See the module documentation: every form of it is
        /// derived from one table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Category {
            $(#[doc = $when] $variant,)*
        }

        impl Category {
            /// Every category, in the table's order.
            pub const ALL: &'static [Category] = &[$(Category::$variant,)*];

            /// The stable name, as operators and JSON consumers see it.
            pub fn name(self) -> &'static str {
                match self { $(Category::$variant => $name,)* }
            }

            /// The class, which decides the exit code.
            pub fn class(self) -> Class {
                match self { $(Category::$variant => Class::$class,)* }
            }

            /// True when the rule is cprsift's own choice where the CPR contract is silent.
            pub fn is_ours(self) -> bool {
                match self { $(Category::$variant => $ours,)* }
            }

            /// When the category applies, in one sentence.
            pub fn when(self) -> &'static str {
                match self { $(Category::$variant => $when,)* }
            }
        }
    };
}

categories! {
    Missing000 = "missing-000", Input, false,
        "The extract has no 000 start record at all.";
    Misplaced000 = "misplaced-000", Input, false,
        "A 000 start record that is not the file's first record.";
    Missing999 = "missing-999", Input, false,
        "The extract has no 999 end record.";
    RecordAfter999 = "record-after-999", Input, false,
        "A record other than 910 follows the 999 end record.";
    CounterMismatch = "counter-mismatch", Input, false,
        "999 TAELLER differs from the records counted (000, 999 and 910 are not counted; above 99,999,999 records TAELLER holds the count's last eight digits, a rule of ours).";
    TruncatedRecord = "truncated-record", Input, false,
        "A record cut short (concatenated framing), or a line shorter than its three type bytes.";
    LineTooLong = "line-too-long", Input, false,
        "A line longer than its record type whose extra bytes are not all blanks.";
    BadNumeric = "bad-numeric", Input, false,
        "Non-digits in a numeric field (all blanks mean empty).";
    BadDate = "bad-date", Input, false,
        "A date that is neither empty (blanks or zeros) nor a real date; a timestamp neither blank nor digits.";
    DuplicatePerson = "duplicate-person", Input, false,
        "The same personal number in two separate person blocks of one file.";
    UnknownRecordType = "unknown-record-type", Input, false,
        "A record type the specification does not define, where it cannot be carried through.";
    SequenceGap = "sequence-gap", Input, false,
        "A change extract that does not continue the replica: extracts in between are missing.";
    MisplacedRecord = "misplaced-record", Input, true,
        "A record where the file's structure does not allow it: a block not starting with 001, a 997 after the blocks, a 003 before the last block.";
    BadPnr = "bad-pnr", Input, true,
        "Positions 4-13 of a person or 003 record are not a 10-digit personal number.";
    DifferentExtract = "different-extract", Input, true,
        "A file whose dates and job number name an extract already delivered or applied but whose content (its BLAKE3 identity) differs, or a change extract of a date the replica has passed without applying it.";
    OpgavenrMismatch = "opgavenr-mismatch", Input, true,
        "A change extract of another job number (OPGAVENR) than the replica's, without the switch that accepts a new one.";
    TooLarge = "too-large", Input, true,
        "A person whose block does not fit the replica index's fixed-width fields.";
    BadToml = "bad-toml", Input, false,
        "A subscription file that is not TOML of the expected shape (syntax, unknown field, wrong type).";
    BadValue = "bad-value", Input, false,
        "A subscriber id, personal number, municipality code, age range, change code or filter group that is not acceptable.";
    BadPnrList = "bad-pnr-list", Input, false,
        "A personal-number list file with lines that are not personal numbers.";
    DuplicateSubscriber = "duplicate-subscriber", Input, false,
        "The same subscriber defined or named twice.";
    UnknownSubscriber = "unknown-subscriber", Input, false,
        "A subscriber the subscription store does not hold.";
    EmptyImport = "empty-import", Input, true,
        "An import that would replace a store holding subscribers with one holding none, without --allow-empty.";
    BadArgument = "bad-argument", Input, false,
        "A command-line value out of its range or of the wrong form, or options that contradict each other.";
    Usage = "usage", Usage, false,
        "The command line is not understood: an unknown command or option, a missing argument.";
    Io = "io", Environment, false,
        "Reading or writing failed: a missing file, a full disk, a permission, something that is not a regular file.";
    UnsafePath = "unsafe-path", Environment, true,
        "A symbolic link, or a file or folder cprsift did not make, where cprsift writes its own: nothing is written through it.";
    Locked = "locked", Environment, false,
        "Another cprsift process holds the lock of the replica, store or outbox.";
    NotAReplica = "not-a-replica", Environment, false,
        "The folder given as the replica does not hold one.";
    ReplicaDamaged = "replica-damaged", Environment, false,
        "The replica's files contradict each other or their format.";
    NotEmpty = "not-empty", Environment, false,
        "replica init was given a folder that already holds something.";
    NotAStore = "not-a-store", Environment, false,
        "The folder given as the subscription store does not hold one.";
    StoreDamaged = "store-damaged", Environment, false,
        "The subscription store's files are damaged or of another format.";
    OutboxDamaged = "outbox-damaged", Environment, false,
        "The outbox holds a run record that cannot be read.";
    Failpoint = "failpoint", Environment, true,
        "A test hook stopped the operation where a crash would (never in production use).";
}

impl Category {
    /// The process exit code of a failure of this category.
    pub fn exit_code(self) -> u8 {
        self.class().exit_code()
    }

    /// The category named `name`, if any.
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The documentation's table of every category (Markdown): name, exit code, when it
    /// applies, with the rules of ours marked.
    pub fn markdown_table() -> String {
        let mut out = String::from("| category | exit | when |\n|---|---|---|\n");
        for c in Category::ALL {
            let ours = if c.is_ours() { " **(ours)**" } else { "" };
            out.push_str(&format!(
                "| `{}`{ours} | {} | {} |\n",
                c.name(),
                c.exit_code(),
                c.when()
            ));
        }
        out
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a category name that is not in the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCategory(pub String);

impl fmt::Display for UnknownCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no error category is named {:?}", self.0)
    }
}

impl std::error::Error for UnknownCategory {}

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Category, UnknownCategory> {
        Category::from_name(s).ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

impl serde::Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Category, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &c in Category::ALL {
            assert!(seen.insert(c.name()), "{} twice", c.name());
            assert!(
                c.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                c.name()
            );
            assert_eq!(c.name().parse::<Category>().unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.name()));
            assert_eq!(serde_json::from_str::<Category>(&json).unwrap(), c);
            assert_eq!(c.to_string(), c.name());
        }
        assert!("missing000".parse::<Category>().is_err());
    }

    #[test]
    fn exit_codes_follow_the_class() {
        assert_eq!(Category::BadDate.exit_code(), 1);
        assert_eq!(Category::BadToml.exit_code(), 1);
        assert_eq!(Category::BadArgument.exit_code(), 1);
        assert_eq!(Category::Usage.exit_code(), 2);
        assert_eq!(Category::Io.exit_code(), 2);
        assert_eq!(Category::Locked.exit_code(), 2);
    }

    #[test]
    fn the_table_lists_every_category_once() {
        let table = Category::markdown_table();
        for c in Category::ALL {
            assert_eq!(table.matches(&format!("| `{}`", c.name())).count(), 1);
        }
        assert_eq!(table.lines().count(), Category::ALL.len() + 2);
    }
}
