//! The subscription store: a folder updated atomically, so that a crash at any moment leaves
//! either the old or the new registry whole.
//!
//! ```text
//! STORE/                    0700
//!   .lock                   0600; writers hold an exclusive lock on it (flock)
//!   current -> gen-00000007 symlink naming the live generation
//!   gen-00000007/           0700, never changed once complete
//!     manifest.json         0600: format, generation, every subscriber's non-PNR filters and
//!                           where its PNR bitmap lies in pnrs.bin, pnrs.bin's size and SHA-256
//!     pnrs.bin              0600: the subscribers' PNR sets, serialized roaring bitmaps of
//!                           Pnr::key() (portable format), one after another in id order
//!   gen-00000006/           the previous generation, kept for readers that resolved `current`
//!                           just before the last swap
//! ```
//!
//! A commit writes `.tmp-gen-N/`, fsyncs its files and the folder, renames it to `gen-N`,
//! points a new symlink `current.tmp` at it and renames that over `current` (atomic), then
//! fsyncs the store folder and removes generations older than the previous one. Leftovers of an
//! interrupted commit (`.tmp-*`, `current.tmp`, generations newer than `current`) are removed by
//! the next commit. Readers take no lock.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use cprsift_io::durable;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::SubscriptionError;
use crate::filters::Filters;
use crate::registry::Registry;
use crate::values::{parse_event_code, AgeRange, SubscriberId};

const FORMAT: &str = "cprsift-subscriptions-store/1";
const LOCK: &str = ".lock";
const CURRENT: &str = "current";
const CURRENT_TMP: &str = "current.tmp";
const TMP_PREFIX: &str = ".tmp-";
const GEN_PREFIX: &str = "gen-";
const MANIFEST: &str = "manifest.json";
const PNR_FILE: &str = "pnrs.bin";
/// How often a reader retries when a generation vanished under it (a writer's clean-up).
const READ_ATTEMPTS: usize = 3;

/// A subscription store folder (see the module documentation for its layout).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// The writer lock of a store: held from before the load to after the commit of a
/// read-modify-write, so that no concurrent update is lost. Released when dropped.
#[derive(Debug)]
pub struct StoreLock<'s> {
    store: &'s Store,
    _file: File,
    #[cfg(test)]
    crash_at: Option<CommitStep>,
}

/// The points of a commit where a test can simulate a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitStep {
    /// The new generation's files are written and synced under their temporary name.
    TempWritten,
    /// The new generation has its final name; `current` still names the old one.
    GenerationNamed,
    /// `current.tmp` names the new generation; `current` still names the old one.
    PointerWritten,
    /// `current` names the new generation; old generations not yet removed.
    Swapped,
}

/// Why a commit stopped.
enum CommitStop {
    Failed(SubscriptionError),
    #[cfg(test)]
    Crashed,
}

