//! Fault proofs of the built binary (issue "integrity and security", point 6; docs/operations.md,
//! "Fault proofs"). Every writing command is run as an operator runs it and broken the ways a
//! machine breaks:
//!
//! - **kill**: `CPRSIFT_FAILPOINT=<step>:<n>` aborts the process at a durable step (no clean-up
//!   at all, as a SIGKILL would leave it). What the kill left must be the old state or the new
//!   one where a reader can see it (the replica's export, the store's export, every visible file
//!   of the outbox whole), and a rerun without the failpoint must end byte for byte where an
//!   uninterrupted run on a fresh copy of the same inputs ends: the whole outbox (data files,
//!   `.metadata`, manifests, folders, modes), the replica's export and folder, the store's
//!   export, and no temporary file anywhere. The CI set is the table `faults/points.tsv`; with
//!   `CPRSIFT_FAULTS=long` every step is tried at every occurrence `n = 1, 2, ...` until the
//!   command completes without reaching it, and SIGKILLs at seeded random moments are added;
//! - **disk full**: the folder the command writes is put on a small tmpfs with free space
//!   growing in steps until the command succeeds; every failing run must exit 2 with
//!   `cprsift: [io] ` naming a path on it, leave readers the previous state, that folder
//!   byte-identical but for the known leftovers ([`Leftover`]: each found by this test, each
//!   tolerated only in its exact shape, counted, and checked to still occur) and no temporary
//!   file, and a rerun after the tmpfs is made bigger must equal the uninterrupted run. Skipped,
//!   with one line saying why, where a tmpfs cannot be mounted (not root);
//! - **links**: a symbolic link pointing outside (to a sentinel file, a sentinel folder, a
//!   path that does not exist) is planted at every name the command writes (CI: one name of
//!   each kind), at the temporary name `.<name>.tmp-<hex>` of each, and at the written folder
//!   itself; the command must be refused (`[unsafe-path]`, exit 2) or succeed with the link
//!   removed or replaced, as [`LINK_EXPECTATIONS`] says per kind of name, and nothing outside
//!   may change.
//!
//! The inputs are the small seeded files of testdata/ (CI), or, with
//! `CPRSIFT_FAULTS_DATA=<folder>`, a generated set (`tools/faults.sh` makes one with cprgen:
//! `full.txt`, `days/`, `subscribers.toml`, `replacement.toml`). Each test prints one
//! `FAULTS-SUMMARY` line with its counts. No output of this file holds a personal number: files
//! are compared by BLAKE3 hash, differences are reported by path.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on what it did not expect

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::fs::{symlink, MetadataExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cprsift_io::failpoint::{ENV, STEPS};
use cprsift_io::folder::is_temporary;

const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;

// ---------------------------------------------------------------------------------------------
// Inputs

/// The inputs every scenario is built from.
struct Data {
    /// A full extract: the replica's start.
    full: PathBuf,
    /// Consecutive change extracts continuing it (at least three).
    days: Vec<PathBuf>,
    /// The subscription file of the store.
    subscribers: PathBuf,
    /// Another subscription file, imported over the store.
    replacement: PathBuf,
    /// The subscribers of the initial load.
    initial: Vec<String>,
    /// The initial load's shard size (small enough for several shards).
    shard_size: u64,
    /// `CPRSIFT_FAULTS=long`: the whole campaign.
    long: bool,
    /// Where the inputs come from (for the summary lines).
    label: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/faults")
}

impl Data {
    fn load() -> Data {
        let long = std::env::var("CPRSIFT_FAULTS").is_ok_and(|v| v == "long");
        match std::env::var_os("CPRSIFT_FAULTS_DATA") {
            Some(dir) => Data::generated(Path::new(&dir), long),
            None => {
                let replica = repo().join("testdata/replica");
                Data {
                    full: replica.join("base.txt"),
                    days: ["day1.txt", "day2.txt", "day3.txt"]
                        .iter()
                        .map(|d| replica.join(d))
                        .collect(),
                    subscribers: repo().join("testdata/subscriptions/sample.toml"),
                    replacement: here().join("replacement.toml"),
                    initial: vec!["all-of-it".into(), "K0706.aarhus".into()],
                    shard_size: 2_000,
                    long,
                    label: "testdata".into(),
                }
            }
        }
    }

    /// A folder made by tools/faults.sh: `full.txt`, `days/` (sorted by name, at least three),
    /// `subscribers.toml`, `replacement.toml`.
    fn generated(dir: &Path, long: bool) -> Data {
        let mut days: Vec<PathBuf> = std::fs::read_dir(dir.join("days"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join("days").display()))
            .map(|e| e.unwrap().path())
            .collect();
        days.sort();
        assert!(days.len() >= 3, "{}: fewer than 3 days", dir.display());
        let subscribers = dir.join("subscribers.toml");
        // The initial load serves a subscriber without filters, two with municipalities and one
        // with a PNR list, the first of each in the file's order.
        let list = run(
            dir,
            &args(["subscriptions", "list", "--subscriptions"], [&subscribers]),
        );
        assert!(list.status.success(), "{}", stderr(&list));
        let (mut all, mut municipal, mut pnr) = (vec![], vec![], vec![]);
        for line in String::from_utf8_lossy(&list.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = v["subscriber"].as_str().unwrap().to_string();
            if v["no_filter"] == true {
                all.push(id);
            } else if v["municipality"].as_u64() > Some(0) {
                municipal.push(id);
            } else if v["pnr"].as_u64() > Some(0) {
                pnr.push(id);
            }
        }
        let mut initial: Vec<String> = all.into_iter().take(1).collect();
        initial.extend(municipal.into_iter().take(2));
        initial.extend(pnr.into_iter().take(1));
        let full = dir.join("full.txt");
        let size = std::fs::metadata(&full).unwrap().len();
        Data {
            full,
            days,
            subscribers,
            replacement: dir.join("replacement.toml"),
            initial,
            shard_size: (size / 4).max(64 << 10),
            long,
            label: dir.display().to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary

fn args<const N: usize, const M: usize>(words: [&str; N], paths: [&Path; M]) -> Vec<OsString> {
    words
        .iter()
        .map(OsString::from)
        .chain(paths.iter().map(|p| p.as_os_str().to_owned()))
        .collect()
}

/// Runs cprsift in `cwd` (where a core file would land, were one written).
fn run(cwd: &Path, args: &[OsString]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cprsift"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs cprsift with the failpoint `at` armed; `ulimit -c 0` so that the abort writes no core
/// file (the shell `exec`s cprsift: the status is cprsift's own).
fn run_with_failpoint(cwd: &Path, args: &[OsString], at: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -c 0 2>/dev/null; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_cprsift"))
        .args(args)
        .env(ENV, at)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `cp -a from to` (`to` must not exist).
fn copy_tree(from: &Path, to: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success(), "cp: {}", stderr(&out));
}

fn remove_tree(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}

// ---------------------------------------------------------------------------------------------
// What a reader sees

/// One entry of a folder tree: kind, mode, size and hash (a file), target (a link).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    File { mode: u32, len: u64, hash: String },
    Folder { mode: u32 },
    Link { target: PathBuf },
    Other,
}

/// Every entry under a folder, by relative path; the folder itself is `""`. Empty when the
/// folder does not exist.
type Tree = BTreeMap<PathBuf, Entry>;

fn entry(path: &Path) -> Option<Entry> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let mode = meta.mode() & 0o7777;
    Some(if meta.is_dir() {
        Entry::Folder { mode }
    } else if meta.file_type().is_symlink() {
        Entry::Link {
            target: std::fs::read_link(path).unwrap(),
        }
    } else if meta.is_file() {
        let bytes = std::fs::read(path).unwrap();
        Entry::File {
            mode,
            len: bytes.len() as u64,
            hash: blake3::hash(&bytes).to_hex().to_string(),
        }
    } else {
        Entry::Other
    })
}

fn tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    let Some(root) = entry(dir) else {
        return out;
    };
    let is_folder = matches!(root, Entry::Folder { .. });
    out.insert(PathBuf::new(), root);
    if !is_folder {
        return out;
    }
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let rel = rel.join(e.unwrap().file_name());
            let found = entry(&dir.join(&rel)).unwrap();
            if matches!(found, Entry::Folder { .. }) {
                stack.push(rel.clone());
            }
            out.insert(rel, found);
        }
    }
    out
}

