//! The daily files (docs/rules.md §3): for every subscriber, 000 copied, the matched blocks in
//! input order, their 003 records in tail order, and a 999 with TAELLER recomputed; written in
//! parallel, each file whole, with its `.metadata`; the run's manifest last.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use cprsift_format::layout::fields::r999;
use cprsift_format::layout::R999;
use cprsift_format::write::{write_record, RecordBuilder, Terminator};
use cprsift_format::ContentId;
use cprsift_subscriptions::{PnrMove, SubscriberId};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::day_index::DayIndex;
use crate::error::EngineError;
use crate::filter_set::{FilterSet, Selection};
use crate::lenient::{SetAside, SetAsideBlocks};
use crate::output::{
    outbox_folder, private_child, publish, read_manifest, runs_dir, write_whole, FileMetadata,
    OutputFile, OutputOptions, RUNS,
};
use cprsift_io::{Folder, StagedFile};

/// How much rendered output is buffered before it goes to the file.
const FLUSH_BYTES: usize = 1 << 20;

/// Settings of a daily delivery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DailyOptions {
    /// Framing and compression.
    pub output: OutputOptions,
    /// Switch `skip-empty`: no file for a subscriber without a matching person (default: an
    /// empty file, 000 + 999, so that its PRODDTO chain has no hole).
    pub skip_empty: bool,
}

/// Records and persons written to one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub persons: u64,
    /// Records between 000 and 999 (the 999's TAELLER).
    pub taeller: u64,
}

/// Renders one subscriber's daily file, handing full buffers to `flush`.
pub(crate) fn render_daily(
    day: &DayIndex<'_>,
    blocks: &RoaringBitmap,
    terminator: Terminator,
    flush: &mut dyn FnMut(&[u8]) -> Result<(), EngineError>,
) -> Result<Counts, EngineError> {
    let extract = day.extract();
    let mut buf = Vec::with_capacity(FLUSH_BYTES + (64 << 10));
    let mut counts = Counts::default();
    write_record(&mut buf, &extract.start_record(), terminator);
    for b in blocks {
        let (Some(block), Some(facts)) = (day.block(b), day.facts(b)) else {
            continue;
        };
        if terminator == Terminator::Lf && facts.is_canonical_lf() {
            buf.extend_from_slice(block.bytes());
        } else {
            for r in block.records().filter_map(Result::ok) {
                write_record(&mut buf, &r, terminator);
            }
        }
        counts.persons += 1;
        counts.taeller += u64::from(block.record_count());
        if buf.len() >= FLUSH_BYTES {
            flush(&buf)?;
            buf.clear();
        }
    }
    for r in day.tail_of(blocks) {
        write_record(&mut buf, &r, terminator);
        counts.taeller += 1;
    }
    end_record(
        extract.end_record().field(&r999::SORTFELT_10).present(),
        counts.taeller,
    )
    .write(&mut buf, terminator);
    flush(&buf)?;
    Ok(counts)
}

/// A 999 record: positions 4-13 as given, TAELLER as counted.
pub(crate) fn end_record(sortfelt: &[u8], taeller: u64) -> RecordBuilder {
    let mut b = RecordBuilder::new(&R999);
    b.text(&r999::SORTFELT_10, sortfelt)
        .number(&r999::TAELLER, taeller);
    b
}

/// `D<YYMMDD>.L<OPGAVENR>` (docs/rules.md §3).
pub fn daily_file_name(proddto: NaiveDate, opgavenr: &str) -> String {
    format!("D{}.L{opgavenr}", proddto.format("%y%m%d"))
}

/// One delivered file, as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The subscriber.
    pub subscriber: String,
    /// Path relative to the outbox (`<subscriber>/<file>`).
    pub path: String,
    /// Persons in the file.
    pub persons: u64,
    /// Records in the file, 000 and 999 included.
    pub records: u64,
    /// Bytes as stored.
    pub bytes: u64,
    /// SHA-256 of the file as stored, hex.
    pub sha256: String,
}

/// A PNR move as reports and manifests show it: masked PNRs only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedMove {
    /// The subscriber.
    pub subscriber: String,
    /// The changed PNR, masked.
    pub from: String,
    /// The valid PNR, masked.
    pub to: String,
}