impl From<SubscriptionError> for CommitStop {
    fn from(e: SubscriptionError) -> Self {
        CommitStop::Failed(e)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    generation: u64,
    pnr_file: PnrFile,
    subscribers: Vec<StoredSubscriber>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PnrFile {
    bytes: u64,
    sha256: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredSubscriber {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pnr: Option<PnrSlice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    municipality: Vec<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    age: Vec<[u16; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    change_code: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    no_filter: bool,
}

/// Where one subscriber's bitmap lies in pnrs.bin.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PnrSlice {
    offset: u64,
    bytes: u64,
    count: u64,
}

impl Store {
    /// Opens an existing store (a folder with a `current` generation).
    pub fn open(dir: &Path) -> Result<Store, SubscriptionError> {
        let meta = fs::metadata(dir).map_err(|e| SubscriptionError::io(dir, e))?;
        if !meta.is_dir() {
            return Err(not_a_store(dir, "not a folder"));
        }
        match fs::symlink_metadata(dir.join(CURRENT)) {
            Ok(_) => Ok(Store {
                dir: dir.to_owned(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(not_a_store(
                dir,
                "it has no `current` generation (create a store with `cprsift subscriptions import`)",
            )),
            Err(e) => Err(SubscriptionError::io(dir.join(CURRENT), e)),
        }
    }

    /// Creates a store holding `registry`, or replaces the content of an existing store. A
    /// missing folder is created (0700); an existing folder must be a store, empty, or hold only
    /// the leftovers of an interrupted creation.
    pub fn create(dir: &Path, registry: &Registry) -> Result<Store, SubscriptionError> {
        match fs::metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                durable::create_private_dir(dir).map_err(|e| SubscriptionError::io(dir, e))?;
            }
            Err(e) => return Err(SubscriptionError::io(dir, e)),
            Ok(meta) if !meta.is_dir() => return Err(not_a_store(dir, "not a folder")),
            Ok(_) => {
                let foreign = entries(dir)?.into_iter().find(|name| !is_store_entry(name));
                if let Some(name) = foreign {
                    return Err(not_a_store(
                        dir,
                        format!("the folder holds `{name}`; refusing to write a store into it"),
                    ));
                }
            }
        }
        let store = Store {
            dir: dir.to_owned(),
        };
        store.lock()?.commit(registry)?;
        Ok(store)
    }

    /// The store's folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The live generation's number (it grows by one with every commit).
    pub fn generation(&self) -> Result<u64, SubscriptionError> {
        current_generation(&self.dir)?.ok_or_else(|| not_a_store(&self.dir, "no `current`"))
    }

    /// Loads the live registry. Takes no lock: a commit never changes a complete generation.
    pub fn load(&self) -> Result<Registry, SubscriptionError> {
        let mut attempt = 1;
        loop {
            match self.load_current() {
                Err(SubscriptionError::Io { source, .. })
                    if source.kind() == io::ErrorKind::NotFound && attempt < READ_ATTEMPTS =>
                {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Takes the writer lock, waiting for another writer to finish.
    pub fn lock(&self) -> Result<StoreLock<'_>, SubscriptionError> {
        let path = self.dir.join(LOCK);
        let file = durable::lock_exclusive(&path).map_err(|e| SubscriptionError::io(&path, e))?;
        Ok(StoreLock {
            store: self,
            _file: file,
            #[cfg(test)]
            crash_at: None,
        })
    }

    /// Replaces the store's content with `registry` in one atomic step, under the writer lock.
    /// For a read-modify-write hold [`Store::lock`] from before the load instead, so that a
    /// concurrent update is not lost.
    pub fn commit(&self, registry: &Registry) -> Result<u64, SubscriptionError> {
        self.lock()?.commit(registry)
    }

    fn load_current(&self) -> Result<Registry, SubscriptionError> {
        let generation = self.generation()?;
        let gen_dir = self.dir.join(generation_name(generation));
        let manifest_path = gen_dir.join(MANIFEST);
        let manifest_bytes =
            fs::read(&manifest_path).map_err(|e| SubscriptionError::io(&manifest_path, e))?;
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| SubscriptionError::corrupt(&manifest_path, e.to_string()))?;
        let bad = |detail: String| SubscriptionError::corrupt(&manifest_path, detail);
        if manifest.format != FORMAT {
            return Err(bad(format!(
                "format \"{}\", expected \"{FORMAT}\"",
                manifest.format
            )));
        }
        if manifest.generation != generation {
            return Err(bad(format!(
                "it says generation {}, its folder is {generation}",
                manifest.generation
            )));
        }
        let pnr_path = gen_dir.join(PNR_FILE);
        let file = File::open(&pnr_path).map_err(|e| SubscriptionError::io(&pnr_path, e))?;
        let mut pnrs = PnrReader {
            inner: io::BufReader::with_capacity(1 << 16, file),
            sha: Sha256::new(),
            position: 0,
        };
        let mut registry = Registry::new();
        let mut previous: Option<SubscriberId> = None;
        // The first problem of a subscriber's entry; judged after the file's checksum (a
        // damaged pnrs.bin is told as such, not as an unreadable bitmap).
        let mut problem: Option<String> = None;
        for stored in manifest.subscribers {
            let id = SubscriberId::new(&stored.id).map_err(|e| bad(e.to_string()))?;
            if previous.as_ref().is_some_and(|p| *p >= id) {
                return Err(bad(format!("subscriber \"{id}\" is out of order or twice")));
            }
            match stored_filters(&stored, &mut pnrs) {
                Ok(filters) => {
                    registry.insert(id.clone(), filters);
                }
                Err(StoredProblem::Io(e)) => return Err(SubscriptionError::io(&pnr_path, e)),
                Err(StoredProblem::Invalid(detail)) => {
                    problem = Some(format!("subscriber \"{id}\": {detail}"));
                    break;
                }
            }
            previous = Some(id);
        }
        io::copy(&mut pnrs, &mut io::sink()).map_err(|e| SubscriptionError::io(&pnr_path, e))?;
        if pnrs.position != manifest.pnr_file.bytes
            || hex::encode(pnrs.sha.finalize()) != manifest.pnr_file.sha256
        {
            return Err(SubscriptionError::corrupt(
                &pnr_path,
                "its size or SHA-256 differs from the manifest's",
            ));
        }
        if let Some(detail) = problem {
            return Err(bad(detail));
        }
        Ok(registry)
    }
}

impl StoreLock<'_> {
    /// Loads the live registry (under the lock, so it is what the next commit replaces).
    pub fn load(&self) -> Result<Registry, SubscriptionError> {
        self.store.load()
    }

    /// Writes `registry` as the store's new generation and switches to it atomically. Returns
    /// the new generation's number. Refuses (changing nothing) a registry whose filters break
    /// their invariants ([`Filters::is_valid`]).
    pub fn commit(&self, registry: &Registry) -> Result<u64, SubscriptionError> {
        if let Some((id, _)) = registry.subscribers().find(|(_, f)| !f.is_valid()) {
            return Err(SubscriptionError::corrupt(
                &self.store.dir,
                format!("refusing to save subscriber \"{id}\": its filters break their rules"),
            ));
        }
        match self.write_generation(registry) {
            Ok(generation) => {
                // The new generation is live; leftovers are removed by the next commit if this
                // clean-up fails.
                let _ = sweep(&self.store.dir);
                Ok(generation)
            }
            Err(CommitStop::Failed(error)) => {
                let _ = sweep(&self.store.dir);
                Err(error)
            }
            #[cfg(test)]
            Err(CommitStop::Crashed) => Err(SubscriptionError::corrupt(
                &self.store.dir,
                "simulated crash",
            )),
        }
    }

    fn failpoint(&self, step: CommitStep) -> Result<(), CommitStop> {
        #[cfg(test)]
        if self.crash_at == Some(step) {
            return Err(CommitStop::Crashed);
        }
        let _ = step;
        Ok(())
    }

    fn write_generation(&self, registry: &Registry) -> Result<u64, CommitStop> {
        let dir = &self.store.dir;
        sweep(dir)?;
        let generation = current_generation(dir)?.map_or(1, |g| g + 1);
        let name = generation_name(generation);
        let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
        durable::create_private_dir(&tmp).map_err(|e| SubscriptionError::io(&tmp, e))?;
        let (manifest, pnr_bytes) = encode(generation, registry);
        write_new_file(&tmp.join(PNR_FILE), &pnr_bytes)?;
        write_new_file(&tmp.join(MANIFEST), &manifest)?;
        durable::sync_dir(&tmp).map_err(|e| SubscriptionError::io(&tmp, e))?;
        self.failpoint(CommitStep::TempWritten)?;
        let final_dir = dir.join(&name);
        durable::rename_durably(&tmp, &final_dir)
            .map_err(|e| SubscriptionError::io(&final_dir, e))?;
        self.failpoint(CommitStep::GenerationNamed)?;
        let pointer = dir.join(CURRENT_TMP);
        std::os::unix::fs::symlink(&name, &pointer)
            .map_err(|e| SubscriptionError::io(&pointer, e))?;
        self.failpoint(CommitStep::PointerWritten)?;
        let current = dir.join(CURRENT);
        durable::rename_durably(&pointer, &current)
            .map_err(|e| SubscriptionError::io(&current, e))?;
        self.failpoint(CommitStep::Swapped)?;
        Ok(generation)
    }
}

/// Builds the manifest and pnrs.bin of a generation.
fn encode(generation: u64, registry: &Registry) -> (Vec<u8>, Vec<u8>) {
    let mut pnr_bytes = Vec::new();
    let mut subscribers = Vec::with_capacity(registry.len());
    for (id, f) in registry.subscribers() {
        let pnr = (!f.pnrs.is_empty()).then(|| {
            let offset = pnr_bytes.len();
            // Writing into a Vec cannot fail.
            let _ = f.pnrs.serialize_into(&mut pnr_bytes);
            PnrSlice {
                offset: offset as u64,
                bytes: (pnr_bytes.len() - offset) as u64,
                count: f.pnrs.len(),
            }
        });
        subscribers.push(StoredSubscriber {
            id: id.to_string(),
            pnr,
            municipality: f.municipalities.iter().copied().collect(),
            age: f.ages.iter().map(|r| [r.start, r.end]).collect(),
            change_code: f.change_codes.iter().map(|c| c.to_string()).collect(),
            no_filter: f.no_filter,
        });
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        generation,
        pnr_file: PnrFile {
            bytes: pnr_bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&pnr_bytes)),
        },
        subscribers,
    };
    // Serializing plain structs of strings and numbers cannot fail.
    let json = serde_json::to_vec(&manifest).unwrap_or_default();
    (json, pnr_bytes)
}

/// pnrs.bin read front to back and hashed on the way, so a store loads without holding a
/// second copy of its PNR sets (the bitmaps lie in manifest order, as [`encode`] writes them).
struct PnrReader {
    inner: io::BufReader<File>,
    sha: Sha256,
    position: u64,
}

impl io::Read for PnrReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.position += n as u64;
        Ok(n)
    }
}

/// Why a stored subscriber cannot be rebuilt.
enum StoredProblem {
    /// Reading pnrs.bin failed.
    Io(io::Error),
    /// The entry or its bitmap breaks the store's rules.
    Invalid(String),
}

impl From<String> for StoredProblem {
    fn from(detail: String) -> Self {
        StoredProblem::Invalid(detail)
    }
}

impl From<&str> for StoredProblem {
    fn from(detail: &str) -> Self {
        StoredProblem::Invalid(detail.to_owned())
    }
}

/// Rebuilds one subscriber's filters from its manifest entry, checking every value; its PNR
/// bitmap is the next one in `pnrs`.
fn stored_filters(
    stored: &StoredSubscriber,
    pnrs: &mut PnrReader,
) -> Result<Filters, StoredProblem> {
    use io::Read as _;
    let mut filters = Filters {
        no_filter: stored.no_filter,
        ..Filters::default()
    };
    if let Some(slice) = &stored.pnr {
        let gap = slice
            .offset
            .checked_sub(pnrs.position)
            .ok_or("its PNR bitmap overlaps the one before it in pnrs.bin")?;
        let skipped = io::copy(&mut pnrs.take(gap), &mut io::sink()).map_err(StoredProblem::Io)?;
        let mut part = pnrs.take(slice.bytes);
        if skipped != gap {
            return Err("its PNR bitmap lies outside pnrs.bin".into());
        }
        filters.pnrs = RoaringBitmap::deserialize_from(&mut part)
            .map_err(|e| format!("its PNR bitmap is unreadable: {e}"))?;
        if part.limit() != 0 {
            return Err("its PNR bitmap is shorter than the manifest says".into());
        }
        if filters.pnrs.len() != slice.count {
            return Err("its PNR count differs from the manifest's".into());
        }
    }
    for &code in &stored.municipality {
        filters.municipalities.insert(
            crate::values::municipality_from_number(i64::from(code)).map_err(|e| e.to_string())?,
        );
    }
    for &[start, end] in &stored.age {
        filters
            .ages
            .push(AgeRange::new(i64::from(start), i64::from(end)).map_err(|e| e.to_string())?);
    }
    if !filters.ages.windows(2).all(|w| w[0] < w[1]) {
        return Err("its age ranges are not sorted".into());
    }
    for code in &stored.change_code {
        filters
            .change_codes
            .insert(parse_event_code(code).map_err(|e| e.to_string())?);
    }
    Ok(filters)
}

fn not_a_store(dir: &Path, detail: impl Into<String>) -> SubscriptionError {
    SubscriptionError::NotAStore {
        path: dir.to_owned(),
        detail: detail.into(),
    }
}

fn generation_name(generation: u64) -> String {
    format!("{GEN_PREFIX}{generation:08}")
}

fn parse_generation_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(GEN_PREFIX)?;
    (digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The generation `current` names; `None` when there is no `current`.
fn current_generation(dir: &Path) -> Result<Option<u64>, SubscriptionError> {
    let path = dir.join(CURRENT);
    match fs::read_link(&path) {
        Ok(target) => target
            .to_str()
            .and_then(parse_generation_name)
            .map(Some)
            .ok_or_else(|| {
                SubscriptionError::corrupt(&path, "it does not name a generation folder")
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SubscriptionError::io(&path, e)),
    }
}

fn is_store_entry(name: &str) -> bool {
    name == LOCK
        || name == CURRENT
        || name == CURRENT_TMP
        || name.starts_with(TMP_PREFIX)
        || parse_generation_name(name).is_some()
}

fn entries(dir: &Path) -> Result<Vec<String>, SubscriptionError> {
    let read = fs::read_dir(dir).map_err(|e| SubscriptionError::io(dir, e))?;
    let mut names = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| SubscriptionError::io(dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// Removes what no reader can need: interrupted commits' leftovers (`.tmp-*`, `current.tmp`,
/// generations newer than `current`) and generations older than the previous one.
fn sweep(dir: &Path) -> Result<(), SubscriptionError> {
    let live = current_generation(dir)?;
    for name in entries(dir)? {
        let path = dir.join(&name);
        let stale = if name == CURRENT_TMP {
            fs::remove_file(&path).map_err(|e| SubscriptionError::io(&path, e))?;
            continue;
        } else if name.starts_with(TMP_PREFIX) {
            true
        } else if let Some(generation) = parse_generation_name(&name) {
            match live {
                Some(live) => generation > live || generation + 1 < live,
                None => true,
            }
        } else {
            false
        };
        if stale {
            fs::remove_dir_all(&path).map_err(|e| SubscriptionError::io(&path, e))?;
        }
    }
    Ok(())
}

fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), SubscriptionError> {
    durable::write_new_file_durably(path, bytes).map_err(|e| SubscriptionError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::Operation;
    use crate::values::parse_pnr;
    use std::os::unix::fs::PermissionsExt;

    fn registry(pnrs: &[&str], municipality: u16) -> Registry {
        let mut reg = Registry::new();
        let id = SubscriberId::new("sub-1").unwrap();
        for p in pnrs {
            reg.apply(&id, Operation::AddPnr(parse_pnr(p).unwrap()), None);
        }
        reg.apply(&id, Operation::AddMunicipalityCode(municipality), None);
        reg.apply(
            &id,
            Operation::AddAgeRange(AgeRange::new(0, 17).unwrap()),
            None,
        );
        reg.apply(
            &id,
            Operation::AddChangeCode(parse_event_code("A01").unwrap()),
            None,
        );
        reg.create_subscriber(&SubscriberId::new("empty").unwrap());
        reg
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n = entries(dir).unwrap();
        n.sort();
        n
    }

    #[test]
    fn round_trip_generations_and_permissions() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let a = registry(&["0101651234", "0202651234"], 101);
        let store = Store::create(&dir, &a).unwrap();
        assert_eq!(store.load().unwrap(), a);
        assert_eq!(store.generation().unwrap(), 1);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(LOCK)), 0o600);
        let gen_dir = dir.join("gen-00000001");
        assert_eq!(mode(&gen_dir), 0o700);
        assert_eq!(mode(&gen_dir.join(MANIFEST)), 0o600);
        assert_eq!(mode(&gen_dir.join(PNR_FILE)), 0o600);
        let b = registry(&["0303651234"], 851);
        let c = Registry::new();
        assert_eq!(store.commit(&b).unwrap(), 2);
        assert_eq!(store.commit(&c).unwrap(), 3);
        assert_eq!(Store::open(&dir).unwrap().load().unwrap(), c);
        assert_eq!(
            names(&dir),
            vec![".lock", "current", "gen-00000002", "gen-00000003"],
            "the live and the previous generation are kept"
        );
        // Importing over an existing store replaces its content.
        Store::create(&dir, &a).unwrap();
        assert_eq!(store.load().unwrap(), a);
    }

    #[test]
    fn crash_at_every_step_leaves_old_or_new_state_whole() {
        let steps = [
            (CommitStep::TempWritten, false),
            (CommitStep::GenerationNamed, false),
            (CommitStep::PointerWritten, false),
            (CommitStep::Swapped, true),
        ];
        for (step, new_is_live) in steps {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("store");
            let old = registry(&["0101651234"], 101);
            let new = registry(&["0202651234", "0303651234"], 851);
            let store = Store::create(&dir, &old).unwrap();
            store.commit(&old).unwrap();
            let mut lock = store.lock().unwrap();
            lock.crash_at = Some(step);
            assert!(lock.commit(&new).is_err());
            drop(lock);
            let expected = if new_is_live { &new } else { &old };
            assert_eq!(
                &Store::open(&dir).unwrap().load().unwrap(),
                expected,
                "{step:?}"
            );
            // The next commit finishes cleanly and removes the crash's leftovers.
            let next = registry(&["0404651234"], 706);
            let generation = store.commit(&next).unwrap();
            assert_eq!(store.load().unwrap(), next, "{step:?}");
            let left = names(&dir);
            assert_eq!(left.len(), 4, "{step:?}: {left:?}");
            assert!(left.contains(&generation_name(generation)));
            assert!(left.contains(&generation_name(generation - 1)));
        }
    }

    #[test]
    fn damaged_stores_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let store = Store::create(&dir, &registry(&["0101651234"], 101)).unwrap();
        let bin = dir.join("gen-00000001").join(PNR_FILE);
        let mut bytes = fs::read(&bin).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::remove_file(&bin).unwrap();
        fs::write(&bin, &bytes).unwrap();
        let e = store.load().unwrap_err();
        assert!(matches!(e, SubscriptionError::CorruptStore { .. }), "{e}");
        fs::remove_file(&bin).unwrap();
        let e = store.load().unwrap_err();
        assert!(matches!(e, SubscriptionError::Io { .. }), "{e}");
        let manifest = dir.join("gen-00000001").join(MANIFEST);
        fs::write(&manifest, b"{}").unwrap();
        assert!(matches!(
            store.load(),
            Err(SubscriptionError::CorruptStore { .. })
        ));
    }

    #[test]
    fn folders_that_are_not_stores() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("notes.txt"), b"x").unwrap();
        let e = Store::create(tmp.path(), &Registry::new()).unwrap_err();
        assert!(e.to_string().contains("notes.txt"), "{e}");
        assert_eq!(names(tmp.path()), vec!["notes.txt"], "nothing written");
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(matches!(
            Store::open(&empty),
            Err(SubscriptionError::NotAStore { .. })
        ));
        Store::create(&empty, &Registry::new()).unwrap();
        assert!(Store::open(&empty).unwrap().load().unwrap().is_empty());
    }

    #[test]
    fn invalid_filters_are_never_saved() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let store = Store::create(&dir, &Registry::new()).unwrap();
        let mut bad = Registry::new();
        let mut filters = Filters::default();
        filters.municipalities.insert(1000);
        bad.insert(SubscriberId::new("x").unwrap(), filters);
        assert!(store.commit(&bad).is_err());
        assert!(store.load().unwrap().is_empty());
        assert_eq!(store.generation().unwrap(), 1);
    }
}
