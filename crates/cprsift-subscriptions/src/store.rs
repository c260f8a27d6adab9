//! The subscription store: a folder updated atomically, so that a crash at any moment leaves
//! either the old or the new registry whole. It is a generational store of
//! `cprsift_io::generations` (the same pointer, naming, lock, clean-up rule and failpoints as
//! the replica's):
//!
//! ```text
//! STORE/                    0700
//!   LOCK                    0600; writers hold an exclusive lock on it (bounded wait)
//!   CURRENT                 "gen-000000000007\n", replaced atomically: the commit point
//!   gen-000000000007/       0700, never changed once complete
//!     manifest.json         0600: format, generation, every subscriber's non-PNR filters and
//!                           where its PNR bitmap lies in pnrs.bin, pnrs.bin's size and SHA-256
//!     pnrs.bin              0600: the subscribers' PNR sets, serialized roaring bitmaps of
//!                           Pnr::key() (portable format), one after another in id order
//! ```
//!
//! A commit writes the new generation in a temporary folder, names it `gen-N` and replaces
//! `CURRENT`. Taking the lock removes whatever the current generation does not reference
//! (an interrupted commit's leftovers), and so does every commit after its switch. Readers
//! take no lock; one whose generation vanished under it reads again. Stores of older versions
//! (a `current` symlink to `gen-NNNNNNNN`, a `.lock` file) are read as they are and take the
//! new form at their next commit.

use std::io;
use std::path::{Path, PathBuf};

use cprsift_errors::Category;
use cprsift_io::atomic::write_atomically;
use cprsift_io::error::category;
use cprsift_io::generations::{Claim, Current, Generations, Writer};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::SubscriptionError;
use crate::filters::Filters;
use crate::registry::Registry;
use crate::values::{parse_event_code, AgeRange, SubscriberId};

const FORMAT: &str = "cprsift-subscriptions-store/1";
const MANIFEST: &str = "manifest.json";
const PNR_FILE: &str = "pnrs.bin";
/// How often a reader retries when a generation vanished under it (a writer's clean-up).
const READ_ATTEMPTS: usize = 3;

/// A subscription store folder (see the module documentation for its layout).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    generations: Generations,
}