impl ReportedMove {
    /// The masked form of a move.
    pub fn new(m: &PnrMove) -> ReportedMove {
        ReportedMove {
            subscriber: m.subscriber.to_string(),
            from: m.from.masked().to_string(),
            to: m.to.masked().to_string(),
        }
    }
}

/// The manifest of one day's delivery, written last: its presence means every file it lists
/// is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyManifest {
    /// Always `daily`.
    pub kind: String,
    /// 000 OPGAVENR.
    pub opgavenr: String,
    /// 000 PRODDTO, `YYYY-MM-DD`.
    pub proddto: String,
    /// 000 PRODDTOFORRIG, `YYYY-MM-DD`, or null when zeros.
    pub proddto_forrig: Option<String>,
    /// The extract's content identity (BLAKE3 of its bytes): a rerun with the same file finds
    /// its delivery done; another file claiming the same date and job number is refused.
    /// Absent in manifests written before identities were recorded.
    #[serde(default)]
    pub extract_id: Option<ContentId>,
    /// The extract's size in bytes.
    pub extract_bytes: u64,
    /// Persons in the extract.
    pub extract_persons: u64,
    /// Subscribers evaluated.
    pub subscribers: u64,
    /// Every file written, in subscriber order.
    pub files: Vec<ManifestFile>,
    /// Subscribers that got no file (switch `skip-empty`).
    pub skipped_empty: Vec<String>,
    /// PNR subscriptions that move after this delivery (masked).
    pub pnr_moves: Vec<ReportedMove>,
    /// Lenient mode: the person blocks set aside (not delivered), in input order.
    #[serde(default)]
    pub set_aside: Vec<SetAside>,
    /// Lenient mode: the reject file holding them, relative to the outbox; none when nothing
    /// was set aside.
    #[serde(default)]
    pub reject_file: Option<String>,
}

impl DailyManifest {
    /// The manifest's path for a day: `<outbox>/_runs/D<YYYYMMDD>.L<OPGAVENR>.manifest.json`.
    pub fn path(outbox: &Path, proddto: NaiveDate, opgavenr: &str) -> PathBuf {
        runs_dir(outbox).join(format!(
            "D{}.L{opgavenr}.manifest.json",
            proddto.format("%Y%m%d")
        ))
    }

    /// The reject file's path for a day: `<outbox>/_runs/D<YYYYMMDD>.L<OPGAVENR>.rejected`.
    pub fn reject_path(outbox: &Path, proddto: NaiveDate, opgavenr: &str) -> PathBuf {
        runs_dir(outbox).join(format!(
            "D{}.L{opgavenr}.rejected",
            proddto.format("%Y%m%d")
        ))
    }

    /// The manifest of a day's delivery in `outbox`, when one was written (never read through
    /// a link); an unreadable one is an error.
    pub fn read(
        outbox: &Path,
        proddto: NaiveDate,
        opgavenr: &str,
    ) -> Result<Option<DailyManifest>, EngineError> {
        read_manifest(&DailyManifest::path(outbox, proddto, opgavenr))
    }

    /// True when this manifest is of the same extract as `day`: the same content identity (or,
    /// for a manifest from before identities were recorded, the same dates, size and persons).
    pub fn is_of(&self, day: &DayIndex<'_>) -> bool {
        let checked = day.checked();
        match self.extract_id {
            Some(id) => self.kind == "daily" && id == checked.content_id(),
            None => {
                self.kind == "daily"
                    && self.proddto == day.proddto().to_string()
                    && self.proddto_forrig == day.header().proddto_forrig.map(|d| d.to_string())
                    && self.extract_bytes == checked.input().len() as u64
                    && self.extract_persons == day.len() as u64
            }
        }
    }
}