/// True when a path holds a temporary name (a kill may leave one; a rerun must remove it).
fn temporary(path: &Path) -> bool {
    path.iter().any(|c| is_temporary(&c.to_string_lossy()))
}

/// The paths where two trees differ, at most a dozen (paths only: no file content).
fn differences(a: &Tree, b: &Tree) -> String {
    let paths: BTreeSet<&PathBuf> = a.keys().chain(b.keys()).collect();
    let differ: Vec<String> = paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .map(|p| {
            let show = |e: Option<&Entry>| match e {
                None => "absent".to_string(),
                Some(Entry::File { mode, len, .. }) => format!("file {mode:o} {len} B"),
                Some(Entry::Folder { mode }) => format!("folder {mode:o}"),
                Some(Entry::Link { target }) => format!("link to {}", target.display()),
                Some(Entry::Other) => "special".into(),
            };
            format!(
                "/{}: {} vs {}",
                p.display(),
                show(a.get(p.as_path())),
                show(b.get(p.as_path()))
            )
        })
        .collect();
    let n = differ.len();
    let mut text = differ.into_iter().take(12).collect::<Vec<_>>().join("; ");
    if n > 12 {
        text += &format!("; ... {} more", n - 12);
    }
    text
}

/// A store's or replica's content as its export shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Content {
    /// There is none (`not-a-replica`, `not-a-store`, or no folder at all).
    Absent,
    /// The export's length and hash.
    Bytes(usize, String),
}

fn content(bytes: &[u8]) -> Content {
    Content::Bytes(bytes.len(), blake3::hash(bytes).to_hex().to_string())
}

/// The three folders a scenario works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Replica,
    Store,
    Outbox,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Replica => "replica",
            Part::Store => "store",
            Part::Outbox => "outbox",
        }
    }
}

/// Where a run's folders are.
#[derive(Clone, Debug)]
struct Layout {
    /// The folder the run works in (exports are written here, outside the three folders).
    root: PathBuf,
    replica: PathBuf,
    store: PathBuf,
    outbox: PathBuf,
}

impl Layout {
    fn in_dir(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            replica: root.join("replica"),
            store: root.join("store"),
            outbox: root.join("outbox"),
        }
    }

    fn part(&self, part: Part) -> &Path {
        match part {
            Part::Replica => &self.replica,
            Part::Store => &self.store,
            Part::Outbox => &self.outbox,
        }
    }

    fn with(mut self, part: Part, path: PathBuf) -> Layout {
        match part {
            Part::Replica => self.replica = path,
            Part::Store => self.store = path,
            Part::Outbox => self.outbox = path,
        }
        self
    }
}

/// What readers see of a run's folders: the replica's and the store's exports, the outbox
/// tree; and the replica's and store's folder trees (compared where they must be equal).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Observed {
    replica: Content,
    store: Content,
    outbox: Tree,
}

fn export_replica(layout: &Layout) -> Content {
    let out = layout.root.join(".faults-export.txt");
    let o = run(
        &layout.root,
        &args(["replica", "export", "--replica"], [&layout.replica, &out]),
    );
    if o.status.success() {
        let bytes = std::fs::read(&out).unwrap();
        std::fs::remove_file(&out).unwrap();
        return content(&bytes);
    }
    let e = stderr(&o);
    assert!(
        e.starts_with("cprsift: [not-a-replica] "),
        "replica export: {e}"
    );
    Content::Absent
}

fn export_store(layout: &Layout) -> Content {
    let o = run(
        &layout.root,
        &args(
            ["subscriptions", "export", "--subscriptions"],
            [&layout.store],
        ),
    );
    if o.status.success() {
        return content(&o.stdout);
    }
    let e = stderr(&o);
    let absent = e.starts_with("cprsift: [not-a-store] ")
        || (e.starts_with("cprsift: [io] ") && e.contains("No such file or directory"));
    assert!(absent, "subscriptions export: {e}");
    Content::Absent
}

fn observe(layout: &Layout) -> Observed {
    Observed {
        replica: export_replica(layout),
        store: export_store(layout),
        outbox: tree(&layout.outbox),
    }
}

/// What differs between two observations, in words.
fn observed_differences(what: &Observed, expected: &Observed) -> Vec<String> {
    let mut out = vec![];
    if what.replica != expected.replica {
        out.push(format!(
            "replica export {:?} instead of {:?}",
            what.replica, expected.replica
        ));
    }
    if what.store != expected.store {
        out.push(format!(
            "subscriptions export {:?} instead of {:?}",
            what.store, expected.store
        ));
    }
    if what.outbox != expected.outbox {
        out.push(format!(
            "outbox differs: {}",
            differences(&what.outbox, &expected.outbox)
        ));
    }
    out
}