/// The writer lock of a store: held from before the load to after the commit of a
/// read-modify-write, so that no concurrent update is lost. Released when dropped.
#[derive(Debug)]
pub struct StoreLock<'s> {
    store: &'s Store,
    writer: Writer<'s>,
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
    /// Opens an existing store (a folder with a current generation). The folder must not be
    /// a link.
    pub fn open(dir: &Path) -> Result<Store, SubscriptionError> {
        let generations = match Generations::open(dir) {
            Ok(g) => g,
            Err(e) if is_not_a_folder(&e) => return Err(not_a_store(dir, "not a folder")),
            Err(e) => return Err(SubscriptionError::io(dir, e)),
        };
        let store = Store {
            dir: dir.to_owned(),
            generations,
        };
        store.generation()?;
        Ok(store)
    }

    /// Creates a store holding `registry`, or replaces the content of an existing store. A
    /// missing folder is created (0700); an existing folder must be a store, empty, or hold only
    /// the leftovers of an interrupted creation.
    pub fn create(dir: &Path, registry: &Registry) -> Result<Store, SubscriptionError> {
        let meta = std::fs::symlink_metadata(dir);
        if meta.is_ok_and(|m| !m.is_dir() && !m.file_type().is_symlink()) {
            return Err(not_a_store(dir, "not a folder"));
        }
        let (generations, created) =
            Generations::create_private(dir).map_err(|e| SubscriptionError::io(dir, e))?;
        if !created {
            let names = generations
                .root()
                .names()
                .map_err(|e| SubscriptionError::io(dir, e))?;
            if let Some(name) = names.into_iter().find(|n| !Generations::is_own(n)) {
                return Err(not_a_store(
                    dir,
                    format!("the folder holds `{name}`; refusing to write a store into it"),
                ));
            }
        }
        let store = Store {
            dir: dir.to_owned(),
            generations,
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
        self.current().map(|c| c.number)
    }

    /// The live generation (a `CURRENT` that is a link is refused).
    fn current(&self) -> Result<Current, SubscriptionError> {
        match self.generations.current() {
            Ok(Some(current)) => Ok(current),
            Ok(None) => Err(not_a_store(
                &self.dir,
                "it has no current generation (create a store with `cprsift subscriptions import`)",
            )),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Err(SubscriptionError::corrupt(&self.dir, e.to_string()))
            }
            Err(e) => Err(SubscriptionError::io(&self.dir, e)),
        }
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

    /// Takes the writer lock (waiting a bounded time for another writer, then `locked`:
    /// `cprsift_io::lock`), and removes whatever an interrupted commit left.
    pub fn lock(&self) -> Result<StoreLock<'_>, SubscriptionError> {
        let writer = self
            .generations
            .lock()
            .map_err(|e| SubscriptionError::io(&self.dir, e))?;
        writer
            .clean(&|_| Claim::Foreign)
            .map_err(|e| SubscriptionError::io(&self.dir, e))?;
        Ok(StoreLock {
            store: self,
            writer,
        })
    }

    /// Replaces the store's content with `registry` in one atomic step, under the writer lock.
    /// For a read-modify-write hold [`Store::lock`] from before the load instead, so that a
    /// concurrent update is not lost.
    pub fn commit(&self, registry: &Registry) -> Result<u64, SubscriptionError> {
        self.lock()?.commit(registry)
    }

    fn load_current(&self) -> Result<Registry, SubscriptionError> {
        let generations = &self.generations;
        let current = self.current()?;
        let gen_dir = self.dir.join(&current.name);
        let folder = generations
            .folder(&current)
            .map_err(|e| SubscriptionError::io(&gen_dir, e))?;
        let generation = current.number;
        let manifest_path = gen_dir.join(MANIFEST);
        let manifest_bytes = folder
            .read(MANIFEST)
            .map_err(|e| SubscriptionError::io(&manifest_path, e))?;
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
        let file = folder
            .open_file(PNR_FILE)
            .map_err(|e| SubscriptionError::io(&pnr_path, e))?;
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

    /// Writes `registry` as the store's new generation and switches to it atomically, then
    /// removes the old generation. Returns the new generation's number. Refuses (changing
    /// nothing) a registry whose filters break their invariants ([`Filters::is_valid`]).
    pub fn commit(&self, registry: &Registry) -> Result<u64, SubscriptionError> {
        let dir = &self.store.dir;
        if let Some((id, _)) = registry.subscribers().find(|(_, f)| !f.is_valid()) {
            return Err(SubscriptionError::corrupt(
                dir,
                format!("refusing to save subscriber \"{id}\": its filters break their rules"),
            ));
        }
        let io = |e: io::Error| SubscriptionError::io(dir, e);
        let new = self.writer.begin().map_err(io)?;
        let generation = new.number();
        let (manifest, pnr_bytes) = encode(generation, registry);
        let folder = new.folder();
        write_atomically(folder, PNR_FILE, &pnr_bytes)
            .map_err(|e| SubscriptionError::io(folder.join(PNR_FILE), e))?;
        write_atomically(folder, MANIFEST, &manifest)
            .map_err(|e| SubscriptionError::io(folder.join(MANIFEST), e))?;
        new.commit().map_err(io)?;
        // The new generation is live; what this clean-up cannot remove, the next writer does.
        match self.writer.clean(&|_| Claim::Foreign) {
            Err(e) if category(&e) == Category::Failpoint => Err(io(e)),
            _ => Ok(generation),
        }
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
    inner: io::BufReader<std::fs::File>,
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

/// True when opening the store's folder failed because the path is not a folder.
fn is_not_a_folder(e: &io::Error) -> bool {
    cprsift_io::error::unsafe_path(e)
        .is_some_and(|r| r.reason == cprsift_io::error::Unsafe::NotAFolder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::Operation;
    use crate::values::parse_pnr;
    use cprsift_io::failpoint::{self, Failpoint, Step, STEPS};
    use std::fs;
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
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
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
        assert_eq!(mode(&dir.join("LOCK")), 0o600);
        assert_eq!(mode(&dir.join("CURRENT")), 0o600);
        let gen_dir = dir.join("gen-000000000001");
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
            vec!["CURRENT", "LOCK", "gen-000000000003"],
            "the live generation alone is kept"
        );
        // Importing over an existing store replaces its content.
        Store::create(&dir, &a).unwrap();
        assert_eq!(store.load().unwrap(), a);
    }

    #[test]
    fn crash_at_every_step_leaves_old_or_new_state_whole() {
        let mut crashes = 0;
        for (step, name, _) in STEPS {
            for nth in 1.. {
                let tmp = tempfile::tempdir().unwrap();
                let dir = tmp.path().join("store");
                let old = registry(&["0101651234"], 101);
                let new = registry(&["0202651234", "0303651234"], 851);
                let store = Store::create(&dir, &old).unwrap();
                store.commit(&old).unwrap();
                let result = {
                    let _armed = failpoint::arm(Failpoint { step, nth });
                    store.commit(&new)
                };
                if result.is_ok() {
                    break; // not reached this often
                }
                crashes += 1;
                let switched = matches!(step, Step::Switched | Step::Removed);
                let expected = if switched { &new } else { &old };
                assert_eq!(
                    &Store::open(&dir).unwrap().load().unwrap(),
                    expected,
                    "{name}:{nth}"
                );
                // The next writer finishes cleanly and removes the crash's leftovers.
                let next = registry(&["0404651234"], 706);
                let generation = store.commit(&next).unwrap();
                assert_eq!(store.load().unwrap(), next, "{name}:{nth}");
                assert_eq!(
                    names(&dir),
                    vec![
                        "CURRENT".to_string(),
                        "LOCK".to_string(),
                        cprsift_io::generations::generation_name(generation)
                    ],
                    "{name}:{nth}"
                );
            }
        }
        assert!(crashes >= 9, "only {crashes} crashes");
    }

    #[test]
    fn a_store_of_the_older_symlink_form_is_read_and_converted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let a = registry(&["0101651234"], 101);
        Store::create(&dir, &a).unwrap();
        // The older layout: `current -> gen-00000001`, `.lock`, 8-digit generation names.
        fs::rename(dir.join("gen-000000000001"), dir.join("gen-00000001")).unwrap();
        fs::remove_file(dir.join("CURRENT")).unwrap();
        fs::rename(dir.join("LOCK"), dir.join(".lock")).unwrap();
        std::os::unix::fs::symlink("gen-00000001", dir.join("current")).unwrap();
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.generation().unwrap(), 1);
        assert_eq!(store.load().unwrap(), a);
        // A writer that changes nothing keeps the old form working.
        drop(store.lock().unwrap());
        assert_eq!(Store::open(&dir).unwrap().load().unwrap(), a);
        let b = registry(&["0202651234"], 851);
        assert_eq!(store.commit(&b).unwrap(), 2);
        assert_eq!(Store::open(&dir).unwrap().load().unwrap(), b);
        assert_eq!(names(&dir), vec!["CURRENT", "LOCK", "gen-000000000002"]);
    }

    #[test]
    fn links_at_the_stores_names_are_refused_or_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("sentinel"), b"precious").unwrap();
        let dir = tmp.path().join("store");
        let a = registry(&["0101651234"], 101);
        let store = Store::create(&dir, &a).unwrap();
        // The next generation's name: removed by the writer's clean-up, never written through.
        std::os::unix::fs::symlink(&outside, dir.join("gen-000000000002")).unwrap();
        assert_eq!(store.commit(&a).unwrap(), 2);
        // CURRENT as a link: refused (readers and writers).
        fs::remove_file(dir.join("CURRENT")).unwrap();
        std::os::unix::fs::symlink(outside.join("sentinel"), dir.join("CURRENT")).unwrap();
        let e = store.commit(&a).unwrap_err();
        assert!(matches!(e, SubscriptionError::UnsafePath(_)), "{e}");
        assert!(matches!(
            store.load(),
            Err(SubscriptionError::UnsafePath(_))
        ));
        // The store folder itself as a link.
        let link = tmp.path().join("linked");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(matches!(
            Store::open(&link),
            Err(SubscriptionError::UnsafePath(_))
        ));
        assert!(matches!(
            Store::create(&link, &a),
            Err(SubscriptionError::UnsafePath(_))
        ));
        assert_eq!(names(&outside), vec!["sentinel"]);
        assert_eq!(fs::read(outside.join("sentinel")).unwrap(), b"precious");
    }

    #[test]
    fn damaged_stores_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let store = Store::create(&dir, &registry(&["0101651234"], 101)).unwrap();
        let bin = dir.join("gen-000000000001").join(PNR_FILE);
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
        let manifest = dir.join("gen-000000000001").join(MANIFEST);
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
