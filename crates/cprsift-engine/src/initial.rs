//! Initial loads (docs/rules.md §4): one pass over the replica in ascending PNR order serves
//! every named subscriber. Each chosen person's stored block is followed by a 099 A45 record;
//! after the last block of a shard come the shard's persons' 003 records in the same order.
//! Shards of at most the configured size are each a complete file (000 ... 999). Memory is
//! bounded: per open shard only the list of its persons' positions is kept (to write the 003
//! tail by reading the replica again).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use cprsift_format::date::age_on;
use cprsift_format::layout::fields::{r000, r099};
use cprsift_format::layout::{R000, R099};
use cprsift_format::write::{RecordBuilder, Terminator};
use cprsift_format::Pnr;
use cprsift_subscriptions::{Filters, SubscriberId};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::daily_files::{end_record, ManifestFile};
use crate::error::EngineError;
use crate::filter_set::SubscriberRef;
use crate::output::{
    outbox_folder, private_child, runs_dir, write_whole, FileMetadata, OutputFile, OutputOptions,
    RUNS,
};
use cprsift_io::Folder;

/// Default shard size: 1 GiB.
pub const DEFAULT_SHARD_SIZE: u64 = 1 << 30;

/// Statuses of persons alive and registered (docs/rules.md §4): only they are chosen by age.
const ALIVE_AND_REGISTERED: [u8; 4] = [1, 3, 5, 7];

/// One person as a [`PersonSource`] gives it: what the initial load's filters read and the
/// bytes it copies.
#[derive(Clone, Copy, Debug)]
pub struct SourcePerson<'a> {
    /// The PNR.
    pub pnr: Pnr,
    /// Current municipality (002 KOMKOD).
    pub municipality: Option<u16>,
    /// Birth date (FOED_DT or the PNR's).
    pub birth_date: Option<NaiveDate>,
    /// 001 STATUS (0 when blank).
    pub status: u8,
    /// The block's records, canonical, LF-terminated, without 003 and 099.
    pub block: &'a [u8],
    /// The person's 003 record(s), canonical, LF-terminated; empty when none.
    pub clear_address: &'a [u8],
}

/// What an initial load reads: the replica, in ascending PNR order.
pub trait PersonSource {
    /// The replica's date (PRODDTO of the last extract applied).
    fn date(&self) -> NaiveDate;
    /// The replica's OPGAVENR (that of the last extract applied).
    fn opgavenr(&self) -> [u8; 6];
    /// The number of persons.
    fn len(&self) -> usize;
    /// True when the replica holds nobody.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `i`-th person in ascending PNR order.
    fn person_at(&self, i: usize) -> Result<SourcePerson<'_>, EngineError>;
}

/// Settings of an initial load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitialLoadOptions {
    /// Framing and compression.
    pub output: OutputOptions,
    /// Largest shard, in bytes before compression.
    pub shard_size: u64,
}

impl Default for InitialLoadOptions {
    fn default() -> Self {
        InitialLoadOptions {
            output: OutputOptions::default(),
            shard_size: DEFAULT_SHARD_SIZE,
        }
    }
}

/// The manifest of an initial load, written last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialManifest {
    /// Always `initial-load`.
    pub kind: String,
    /// The replica's OPGAVENR.
    pub opgavenr: String,
    /// The replica's date, `YYYY-MM-DD`.
    pub proddto: String,
    /// The subscribers served, in the order given.
    pub subscribers: Vec<String>,
    /// Every shard, per subscriber in shard order.
    pub files: Vec<ManifestFile>,
}

/// Which subscribers choose which persons: the filters reorganised for one pass.
struct Plan {
    municipality: HashMap<u16, Vec<usize>>,
    /// Subscribers per age 0..=999.
    by_age: Vec<Vec<usize>>,
    no_filter: Vec<usize>,
    pnr_union: RoaringBitmap,
    pnr: Vec<(usize, RoaringBitmap)>,
}

impl Plan {
    fn new(subscribers: &[(&SubscriberId, &Filters)]) -> Plan {
        let mut plan = Plan {
            municipality: HashMap::new(),
            by_age: vec![Vec::new(); 1000],
            no_filter: Vec::new(),
            pnr_union: RoaringBitmap::new(),
            pnr: Vec::new(),
        };
        for (i, &(_, f)) in subscribers.iter().enumerate() {
            if f.no_filter {
                plan.no_filter.push(i);
                continue;
            }
            for &m in &f.municipalities {
                plan.municipality.entry(m).or_default().push(i);
            }
            for r in &f.ages {
                for age in r.start..=r.end.min(999) {
                    plan.by_age[usize::from(age)].push(i);
                }
            }
            if !f.pnrs.is_empty() {
                plan.pnr_union |= &f.pnrs;
                plan.pnr.push((i, f.pnrs.clone()));
            }
        }
        plan
    }