/// Writes every subscriber's daily file and `.metadata` (in parallel), then the manifest.
/// `selections` are [`FilterSet::evaluate`]'s, in the filter set's order. In lenient mode
/// `set_aside` lists what was set aside: the reject file is written before the manifest, and
/// the manifest lists it. Returns the manifest written.
pub fn write_daily(
    day: &DayIndex<'_>,
    filters: &FilterSet<'_>,
    selections: &[Selection],
    outbox: &Path,
    options: &DailyOptions,
    extract_path: &Path,
    set_aside: &SetAsideBlocks,
) -> Result<DailyManifest, EngineError> {
    let opgavenr = day.header().opgavenr_text().to_string();
    let name = options
        .output
        .file_name(daily_file_name(day.proddto(), &opgavenr));
    let outbox_dir = outbox_folder(outbox)?;
    // Every file is written to its temporary file first (in parallel); then all are made
    // durable and renamed together (see `publish`); the manifest, the commit point, comes last.
    let staged: Vec<Option<(ManifestFile, [StagedFile; 2])>> = filters
        .ids()
        .par_iter()
        .zip(selections.par_iter())
        .map(|(id, sel)| {
            if options.skip_empty && sel.blocks.is_empty() {
                return Ok(None);
            }
            write_one(day, id, &sel.blocks, &outbox_dir, &name, &options.output).map(Some)
        })
        .collect::<Result<_, EngineError>>()?;
    let mut written = Vec::with_capacity(staged.len());
    let mut files = Vec::with_capacity(2 * staged.len());
    for s in staged {
        written.push(s.map(|(entry, pair)| {
            files.extend(pair);
            entry
        }));
    }
    publish(files, outbox)?;
    let mut manifest = DailyManifest {
        kind: "daily".into(),
        opgavenr,
        proddto: day.proddto().to_string(),
        proddto_forrig: day.header().proddto_forrig.map(|d| d.to_string()),
        extract_id: Some(day.checked().content_id()),
        extract_bytes: day.checked().input().len() as u64,
        extract_persons: day.len() as u64,
        subscribers: filters.ids().len() as u64,
        files: Vec::new(),
        skipped_empty: Vec::new(),
        pnr_moves: Vec::new(),
        set_aside: set_aside.entries.clone(),
        reject_file: None,
    };
    for ((id, sel), file) in filters.ids().iter().zip(selections).zip(written) {
        match file {
            Some(f) => manifest.files.push(f),
            None => manifest.skipped_empty.push(id.to_string()),
        }
        manifest
            .pnr_moves
            .extend(sel.moves.iter().map(ReportedMove::new));
    }
    let path = DailyManifest::path(outbox, day.proddto(), &manifest.opgavenr);
    let runs = private_child(&outbox_dir, RUNS)?;
    if !set_aside.entries.is_empty() {
        let reject = DailyManifest::reject_path(outbox, day.proddto(), &manifest.opgavenr);
        let name = file_name_of(&reject);
        let extract_name = extract_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = set_aside.reject_file(day.extract().input(), &extract_name);
        write_whole(&runs, &name, &bytes)?;
        manifest.reject_file = Some(format!("_runs/{name}"));
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| EngineError::Outbox {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_whole(&runs, &file_name_of(&path), &json)?;
    Ok(manifest)
}

/// The last component of a path, as text.
fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes one subscriber's data file and `.metadata` as staged (temporary) files.
fn write_one(
    day: &DayIndex<'_>,
    id: &SubscriberId,
    blocks: &RoaringBitmap,
    outbox: &Folder,
    name: &str,
    output: &OutputOptions,
) -> Result<(ManifestFile, [StagedFile; 2]), EngineError> {
    let dir = private_child(outbox, id.as_str())?;
    let mut file = OutputFile::create(&dir, name, output.zstd)?;
    let counts = render_daily(day, blocks, output.terminator, &mut |b| file.write_all(b))?;
    let (digest, data) = file.stage()?;
    let meta = FileMetadata {
        subscriber: id.to_string(),
        file: name.to_string(),
        proddto: day.proddto().to_string(),
        persons: counts.persons,
        records: counts.taeller + 2,
        digest,
    };
    let companion = meta.stage(&dir)?;
    let entry = ManifestFile {
        subscriber: id.to_string(),
        path: format!("{id}/{name}"),
        persons: meta.persons,
        records: meta.records,
        bytes: meta.digest.bytes,
        sha256: meta.digest.sha256,
    };
    Ok((entry, [data, companion]))
}