/// What a kill may leave: each export the old or the new one (or one the command passes
/// through: [`Scenario::halfway`]); each visible name of the outbox as it was before or as it is
/// after (absent counts), whole; temporary names may stay.
fn old_or_new(killed: &Observed, p: &Prepared) -> Vec<String> {
    let mut out = vec![];
    let states: Vec<&Observed> = [&p.before]
        .into_iter()
        .chain(p.halfway.iter().map(|(o, _)| o))
        .chain([&p.after])
        .collect();
    if !states.iter().any(|s| s.replica == killed.replica) {
        out.push(format!(
            "replica export {:?} is neither the old {:?} nor the new {:?}",
            killed.replica, p.before.replica, p.after.replica
        ));
    }
    if !states.iter().any(|s| s.store == killed.store) {
        out.push(format!(
            "subscriptions export {:?} is neither the old {:?} nor the new {:?}",
            killed.store, p.before.store, p.after.store
        ));
    }
    let paths: BTreeSet<&PathBuf> = killed
        .outbox
        .keys()
        .chain(p.before.outbox.keys())
        .chain(p.after.outbox.keys())
        .filter(|p| !temporary(p))
        .collect();
    for path in paths {
        let now = killed.outbox.get(path);
        if now != p.before.outbox.get(path) && now != p.after.outbox.get(path) {
            out.push(format!(
                "outbox/{} is neither as before nor as after ({now:?})",
                path.display()
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The commands

/// A writing command on a prepared state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    /// `replica init FULL` into a new folder.
    ReplicaInit,
    /// `replica apply DAY2 DAY3` on a replica of FULL + DAY1 (two generations in one run).
    ReplicaApply,
    /// `deliver DAY2 --apply` after DAY1 was delivered and applied: the outbox, the store's
    /// PNR moves, the replica.
    Deliver,
    /// `initial-load` of some subscribers into the outbox of [`Scenario::Deliver`]'s state.
    InitialLoad,
    /// `subscriptions import` into a new store.
    ImportNew,
    /// `subscriptions import` of another file over a store.
    ImportReplace,
}

impl Scenario {
    const ALL: [Scenario; 6] = [
        Scenario::ReplicaInit,
        Scenario::ReplicaApply,
        Scenario::Deliver,
        Scenario::InitialLoad,
        Scenario::ImportNew,
        Scenario::ImportReplace,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::ReplicaInit => "replica-init",
            Scenario::ReplicaApply => "replica-apply",
            Scenario::Deliver => "deliver",
            Scenario::InitialLoad => "initial-load",
            Scenario::ImportNew => "import-new",
            Scenario::ImportReplace => "import-replace",
        }
    }

    fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The folder the command writes (on the tmpfs in the disk-full test, planted with links
    /// in the link test).
    fn target(self) -> Part {
        match self {
            Scenario::ReplicaInit | Scenario::ReplicaApply => Part::Replica,
            Scenario::Deliver | Scenario::InitialLoad => Part::Outbox,
            Scenario::ImportNew | Scenario::ImportReplace => Part::Store,
        }
    }

    /// Builds the state before the command in `layout`.
    fn prepare(self, data: &Data, l: &Layout) {
        std::fs::create_dir_all(&l.root).unwrap();
        let step = |a: Vec<OsString>| {
            let o = run(&l.root, &a);
            assert!(
                o.status.success(),
                "preparing {}: {}",
                self.name(),
                stderr(&o)
            );
        };
        let init = || {
            step(args(
                ["replica", "init"],
                [&data.full, Path::new("--replica"), &l.replica],
            ))
        };
        let day1 = || {
            step(args(
                ["replica", "apply"],
                [&data.days[0], Path::new("--replica"), &l.replica],
            ))
        };
        let store = || {
            step(args(
                ["subscriptions", "import"],
                [&data.subscribers, Path::new("--subscriptions"), &l.store],
            ))
        };
        match self {
            Scenario::ReplicaInit | Scenario::ImportNew => {}
            Scenario::ReplicaApply => {
                init();
                day1();
            }
            Scenario::Deliver | Scenario::InitialLoad => {
                init();
                store();
                step(deliver_args(data, l, 0));
            }
            Scenario::ImportReplace => store(),
        }
    }

    /// The command under test.
    fn command(self, data: &Data, l: &Layout) -> Vec<OsString> {
        match self {
            Scenario::ReplicaInit => args(
                ["replica", "init"],
                [&data.full, Path::new("--replica"), &l.replica],
            ),
            Scenario::ReplicaApply => args(
                ["replica", "apply"],
                [
                    &data.days[1],
                    &data.days[2],
                    Path::new("--replica"),
                    &l.replica,
                ],
            ),
            Scenario::Deliver => deliver_args(data, l, 1),
            Scenario::InitialLoad => {
                let mut a = args(
                    ["initial-load", "--replica"],
                    [&l.replica, Path::new("--subscriptions"), &l.store],
                );
                for id in &data.initial {
                    a.push("--subscriber".into());
                    a.push(id.into());
                }
                a.push("--outbox".into());
                a.push(l.outbox.clone().into());
                a.push("--shard-size".into());
                a.push(data.shard_size.to_string().into());
                a
            }
            Scenario::ImportNew => args(
                ["subscriptions", "import"],
                [&data.subscribers, Path::new("--subscriptions"), &l.store],
            ),
            Scenario::ImportReplace => args(
                ["subscriptions", "import"],
                [&data.replacement, Path::new("--subscriptions"), &l.store],
            ),
        }
    }
}

impl Scenario {
    /// A command that leaves a state the command under test passes through and may be killed
    /// in: `replica apply DAY2 DAY3` commits DAY2 before it starts DAY3.
    fn halfway(self, data: &Data, l: &Layout) -> Option<Vec<OsString>> {
        (self == Scenario::ReplicaApply).then(|| {
            args(
                ["replica", "apply"],
                [&data.days[1], Path::new("--replica"), &l.replica],
            )
        })
    }
}

fn deliver_args(data: &Data, l: &Layout, day: usize) -> Vec<OsString> {
    let mut a = args(
        ["deliver"],
        [
            &data.days[day],
            Path::new("--replica"),
            &l.replica,
            Path::new("--subscriptions"),
            &l.store,
            Path::new("--outbox"),
            &l.outbox,
        ],
    );
    a.push("--apply".into());
    a
}

// ---------------------------------------------------------------------------------------------
// The fixture: each scenario's state before, and the uninterrupted run's result

struct Prepared {
    /// The state before the command (copied for every run).
    template: PathBuf,
    before: Observed,
    /// The states between (see [`Scenario::halfway`]), and their folder trees.
    halfway: Vec<(Observed, BTreeMap<Part, Tree>)>,
    after: Observed,
    /// The folder trees after the uninterrupted run.
    after_trees: BTreeMap<Part, Tree>,
    /// How long the uninterrupted run took (for the timed kills only; nothing is asserted).
    took: Duration,
}

struct Fixture {
    data: Data,
    tmp: tempfile::TempDir,
    prepared: BTreeMap<Scenario, Prepared>,
    runs: u64,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            data: Data::load(),
            tmp: tempfile::tempdir().unwrap(),
            prepared: BTreeMap::new(),
            runs: 0,
        }
    }

    fn prepared(&mut self, s: Scenario) -> &Prepared {
        if !self.prepared.contains_key(&s) {
            let template = self.tmp.path().join(format!("before-{}", s.name()));
            let layout = Layout::in_dir(&template);
            s.prepare(&self.data, &layout);
            let before = observe(&layout);
            let mut halfway = vec![];
            if s.halfway(&self.data, &layout).is_some() {
                let dir = self.fresh(&template);
                let l = Layout::in_dir(&dir);
                let o = run(&dir, &s.halfway(&self.data, &l).unwrap());
                assert!(o.status.success(), "{}: {}", s.name(), stderr(&o));
                halfway.push((observe(&l), trees(&l)));
                remove_tree(&dir);
            }
            let reference = self.fresh(&template);
            let l = Layout::in_dir(&reference);
            let started = Instant::now();
            let o = run(&l.root, &s.command(&self.data, &l));
            let took = started.elapsed();
            assert!(o.status.success(), "{}: {}", s.name(), stderr(&o));
            let after = observe(&l);
            assert_ne!(before, after, "{}: the command changes nothing", s.name());
            let after_trees = trees(&l);
            remove_tree(&reference);
            self.prepared.insert(
                s,
                Prepared {
                    template,
                    before,
                    halfway,
                    after,
                    after_trees,
                    took,
                },
            );
        }
        &self.prepared[&s]
    }

    /// A fresh copy of `template`, as a new run folder.
    fn fresh(&mut self, template: &Path) -> PathBuf {
        self.runs += 1;
        let dir = self.tmp.path().join(format!("run-{}", self.runs));
        copy_tree(template, &dir);
        dir
    }
}

/// The trees of a layout's three folders.
fn trees(l: &Layout) -> BTreeMap<Part, Tree> {
    [Part::Replica, Part::Store, Part::Outbox]
        .into_iter()
        .map(|p| (p, tree(l.part(p))))
        .collect()
}

/// After a completed run (a rerun, or a run the failpoint did not stop): what readers see
/// equals the uninterrupted run's, the replica's folder is the same tree, the store holds its
/// pointer, lock and one generation, and no temporary name is left anywhere.
fn completed_like_reference(l: &Layout, p: &Prepared) -> Vec<String> {
    let mut problems = observed_differences(&observe(l), &p.after);
    let replica = tree(&l.replica);
    if replica != p.after_trees[&Part::Replica] {
        problems.push(format!(
            "replica folder differs: {}",
            differences(&replica, &p.after_trees[&Part::Replica])
        ));
    }
    // The store: the same names but for the generation's number (an import rerun after the
    // kill's switch writes one more generation: an import replaces the content whatever it
    // is); its content is the export, compared above.
    let store = tree(&l.store);
    if shape(&store) != shape(&p.after_trees[&Part::Store]) {
        problems.push(format!(
            "store folder differs: {}",
            differences(&store, &p.after_trees[&Part::Store])
        ));
    }
    for part in [Part::Replica, Part::Store, Part::Outbox] {
        for path in tree(l.part(part)).keys().filter(|p| temporary(p)) {
            problems.push(format!("{}/{} left behind", part.name(), path.display()));
        }
    }
    problems
}

/// A generational folder's names, with generation numbers left out.
fn shape(t: &Tree) -> BTreeSet<String> {
    t.keys()
        .map(|p| {
            p.iter()
                .map(|c| {
                    let c = c.to_string_lossy();
                    match c.strip_prefix("gen-") {
                        Some(d) if d.bytes().all(|b| b.is_ascii_digit()) => "gen-N".to_string(),
                        _ => c.into_owned(),
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Kill

/// A row of faults/points.tsv: kill `scenario` at the `n`-th time it reaches `step`.
struct Point {
    scenario: Scenario,
    at: String,
}

/// The CI set of kill points: faults/points.tsv (scenario, step, n, what the kill leaves).
fn points_table() -> Vec<Point> {
    let path = here().join("points.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut points = vec![];
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let at = |what: &str| format!("{}:{}: {what}: {line:?}", path.display(), i + 1);
        assert!(cols.len() >= 3, "{}", at("fewer than 3 columns"));
        let scenario = Scenario::from_name(cols[0]).unwrap_or_else(|| panic!("{}", at("command")));
        assert!(
            STEPS.iter().any(|(_, name, _)| *name == cols[1]),
            "{}",
            at("no such step")
        );
        let n: u32 = cols[2].parse().unwrap_or_else(|_| panic!("{}", at("n")));
        points.push(Point {
            scenario,
            at: format!("{}:{n}", cols[1]),
        });
    }
    points
}

/// What a failpoint run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    /// The process died there.
    Killed,
    /// The command completed without reaching the step that often.
    NotReached,
}

/// Counts of one scenario's kills.
#[derive(Clone, Debug, Default)]
struct Counts {
    tried: u64,
    killed: u64,
    identical: u64,
    not_reached: u64,
    timed: u64,
    timed_killed: u64,
    timed_identical: u64,
    /// How often each step was reached (the long campaign's enumeration).
    reached: BTreeMap<&'static str, u32>,
}

/// After a kill: the state is old or new; a rerun completes; the result equals the
/// uninterrupted run's. Returns the problems found.
fn after_kill(fx: &mut Fixture, s: Scenario, l: &Layout, what: &str) -> Vec<String> {
    let p = fx.prepared(s);
    let killed = observe(l);
    let mut problems: Vec<String> = old_or_new(&killed, p)
        .into_iter()
        .map(|e| format!("{what}: after the kill: {e}"))
        .collect();
    let done = killed == p.after;
    let o = run(&l.root, &s.command(&fx.data, l));
    if s == Scenario::ReplicaInit && done {
        // Killed after its commit, the init is done: its rerun is refused as for any folder
        // that holds a replica (exit 2, `[not-empty]`), and the replica is the complete one.
        if o.status.code() != Some(2) || !stderr(&o).starts_with("cprsift: [not-empty] ") {
            problems.push(format!(
                "{what}: the rerun of a committed init: {:?} {}",
                o.status,
                stderr(&o)
            ));
        }
    } else if !o.status.success() {
        problems.push(format!("{what}: the rerun failed: {}", stderr(&o)));
        return problems;
    }
    let p = fx.prepared(s);
    problems.extend(
        completed_like_reference(l, p)
            .into_iter()
            .map(|e| format!("{what}: after the rerun: {e}")),
    );
    problems
}

/// Runs `s` with the failpoint `at` (`<step>:<n>`) on a fresh copy of its state.
fn kill_at(fx: &mut Fixture, s: Scenario, at: &str) -> (Kill, Vec<String>) {
    let template = fx.prepared(s).template.clone();
    let root = fx.fresh(&template);
    let l = Layout::in_dir(&root);
    let what = format!("{} at {at}", s.name());
    let o = run_with_failpoint(&root, &s.command(&fx.data, &l), at);
    let result = if o.status.success() {
        let problems = completed_like_reference(&l, fx.prepared(s))
            .into_iter()
            .map(|e| format!("{what} (not reached): {e}"))
            .collect();
        (Kill::NotReached, problems)
    } else if o.status.signal() == Some(SIGABRT) {
        (Kill::Killed, after_kill(fx, s, &l, &what))
    } else {
        let e = format!(
            "{what}: neither aborted nor completed: {:?} {}",
            o.status,
            stderr(&o)
        );
        (Kill::Killed, vec![e])
    };
    remove_tree(&root);
    result
}

/// A small seeded generator (xorshift64*), for the timed kills.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Spawns `s`, SIGKILLs it after `delay`, and checks like a failpoint's kill. None when the
/// command completed first.
fn timed_kill(fx: &mut Fixture, s: Scenario, delay: Duration) -> (Option<Kill>, Vec<String>) {
    let template = fx.prepared(s).template.clone();
    let root = fx.fresh(&template);
    let l = Layout::in_dir(&root);
    let what = format!("{} killed after {} µs", s.name(), delay.as_micros());
    let mut child = Command::new(env!("CARGO_BIN_EXE_cprsift"))
        .args(s.command(&fx.data, &l))
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let o = child.wait_with_output().unwrap();
    let result = if o.status.success() {
        let problems = completed_like_reference(&l, fx.prepared(s))
            .into_iter()
            .map(|e| format!("{what} (completed first): {e}"))
            .collect();
        (None, problems)
    } else if o.status.signal() == Some(SIGKILL) {
        (Some(Kill::Killed), after_kill(fx, s, &l, &what))
    } else {
        let e = format!("{what}: {:?} {}", o.status, stderr(&o));
        (Some(Kill::Killed), vec![e])
    };
    remove_tree(&root);
    result
}

/// Runs one kill point and counts it.
fn tally(
    fx: &mut Fixture,
    counts: &mut BTreeMap<Scenario, Counts>,
    s: Scenario,
    at: &str,
    problems: &mut Vec<String>,
) -> Kill {
    let (kill, found) = kill_at(fx, s, at);
    let c = counts.entry(s).or_default();
    c.tried += 1;
    match kill {
        Kill::Killed => {
            c.killed += 1;
            c.identical += u64::from(found.is_empty());
            let (step, n) = at.split_once(':').unwrap();
            let step = STEPS.iter().find(|(_, name, _)| *name == step).unwrap().1;
            let n: u32 = n.parse().unwrap();
            let most = c.reached.entry(step).or_default();
            *most = (*most).max(n);
        }
        Kill::NotReached => c.not_reached += 1,
    }
    problems.extend(found);
    kill
}

#[test]
fn a_kill_at_a_durable_step_leaves_old_or_new_and_a_rerun_ends_as_an_uninterrupted_run() {
    let started = Instant::now();
    let mut fx = Fixture::new();
    let mut counts: BTreeMap<Scenario, Counts> = BTreeMap::new();
    let mut problems: Vec<String> = vec![];
    if fx.data.long {
        // Every step, every occurrence, until the command completes without reaching it.
        for s in Scenario::ALL {
            for (_, step, _) in STEPS {
                for n in 1.. {
                    if tally(
                        &mut fx,
                        &mut counts,
                        s,
                        &format!("{step}:{n}"),
                        &mut problems,
                    ) == Kill::NotReached
                    {
                        break;
                    }
                    assert!(n < 1_000_000, "{}: {step} reached without end", s.name());
                }
            }
        }
    } else {
        let table = points_table();
        for s in [
            Scenario::ReplicaApply,
            Scenario::Deliver,
            Scenario::InitialLoad,
            Scenario::ImportReplace,
        ] {
            assert!(
                table.iter().any(|p| p.scenario == s),
                "faults/points.tsv has no point of {}",
                s.name()
            );
        }
        for point in &table {
            if tally(
                &mut fx,
                &mut counts,
                point.scenario,
                &point.at,
                &mut problems,
            ) == Kill::NotReached
            {
                problems.push(format!(
                    "{} never reaches {}: faults/points.tsv needs updating",
                    point.scenario.name(),
                    point.at
                ));
            }
        }
    }
    if fx.data.long {
        // SIGKILL at seeded random moments within about the command's own run time: on small
        // inputs most land before or after the work; each is checked all the same.
        let mut rng = Rng(0x6661_756c_7473_0001);
        for s in Scenario::ALL {
            let took = fx.prepared(s).took.as_micros() as u64;
            for _ in 0..12 {
                let delay = Duration::from_micros(rng.next() % (took * 3 / 2 + 1));
                let (kill, found) = timed_kill(&mut fx, s, delay);
                let c = counts.entry(s).or_default();
                c.timed += 1;
                if kill.is_some() {
                    c.timed_killed += 1;
                    c.timed_identical += u64::from(found.is_empty());
                }
                problems.extend(found);
            }
        }
    }
    let mut total = Counts::default();
    for (s, c) in &counts {
        println!(
            "faults: kill {:<15} points {:>4}, killed {:>4}, identical after rerun {:>4}, \
             not reached {:>3}; timed SIGKILLs {}, of which killed mid-run {}, identical {}",
            s.name(),
            c.tried,
            c.killed,
            c.identical,
            c.not_reached,
            c.timed,
            c.timed_killed,
            c.timed_identical
        );
        if fx.data.long {
            let reached: Vec<String> = c.reached.iter().map(|(k, n)| format!("{k} x{n}")).collect();
            println!(
                "faults: kill {:<15} steps reached: {}",
                s.name(),
                reached.join(", ")
            );
        }
        total.tried += c.tried;
        total.killed += c.killed;
        total.identical += c.identical;
        total.not_reached += c.not_reached;
        total.timed += c.timed;
        total.timed_killed += c.timed_killed;
        total.timed_identical += c.timed_identical;
    }
    println!(
        "FAULTS-SUMMARY kill data={} mode={} points={} kills={} identical={} not-reached={} \
         timed={} timed-kills={} timed-identical={} problems={} seconds={:.1}",
        fx.data.label,
        if fx.data.long { "long" } else { "ci" },
        total.tried,
        total.killed,
        total.identical,
        total.not_reached,
        total.timed,
        total.timed_killed,
        total.timed_identical,
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Disk full

/// A tmpfs mounted for the test, unmounted when dropped (also when the test panics).
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, bytes: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes},mode=0755"))
            .arg("tmpfs")
            .arg(path)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !o.status.success() {
            return Err(format!("mount -t tmpfs: {}", stderr(&o).trim()));
        }
        Ok(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Sets the size (rounded up to pages by the kernel; never below what is used, and never 0,
    /// which would make it unlimited for good).
    fn resize(&self, bytes: u64) {
        let bytes = bytes.max(4096);
        let o = Command::new("mount")
            .arg("-o")
            .arg(format!("remount,size={bytes}"))
            .arg(&self.path)
            .output()
            .unwrap();
        assert!(o.status.success(), "remount {bytes}: {}", stderr(&o));
    }

    /// Bytes in use.
    fn used(&self) -> u64 {
        let o = Command::new("stat")
            .args(["-f", "-c", "%b %f %S"])
            .arg(&self.path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let n: Vec<u64> = text
            .split_whitespace()
            .map(|w| w.parse().unwrap())
            .collect();
        (n[0] - n[1]) * n[2]
    }

    fn clear(&self) {
        for e in std::fs::read_dir(&self.path).unwrap() {
            remove_tree(&e.unwrap().path());
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Bytes of the files in a tree.
fn file_bytes(t: &Tree) -> u64 {
    t.values()
        .map(|e| match e {
            Entry::File { len, .. } => *len,
            _ => 0,
        })
        .sum()
}

#[test]
fn a_full_disk_fails_as_io_leaves_the_previous_state_and_a_rerun_on_more_space_completes() {
    let started = Instant::now();
    let mut fx = Fixture::new();
    let mut problems: Vec<String> = vec![];
    let mut cases = 0u64;
    let mut scenarios = 0u64;
    let mut seen: BTreeMap<(Scenario, Leftover), u64> = BTreeMap::new();
    // Big enough for any scenario's state and its run, twice over.
    let template_bytes: u64 = Scenario::ALL
        .iter()
        .map(|&s| {
            let t = fx.prepared(s).template.clone();
            file_bytes(&tree(&t)) + file_bytes(&fx.prepared(s).after_trees[&s.target()])
        })
        .max()
        .unwrap();
    let big = 2 * template_bytes + (16 << 20);
    let mnt = fx.tmp.path().join("tmpfs");
    let fs = match Tmpfs::mount(&mnt, big) {
        Ok(fs) => fs,
        Err(why) => {
            println!(
                "faults: disk-full test SKIPPED: cannot mount a tmpfs here ({why}); run as root"
            );
            println!("FAULTS-SUMMARY disk-full skipped");
            return;
        }
    };
    for s in Scenario::ALL {
        let part = s.target();
        let written = file_bytes(&fx.prepared(s).after_trees[&part]);
        // 64 KiB steps; a command that writes less than a megabyte in all (the testdata) is
        // stepped a page at a time, or every size would either fail at once or succeed.
        let step: u64 = if written < (1 << 20) {
            4 << 10
        } else {
            64 << 10
        };
        let limit = 2 * written / step + 64;
        let mut failed_here = 0;
        let mut succeeded = false;
        for k in 0..limit {
            let free = k * step;
            let what = format!(
                "{} with {} on a tmpfs with {free} bytes free",
                s.name(),
                part.name()
            );
            fs.resize(big);
            fs.clear();
            let template = fx.prepared(s).template.clone();
            let root = fx.fresh(&template);
            let on_tmpfs = mnt.join(part.name());
            let l = Layout::in_dir(&root).with(part, on_tmpfs.clone());
            if root.join(part.name()).exists() {
                copy_tree(&root.join(part.name()), &on_tmpfs);
                remove_tree(&root.join(part.name()));
            }
            let before = tree(&on_tmpfs);
            fs.resize(fs.used() + free);
            let o = run(&root, &s.command(&fx.data, &l));
            fs.resize(big);
            if o.status.success() {
                problems.extend(
                    completed_like_reference(&l, fx.prepared(s))
                        .into_iter()
                        .map(|e| format!("{what}: succeeded, but: {e}")),
                );
                succeeded = true;
                remove_tree(&root);
                break;
            }
            failed_here += 1;
            let e = stderr(&o);
            if o.status.code() != Some(2) || !e.starts_with("cprsift: [io] ") {
                problems.push(format!("{what}: {:?}: {e}", o.status));
            } else if !e.contains(&mnt.display().to_string()) {
                problems.push(format!("{what}: the message names no path on it: {e}"));
            }
            // What readers see is the previous state (for a two-day apply: before, or the
            // first day applied); the folder is that state's, but for the known leftovers.
            let observed = observe(&l);
            let p = fx.prepared(s);
            // (The exports; the outbox is compared name by name below.)
            let readers = |o: &Observed| (o.replica.clone(), o.store.clone());
            let previous = if readers(&observed) == readers(&p.before) {
                Some(before.clone())
            } else {
                p.halfway
                    .iter()
                    .find(|(o, _)| readers(o) == readers(&observed))
                    .map(|(_, t)| t[&part].clone())
            };
            match previous {
                None => problems.extend(
                    observed_differences(&observed, &p.before)
                        .into_iter()
                        .map(|e| format!("{what}: after the failure: {e}")),
                ),
                Some(previous) => {
                    let now = tree(&on_tmpfs);
                    let (found, wrong) =
                        leftovers(part, &on_tmpfs, &previous, &now, &p.after_trees[&part]);
                    problems.extend(wrong.into_iter().map(|e| format!("{what}: {e}")));
                    for f in found {
                        *seen.entry((s, f)).or_default() += 1;
                    }
                }
            }
            // The same state on a bigger file system: the rerun completes.
            let o = run(&root, &s.command(&fx.data, &l));
            if o.status.success() {
                problems.extend(
                    completed_like_reference(&l, fx.prepared(s))
                        .into_iter()
                        .map(|e| format!("{what}: after the rerun with space: {e}")),
                );
            } else {
                problems.push(format!(
                    "{what}: the rerun with space failed: {}",
                    stderr(&o)
                ));
            }
            remove_tree(&root);
        }
        println!(
            "faults: disk-full {:<15} {failed_here} failing sizes ({} KiB steps), then success: {succeeded}",
            s.name(),
            step >> 10
        );
        if !succeeded {
            problems.push(format!("{}: never succeeded on the tmpfs", s.name()));
        }
        if failed_here == 0 {
            problems.push(format!("{}: no size made it fail part-way", s.name()));
        }
        cases += failed_here;
        scenarios += 1;
    }
    drop(fs);
    for ((s, leftover), n) in &seen {
        println!(
            "faults: disk-full {:<15} KNOWN DEVIATION {leftover:?} after {n} failing size(s)",
            s.name()
        );
    }
    if !fx.data.long && std::env::var_os("CPRSIFT_FAULTS_DATA").is_none() {
        // On the testdata each known deviation shows: once one no longer does, the product
        // was fixed, and the entry goes from KNOWN_LEFTOVERS (and docs/operations.md).
        for (s, leftover) in KNOWN_LEFTOVERS {
            if !seen.contains_key(&(s, leftover)) {
                problems.push(format!(
                    "{}: the known deviation {leftover:?} no longer occurs: remove it from \
                     KNOWN_LEFTOVERS and docs/operations.md",
                    s.name()
                ));
            }
        }
    }
    let known: u64 = seen.values().sum();
    println!(
        "FAULTS-SUMMARY disk-full data={} commands={scenarios} cases={cases} \
         known-deviations={known} problems={} seconds={:.1}",
        fx.data.label,
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What a failed run may leave beyond the previous state: deviations from "a failed run
/// leaves the previous state byte-identical" that this test found in the product (see
/// docs/operations.md, "Fault proofs"). Each is tolerated only in its exact shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Leftover {
    /// Outbox: files published before the failure stay: whole data files and `.metadata`,
    /// byte-identical to the uninterrupted run's, without the run's manifest (a delivery
    /// whose manifest could not be written; an initial load's shards committed one by one).
    PublishedFiles,
    /// Replica or store: the new generation, complete and named `gen-N` (and, in the replica,
    /// its new segment) when writing the new `CURRENT` failed; unreferenced (readers see the
    /// previous state) until the next writer's clean-up removes it.
    UnusedGeneration,
    /// Store: an import into a new folder leaves the folder (0700) and its `LOCK` (where
    /// `replica init` removes a folder it created).
    NewStoreFolder,
}

/// The known deviations the testdata shows (checked to still occur: see the disk-full test).
const KNOWN_LEFTOVERS: [(Scenario, Leftover); 5] = [
    (Scenario::Deliver, Leftover::PublishedFiles),
    (Scenario::InitialLoad, Leftover::PublishedFiles),
    (Scenario::ImportNew, Leftover::NewStoreFolder),
    (Scenario::ImportNew, Leftover::UnusedGeneration),
    (Scenario::ImportReplace, Leftover::UnusedGeneration),
];

/// Sorts what differs between the previous state and a failed run's into known leftovers and
/// problems (anything else: a temporary name, a changed or removed file, an unexplained one).
fn leftovers(
    part: Part,
    dir: &Path,
    previous: &Tree,
    now: &Tree,
    after: &Tree,
) -> (BTreeSet<Leftover>, Vec<String>) {
    let current = std::fs::read_to_string(dir.join("CURRENT")).unwrap_or_default();
    let current = current.trim();
    let (mut found, mut wrong) = (BTreeSet::new(), vec![]);
    let paths: BTreeSet<&PathBuf> = previous.keys().chain(now.keys()).collect();
    for path in paths {
        let (was, is) = (previous.get(path), now.get(path));
        if was == is {
            continue;
        }
        let first = path
            .iter()
            .next()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        let leftover = match (part, was, is) {
            _ if temporary(path) => None,
            (_, Some(_), _) => None,
            (Part::Outbox, None, Some(e)) if first != "_runs" && after.get(path) == Some(e) => {
                Some(Leftover::PublishedFiles)
            }
            (Part::Replica | Part::Store, None, Some(_))
                if (first.starts_with("gen-") && first != current)
                    || (first.starts_with("seg-") && part == Part::Replica) =>
            {
                Some(Leftover::UnusedGeneration)
            }
            (Part::Store, None, Some(_))
                if previous.is_empty() && (first.is_empty() || first == "LOCK") =>
            {
                Some(Leftover::NewStoreFolder)
            }
            _ => None,
        };
        match leftover {
            Some(l) => {
                found.insert(l);
            }
            None => wrong.push(format!(
                "the {} changed: {}",
                part.name(),
                differences(
                    &now.iter()
                        .filter(|(p, _)| *p == path)
                        .map(|(p, e)| (p.clone(), e.clone()))
                        .collect(),
                    &previous
                        .iter()
                        .filter(|(p, _)| *p == path)
                        .map(|(p, e)| (p.clone(), e.clone()))
                        .collect(),
                )
            )),
        }
    }
    (found, wrong)
}

// ---------------------------------------------------------------------------------------------
// Links

/// What a command did with a planted link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Exit 2, `[unsafe-path]`: nothing written through it.
    Refused,
    /// Success; the link is gone (removed with `unlinkat`, its target untouched).
    Removed,
    /// Success; the link was replaced by cprsift's own file or folder (a rename over it).
    Replaced,
    /// Exit 2, `[not-empty]`: `replica init` finds the folder holds something.
    NotEmpty,
}

/// Where a planted link points: all outside the run's folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aim {
    /// A sentinel file (its bytes and mode must stay).
    File,
    /// A sentinel folder (its listing and mode must stay).
    Folder,
    /// A path that does not exist (it must not be created).
    Nowhere,
}

/// The folder the links point into.
struct Outside {
    dir: PathBuf,
    before: Tree,
}

impl Outside {
    fn new(dir: &Path) -> Outside {
        use std::os::unix::fs::PermissionsExt;
        remove_tree(dir);
        std::fs::create_dir_all(dir.join("folder")).unwrap();
        std::fs::write(dir.join("sentinel"), b"precious bytes\n").unwrap();
        std::fs::write(dir.join("folder/inside"), b"more precious bytes\n").unwrap();
        for (p, mode) in [
            ("", 0o755),
            ("folder", 0o751),
            ("sentinel", 0o644),
            ("folder/inside", 0o640),
        ] {
            std::fs::set_permissions(dir.join(p), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        Outside {
            dir: dir.to_path_buf(),
            before: tree(dir),
        }
    }

    fn aim(&self, aim: Aim) -> PathBuf {
        match aim {
            Aim::File => self.dir.join("sentinel"),
            Aim::Folder => self.dir.join("folder"),
            Aim::Nowhere => self.dir.join("nowhere"),
        }
    }

    /// What changed outside; then the sentinels are made anew, so that the next case is
    /// judged on its own.
    fn changed(&mut self) -> Option<String> {
        let now = tree(&self.dir);
        if now == self.before {
            return None;
        }
        let what = differences(&now, &self.before);
        *self = Outside::new(&self.dir);
        Some(what)
    }
}

/// The class of a planted name, for [`LINK_EXPECTATIONS`]; `before` and `after` are the
/// written folder's trees before and after an uninterrupted run.
fn link_class(s: Scenario, name: &Path, before: &Tree, after: &Tree) -> &'static str {
    let base = name.file_name().map(|n| n.to_string_lossy().into_owned());
    let base = base.as_deref().unwrap_or("");
    let first = name
        .iter()
        .next()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Whether the name (for a temporary name: the name it stands for) is there before, after.
    let real = match name.parent() {
        Some(parent) if is_temporary(base) => {
            let stands_for = base[1..].rsplit_once(".tmp-").map_or("", |(n, _)| n);
            parent.join(stands_for)
        }
        _ => name.to_path_buf(),
    };
    let (was, stays) = (before.contains_key(&real), after.contains_key(&real));
    match (s.target(), name.iter().count()) {
        (_, 0) => "the folder itself",
        _ if is_temporary(base) => "a temporary name",
        (Part::Outbox, 1) if base == "_runs" => "_runs",
        (Part::Outbox, 1) => "a subscriber folder",
        (Part::Outbox, _) if base == "LOCK" => "_runs/LOCK",
        (Part::Outbox, _) if first == "_runs" => "the run's manifest",
        (Part::Outbox, _) if base.ends_with(".metadata") => "a .metadata file",
        (Part::Outbox, _) => "a data file",
        (_, 1) if base == "LOCK" => "LOCK",
        (_, 1) if base == "CURRENT" => "CURRENT",
        (_, 1) if base.starts_with("seg-") && was && stays => "a segment kept",
        (_, 1) if base.starts_with("seg-") && was => "a segment dropped",
        (_, 1) if base.starts_with("seg-") => "a new segment",
        (_, _) if first.starts_with("gen-") && was => "the generation before",
        (_, _) if first.starts_with("gen-") => "the new generation",
        (_, _) => "something else",
    }
}

/// What each command must do with a link at each class of name ([`link_class`]); `*` is any
/// command. The first match counts.
const LINK_EXPECTATIONS: &[(&str, &str, Outcome, &str)] = &[
    // Where cprsift writes its own files and folders, a link is never followed nor replaced.
    (
        "*",
        "the folder itself",
        Outcome::Refused,
        "opened O_NOFOLLOW",
    ),
    (
        "*",
        "_runs",
        Outcome::Refused,
        "a private child folder: never a link",
    ),
    (
        "*",
        "_runs/LOCK",
        Outcome::Refused,
        "lock files are opened O_NOFOLLOW",
    ),
    (
        "*",
        "LOCK",
        Outcome::Refused,
        "lock files are opened O_NOFOLLOW",
    ),
    (
        "*",
        "a subscriber folder",
        Outcome::Refused,
        "a private child folder: never a link",
    ),
    (
        "*",
        "a data file",
        Outcome::Refused,
        "an atomic file's target must not be a link",
    ),
    (
        "*",
        "a .metadata file",
        Outcome::Refused,
        "an atomic file's target must not be a link",
    ),
    (
        "*",
        "the run's manifest",
        Outcome::Refused,
        "read and written never through a link",
    ),
    // A stale temporary name is removed (unlinkat) by the writer's clean-up, never opened.
    (
        "*",
        "a temporary name",
        Outcome::Removed,
        "stale temporaries are unlinked",
    ),
    // The generational folders (replica, store).
    (
        "replica-init",
        "CURRENT",
        Outcome::NotEmpty,
        "init refuses a folder with a CURRENT",
    ),
    (
        "*",
        "CURRENT",
        Outcome::Refused,
        "the pointer is read never through a link",
    ),
    (
        "replica-apply",
        "the generation before",
        Outcome::Refused,
        "apply reads it",
    ),
    (
        "*",
        "the generation before",
        Outcome::Removed,
        "not read; removed after the commit",
    ),
    (
        "*",
        "the new generation",
        Outcome::Replaced,
        "not current: removed, then written",
    ),
    (
        "*",
        "a segment kept",
        Outcome::Refused,
        "apply maps it, never through a link",
    ),
    (
        "*",
        "a segment dropped",
        Outcome::Refused,
        "referenced before: compaction reads it",
    ),
    (
        "*",
        "a new segment",
        Outcome::Replaced,
        "not referenced: removed, then written",
    ),
];

/// The expected outcome and why, for a command and a class.
fn link_expectation(s: Scenario, class: &str) -> (Outcome, &'static str) {
    LINK_EXPECTATIONS
        .iter()
        .find(|(c, k, _, _)| (*c == "*" || *c == s.name()) && *k == class)
        .map(|(_, _, o, why)| (*o, *why))
        .unwrap_or_else(|| panic!("{}: no expectation for {class}", s.name()))
}

#[test]
fn a_link_planted_at_any_name_a_command_writes_is_refused_or_removed_and_nothing_outside_changes() {
    let started = Instant::now();
    let mut fx = Fixture::new();
    let mut outside = Outside::new(&fx.tmp.path().join("outside"));
    let mut problems: Vec<String> = vec![];
    let mut cases = 0u64;
    let mut seen: BTreeMap<(Scenario, &'static str), BTreeSet<Outcome>> = BTreeMap::new();
    for s in [
        Scenario::Deliver,
        Scenario::InitialLoad,
        Scenario::ImportNew,
        Scenario::ImportReplace,
        Scenario::ReplicaApply,
        Scenario::ReplicaInit,
    ] {
        let part = s.target();
        let template = fx.prepared(s).template.clone();
        let before = tree(&template.join(part.name()));
        // The names: in a replica or a store, every name before and after the run (the
        // command reads or writes each); in the outbox, every name the run writes or changes,
        // the folders above them and the lock; the folder itself; and each name's temporary
        // form `.<name>.tmp-<hex>`.
        let long = fx.data.long;
        let after = &fx.prepared(s).after_trees[&part].clone();
        let mut chosen: BTreeSet<PathBuf> = BTreeSet::new();
        for (name, e) in after.iter().chain(before.iter()) {
            let written = before.get(name) != Some(e) || after.get(name) != Some(e);
            let used = part != Part::Outbox || written || name.ends_with("LOCK");
            if used {
                chosen.extend(name.ancestors().map(Path::to_path_buf));
            }
        }
        let mut names: Vec<PathBuf> = vec![];
        for name in chosen {
            let kind = after.get(&name).or(before.get(&name));
            let atomic = matches!(kind, Some(Entry::File { .. }))
                || (part != Part::Outbox
                    && name.iter().count() == 1
                    && name.to_string_lossy().starts_with("gen-"));
            if let (Some(parent), Some(base), true) = (name.parent(), name.file_name(), atomic) {
                let base = base.to_string_lossy();
                names.push(parent.join(format!(".{base}.tmp-0123456789abcdef")));
            }
            names.push(name);
        }
        // CI: the first name of each class; the long campaign: every name.
        let mut classes_taken = BTreeSet::new();
        names.retain(|n| long || classes_taken.insert(link_class(s, n, &before, after)));
        for name in &names {
            let class = link_class(s, name, &before, after);
            for aim in [Aim::File, Aim::Folder, Aim::Nowhere] {
                cases += 1;
                let root = fx.fresh(&template);
                let l = Layout::in_dir(&root);
                let at = l.part(part).join(name);
                let at = if name.as_os_str().is_empty() {
                    l.part(part).to_path_buf()
                } else {
                    at
                };
                let what = format!(
                    "{}: a link at {}/{} ({class}) to {aim:?}",
                    s.name(),
                    part.name(),
                    name.display()
                );
                remove_tree(&at);
                std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                symlink(outside.aim(aim), &at).unwrap();
                let o = run(&root, &s.command(&fx.data, &l));
                let outcome = if o.status.success() {
                    match entry(&at) {
                        None => Some(Outcome::Removed),
                        Some(Entry::Link { .. }) => None,
                        Some(_) => Some(Outcome::Replaced),
                    }
                } else if o.status.code() == Some(2)
                    && stderr(&o).starts_with("cprsift: [unsafe-path] ")
                {
                    Some(Outcome::Refused)
                } else if o.status.code() == Some(2)
                    && stderr(&o).starts_with("cprsift: [not-empty] ")
                {
                    Some(Outcome::NotEmpty)
                } else {
                    problems.push(format!("{what}: {:?}: {}", o.status, stderr(&o)));
                    None
                };
                match outcome {
                    Some(outcome) => {
                        seen.entry((s, class)).or_default().insert(outcome);
                        let (expected, why) = link_expectation(s, class);
                        if outcome != expected {
                            problems.push(format!(
                                "{what}: {outcome:?}, expected {expected:?} ({why})"
                            ));
                        }
                        if matches!(outcome, Outcome::Removed | Outcome::Replaced) {
                            problems.extend(
                                completed_like_reference(&l, fx.prepared(s))
                                    .into_iter()
                                    .map(|e| format!("{what}: {outcome:?}, but {e}")),
                            );
                        }
                    }
                    None if o.status.success() => {
                        problems.push(format!("{what}: succeeded with the link left in place"))
                    }
                    None => {}
                }
                if let Some(changed) = outside.changed() {
                    problems.push(format!("{what}: OUTSIDE CHANGED: {changed}"));
                }
                remove_tree(&root);
            }
        }
    }
    for ((s, class), outcomes) in &seen {
        println!("faults: links {:<15} {class:<32} {outcomes:?}", s.name());
    }
    println!(
        "FAULTS-SUMMARY links data={} cases={cases} problems={} seconds={:.1}",
        fx.data.label,
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