    /// The subscribers that choose `p` on `date`, ascending, each once.
    fn choose(&self, p: &SourcePerson<'_>, date: NaiveDate, out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.no_filter);
        if self.pnr_union.contains(p.pnr.key()) {
            out.extend(
                self.pnr
                    .iter()
                    .filter(|(_, set)| set.contains(p.pnr.key()))
                    .map(|(i, _)| *i),
            );
        }
        if let Some(subs) = p.municipality.and_then(|m| self.municipality.get(&m)) {
            out.extend_from_slice(subs);
        }
        if ALIVE_AND_REGISTERED.contains(&p.status) {
            let age = p.birth_date.and_then(|b| age_on(b, date));
            if let Some(subs) = age.and_then(|a| self.by_age.get(a as usize)) {
                out.extend_from_slice(subs);
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// Bytes of canonical LF lines once their terminators are `terminator`.
fn terminated_len(lines: &[u8], terminator: Terminator) -> u64 {
    let n = line_count(lines);
    lines.len() as u64 - n + n * terminator.bytes().len() as u64
}

/// Records in canonical LF lines (memchr: this runs once per chosen person of a national load).
fn line_count(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Appends canonical LF lines with `terminator` as their terminators.
fn push_lines(out: &mut Vec<u8>, lines: &[u8], terminator: Terminator) {
    if terminator == Terminator::Lf {
        out.extend_from_slice(lines);
        return;
    }
    for line in lines.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
        out.extend_from_slice(terminator.bytes());
    }
}

/// The records every shard of a load repeats: its 000 and the 099 A45 record written after
/// each person.
struct ShardTemplate {
    start: Vec<u8>,
    a45: RecordBuilder,
    terminator: Terminator,
}

impl ShardTemplate {
    fn new(date: NaiveDate, opgavenr: &[u8; 6], terminator: Terminator) -> ShardTemplate {
        let mut start = RecordBuilder::new(&R000);
        start
            .text(&r000::SORTFELT_10, b"0000000000")
            .text(&r000::OPGAVENR, opgavenr)
            .date(&r000::PRODDTO, date)
            .number(&r000::PRODDTOFORRIG, 0);
        let mut bytes = Vec::new();
        start.write(&mut bytes, terminator);
        let mut a45 = RecordBuilder::new(&R099);
        a45.date(&r099::TIMESTAMPU, date)
            .text(&r099::HAENDELSE, b"A45");
        ShardTemplate {
            start: bytes,
            a45,
            terminator,
        }
    }

    fn end_len(&self) -> u64 {
        (cprsift_format::layout::R999.len + self.terminator.bytes().len()) as u64
    }
}

/// A person chosen by at least one subscriber, rendered once for all of them.
struct ChosenPerson<'r> {
    /// Position in the replica.
    index: usize,
    pnr: Pnr,
    /// The block and its A45 record, with the output terminator.
    rendered: &'r [u8],
    /// Records it adds to the shard (block, A45, 003).
    records: u64,
    /// Bytes it adds to the shard (block, A45, 003), with the output terminator.
    size: u64,
}

/// One subscriber's shards.
struct ShardWriter {
    id: SubscriberId,
    dir: Folder,
    base: String,
    number: u32,
    open: Option<OpenShard>,
    files: Vec<ManifestFile>,
}

struct OpenShard {
    name: String,
    file: OutputFile,
    persons: Vec<usize>,
    taeller: u64,
    /// Bytes the shard will have once its 003 tail and 999 are written.
    planned: u64,
}

/// `I<YYMMDD>.L<OPGAVENR>` (the shard number is appended).
pub fn initial_file_base(date: NaiveDate, opgavenr: &str) -> String {
    format!("I{}.L{opgavenr}", date.format("%y%m%d"))
}

impl ShardWriter {
    fn open_shard(
        &mut self,
        template: &ShardTemplate,
        opts: &InitialLoadOptions,
    ) -> Result<(), EngineError> {
        self.number += 1;
        let name = opts
            .output
            .file_name(format!("{}.{:03}", self.base, self.number));
        let mut file = OutputFile::create(&self.dir, &name, opts.output.zstd)?;
        file.write_all(&template.start)?;
        self.open = Some(OpenShard {
            name,
            file,
            persons: Vec::new(),
            taeller: 0,
            planned: template.start.len() as u64 + template.end_len(),
        });
        Ok(())
    }

    /// Adds a chosen person.
    fn add(
        &mut self,
        source: &dyn PersonSource,
        template: &ShardTemplate,
        opts: &InitialLoadOptions,
        person: &ChosenPerson<'_>,
    ) -> Result<(), EngineError> {
        let size = person.size;
        let fits = |s: &OpenShard| s.planned + size <= opts.shard_size;
        if self
            .open
            .as_ref()
            .is_some_and(|s| !fits(s) && !s.persons.is_empty())
        {
            self.close(source, template)?;
        }
        if self.open.is_none() {
            self.open_shard(template, opts)?;
        }
        let Some(shard) = self.open.as_mut() else {
            return Ok(());
        };
        if !fits(shard) {
            return Err(EngineError::ShardTooSmall {
                limit: opts.shard_size,
                needed: shard.planned + size,
                person: person.pnr.masked().to_string(),
            });
        }
        shard.file.write_all(person.rendered)?;
        shard.persons.push(person.index);
        shard.planned += size;
        shard.taeller += person.records;
        Ok(())
    }

    /// Writes the open shard's 003 tail and 999 and commits it.
    fn close(
        &mut self,
        source: &dyn PersonSource,
        template: &ShardTemplate,
    ) -> Result<(), EngineError> {
        let Some(mut shard) = self.open.take() else {
            return Ok(());
        };
        let mut buf = Vec::new();
        for &i in &shard.persons {
            push_lines(
                &mut buf,
                source.person_at(i)?.clear_address,
                template.terminator,
            );
            if buf.len() >= 1 << 20 {
                shard.file.write_all(&buf)?;
                buf.clear();
            }
        }
        end_record(b"9999999999", shard.taeller).write(&mut buf, template.terminator);
        shard.file.write_all(&buf)?;
        let digest = shard.file.commit()?;
        let meta = FileMetadata {
            subscriber: self.id.to_string(),
            file: shard.name.clone(),
            proddto: source.date().to_string(),
            persons: shard.persons.len() as u64,
            records: shard.taeller + 2,
            digest,
        };
        meta.write(&self.dir)?;
        self.files.push(ManifestFile {
            subscriber: self.id.to_string(),
            path: format!("{}/{}", self.id, shard.name),
            persons: meta.persons,
            records: meta.records,
            bytes: meta.digest.bytes,
            sha256: meta.digest.sha256,
        });
        Ok(())
    }
}

/// The manifest's path: `<outbox>/_runs/I<YYYYMMDD>.L<OPGAVENR>-<hash of the ids>.manifest.json`.
pub fn initial_manifest_path(
    outbox: &Path,
    date: NaiveDate,
    opgavenr: &str,
    ids: &[&SubscriberId],
) -> PathBuf {
    let mut sha = Sha256::new();
    for id in ids {
        sha.update(id.as_str().as_bytes());
        sha.update(b"\n");
    }
    let hash = hex::encode(sha.finalize());
    runs_dir(outbox).join(format!(
        "I{}.L{opgavenr}-{}.manifest.json",
        date.format("%Y%m%d"),
        &hash[..16]
    ))
}

/// Writes initial loads for `subscribers` (borrowed from the registry, in output order) in one
/// pass over `source`, then the manifest.
pub fn write_initial_load<'s, S: SubscriberRef<'s>>(
    source: &dyn PersonSource,
    subscribers: impl IntoIterator<Item = S>,
    outbox: &Path,
    options: &InitialLoadOptions,
) -> Result<InitialManifest, EngineError> {
    let subscribers: Vec<(&SubscriberId, &Filters)> =
        subscribers.into_iter().map(SubscriberRef::parts).collect();
    let date = source.date();
    let opg = source.opgavenr();
    // Six digits: the replica keeps only job numbers the reader accepted.
    let opgavenr = String::from_utf8_lossy(&opg).into_owned();
    let template = ShardTemplate::new(date, &opg, options.output.terminator);
    let plan = Plan::new(&subscribers);
    let base = initial_file_base(date, &opgavenr);
    let outbox_dir = outbox_folder(outbox)?;
    let mut writers = subscribers
        .iter()
        .map(|&(id, _)| {
            let dir = private_child(&outbox_dir, id.as_str())?;
            Ok(ShardWriter {
                id: id.clone(),
                dir,
                base: base.clone(),
                number: 0,
                open: None,
                files: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    let mut chosen = Vec::new();
    let mut rendered = Vec::new();
    let mut a45 = template.a45.clone();
    for i in 0..source.len() {
        let p = source.person_at(i)?;
        plan.choose(&p, date, &mut chosen);
        if chosen.is_empty() {
            continue;
        }
        rendered.clear();
        push_lines(&mut rendered, p.block, template.terminator);
        a45.text(&r099::PNR, &p.pnr.digits());
        a45.write(&mut rendered, template.terminator);
        let person = ChosenPerson {
            index: i,
            pnr: p.pnr,
            rendered: &rendered,
            records: line_count(p.block) + 1 + line_count(p.clear_address),
            size: rendered.len() as u64 + terminated_len(p.clear_address, template.terminator),
        };
        for &s in &chosen {
            writers[s].add(source, &template, options, &person)?;
        }
    }
    let mut manifest = InitialManifest {
        kind: "initial-load".into(),
        opgavenr: opgavenr.clone(),
        proddto: date.to_string(),
        subscribers: subscribers.iter().map(|(id, _)| id.to_string()).collect(),
        files: Vec::new(),
    };
    for w in &mut writers {
        if w.number == 0 {
            // An empty population still gets one file (000 + 999).
            w.open_shard(&template, options)?;
        }
        w.close(source, &template)?;
        manifest.files.append(&mut w.files);
    }
    let ids: Vec<&SubscriberId> = subscribers.iter().map(|&(id, _)| id).collect();
    let path = initial_manifest_path(outbox, date, &opgavenr, &ids);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| EngineError::Outbox {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let runs = private_child(&outbox_dir, RUNS)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_whole(&runs, &name, &json)?;
    Ok(manifest)
}
