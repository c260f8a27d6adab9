//! The nightly run and the initial-load command with the real replica and subscriber registry
//! (SEMANTICS.md §5 order): validate the extract, check the sequence against the replica,
//! deliver against the state before apply, move PNR subscriptions, then (on request) apply.
//!
//! Crash safety: the day's manifest is written last and is the delivery's commit point. A
//! rerun that finds a manifest of the same extract does not deliver again; one that finds none
//! rewrites every file (same input, same state before: the same bytes). PNR moves are a
//! function of the extract and the registry; they are committed after the manifest, and a
//! rerun recomputes them against the registry (already moved subscriptions no longer match),
//! so they are made exactly once. Apply comes last: once it is done the sequence check says
//! "already applied" and nothing is delivered again.

use std::path::PathBuf;

use chrono::NaiveDate;
use cprsift_format::{Extract, ExtractOptions, Pnr};
use cprsift_io::MappedFile;
use cprsift_replica::{Replica, Sequence};
use cprsift_subscriptions::{Source, SubscriberId};

use crate::daily::{
    opgavenr_text, render_daily, write_daily_lenient, DailyManifest, DailyOptions, ReportedMove,
};
use crate::day::{DayIndex, MatchOptions, PriorState};
use crate::error::EngineError;
use crate::filters::FilterSet;
use crate::initial::{
    initial_manifest_path, write_initial_load, InitialLoadOptions, InitialManifest, PersonSource,
    StoredPersonView,
};
use crate::lenient::{set_aside, SetAside, SetAsideBlocks};
use crate::output::{lock_outbox, outbox_folder, private_child, read_manifest, OutputFile, RUNS};

impl PriorState for Replica {
    fn municipality_before(&self, pnr: Pnr) -> Option<u16> {
        self.lookup(pnr).and_then(|e| e.municipality)
    }
}

impl PersonSource for Replica {
    fn date(&self) -> NaiveDate {
        self.proddto()
    }

    fn opgavenr(&self) -> [u8; 6] {
        Replica::opgavenr(self)
    }

    fn len(&self) -> usize {
        Replica::len(self)
    }

    fn person_at(&self, i: usize) -> Result<StoredPersonView<'_>, EngineError> {
        let p = Replica::person_at(self, i);
        Ok(StoredPersonView {
            pnr: p.entry.pnr,
            municipality: p.entry.municipality,
            birth_date: p.entry.birth_date,
            status: p.entry.status,
            block: p.block,
            clear_address: p.clear_address,
        })
    }
}

/// A nightly delivery.
#[derive(Clone, Debug)]
pub struct DeliverRequest {
    /// The day's change extract.
    pub extract: PathBuf,
    /// The replica folder (its state before this extract is the "before").
    pub replica: PathBuf,
    /// A subscription store folder, or a TOML file (then PNR moves are only reported).
    pub subscriptions: PathBuf,
    /// The outbox: one folder per subscriber, manifests in `_runs/`.
    pub outbox: PathBuf,
    /// Reading options (strict-unknown).
    pub extract_options: ExtractOptions,
    /// Filter switches (after-only, main-only).
    pub matching: MatchOptions,
    /// Output switches (framing, zstd, skip-empty).
    pub daily: DailyOptions,
    /// Apply the extract to the replica after delivering.
    pub apply: bool,
    /// Lenient mode (SEMANTICS.md §6): a malformed person block is set aside into the run's
    /// reject file and the rest is delivered; errors of the file itself still stop the run.
    pub lenient: bool,
}

/// What a nightly run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryOutcome {
    /// The files were written now.
    Delivered,
    /// A complete delivery of this extract was already in the outbox (a rerun); nothing was
    /// written again, the remaining steps were finished.
    AlreadyDelivered,
    /// The replica already holds this extract: nothing delivered again.
    AlreadyApplied,
}

/// The run report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeliveryReport {
    /// What happened.
    pub outcome: DeliveryOutcome,
    /// The extract's PRODDTO.
    pub proddto: NaiveDate,
    /// Its OPGAVENR.
    pub opgavenr: String,
    /// Persons in the extract.
    pub persons: u64,
    /// Warnings found by validation (undefined record types carried through).
    pub warnings: u64,
    /// The manifest's path and content (none when already applied).
    pub manifest_path: Option<PathBuf>,
    /// The manifest.
    pub manifest: Option<DailyManifest>,
    /// PNR moves made in the store by this run (masked); with a TOML file, the moves due.
    pub pnr_moves: Vec<ReportedMove>,
    /// True when the moves were committed to a store (false for a TOML file).
    pub moves_committed: bool,
    /// True when the extract was applied to the replica by this run.
    pub applied: bool,
    /// Lenient mode: the person blocks set aside (neither delivered nor applied).
    pub set_aside: Vec<SetAside>,
    /// Lenient mode: the reject file holding them, when any.
    pub reject_file: Option<PathBuf>,
}

/// Runs the nightly delivery (see the module documentation).
pub fn deliver(req: &DeliverRequest) -> Result<DeliveryReport, EngineError> {
    let map = MappedFile::open(&req.extract).map_err(EngineError::io(&req.extract))?;
    let extract = Extract::open(&map, req.extract_options).map_err(|error| EngineError::Input {
        path: req.extract.clone(),
        error,
    })?;
    let check = extract.check();
    let rejected = if check.is_valid() {
        SetAsideBlocks::default()
    } else if req.lenient {
        set_aside(&extract, &check, &req.extract)?
    } else {
        return Err(EngineError::Invalid {
            path: req.extract.clone(),
            errors: check.errors,
            count: check.error_count,
        });
    };
    let opgavenr = opgavenr_text(extract.opgavenr(), &req.extract)?;
    let proddto = extract.proddto().ok_or_else(|| EngineError::Outbox {
        path: req.extract.clone(),
        reason: "the 000 record has no PRODDTO".into(),
    })?;
    let replica = Replica::open(&req.replica)?;
    let mut report = DeliveryReport {
        outcome: DeliveryOutcome::AlreadyApplied,
        proddto,
        opgavenr,
        persons: check.persons,
        warnings: check.warning_count,
        manifest_path: None,
        manifest: None,
        pnr_moves: Vec::new(),
        moves_committed: false,
        applied: false,
        set_aside: Vec::new(),
        reject_file: None,
    };
    match replica.sequence(extract.proddto_forrig(), proddto) {
        Sequence::Gap => {
            return Err(EngineError::SequenceGap {
                path: req.extract.clone(),
                replica: replica.proddto(),
                proddto,
                proddto_forrig: extract.proddto_forrig(),
            })
        }
        Sequence::AlreadyApplied => {
            if req.apply {
                // Nothing to deliver or apply, but an apply interrupted after its switch may
                // have left the old generation: the replica's apply finishes its clean-up.
                let opts = cprsift_replica::ApplyOptions {
                    extract: req.extract_options,
                };
                cprsift_replica::apply(&req.replica, std::slice::from_ref(&req.extract), opts)?;
            }
            return Ok(report);
        }
        Sequence::Next => {}
    }
    let _outbox_lock = lock_outbox(&req.outbox)?;
    let (registry, source) = cprsift_subscriptions::load(&req.subscriptions)?;
    let filters = FilterSet::compile(registry.subscribers())?;
    let day = DayIndex::build_without(extract, &replica, req.matching, &req.extract, &rejected)?;
    let selections = filters.evaluate(&day);
    let path = DailyManifest::path(&req.outbox, proddto, &report.opgavenr);
    let manifest = match read_manifest::<DailyManifest>(&path)? {
        Some(m) if m.is_of(&day) => {
            report.outcome = DeliveryOutcome::AlreadyDelivered;
            m
        }
        Some(_) => {
            return Err(EngineError::DifferentExtract {
                path,
                reason: "a manifest for this date and OPGAVENR describes a different extract; \
                         nothing was delivered"
                    .into(),
            })
        }
        None => {
            report.outcome = DeliveryOutcome::Delivered;
            write_daily_lenient(
                &day,
                &filters,
                &selections,
                &req.outbox,
                &req.daily,
                &req.extract,
                &rejected,
            )?
        }
    };
    let mut due: Vec<(Pnr, Pnr)> = selections
        .iter()
        .flat_map(|s| s.moves.iter().map(|m| (m.from, m.to)))
        .collect();
    due.sort_unstable();
    due.dedup();
    match source {
        Source::Store(store) if !due.is_empty() => {
            // Under the store's lock, against the live registry, so no concurrent change is lost.
            let lock = store.lock()?;
            let mut live = lock.load()?;
            let made = live.move_pnr_subscriptions(&due);
            if !made.is_empty() {
                lock.commit(&live)?;
            }
            report.moves_committed = true;
            report.pnr_moves = made.iter().map(ReportedMove::new).collect();
        }
        _ => {
            report.pnr_moves = selections
                .iter()
                .flat_map(|s| s.moves.iter().map(ReportedMove::new))
                .collect()
        }
    }
    report.set_aside = manifest.set_aside.clone();
    report.reject_file = manifest.reject_file.as_ref().map(|f| req.outbox.join(f));
    report.manifest_path = Some(path);
    report.manifest = Some(manifest);
    // With blocks set aside, the replica gets the rest: the day as a no-filter subscriber
    // would receive it (000, the accepted blocks, their 003 records, 999 recounted).
    let applied_file = if rejected.entries.is_empty() {
        req.extract.clone()
    } else {
        write_accepted(&day, &req.outbox, &report.opgavenr)?
    };
    drop(day);
    if req.apply {
        cprsift_replica::apply(
            &req.replica,
            std::slice::from_ref(&applied_file),
            cprsift_replica::ApplyOptions {
                extract: req.extract_options,
            },
        )?;
        report.applied = true;
    }
    Ok(report)
}

/// Writes the accepted part of a lenient day as an extract for the replica:
/// `<outbox>/_runs/D<YYYYMMDD>.L<OPGAVENR>.accepted` (0600).
fn write_accepted(
    day: &DayIndex<'_>,
    outbox: &std::path::Path,
    opgavenr: &str,
) -> Result<PathBuf, EngineError> {
    let runs = private_child(&outbox_folder(outbox)?, RUNS)?;
    let name = format!("D{}.L{opgavenr}.accepted", day.proddto().format("%Y%m%d"));
    let mut file = OutputFile::create(&runs, &name, None)?;
    render_daily(
        day,
        day.all_blocks(),
        cprsift_format::write::Terminator::Lf,
        &mut |b| file.write_all(b),
    )?;
    file.commit()?;
    Ok(runs.join(name))
}

/// An initial load for one or more new subscribers.
#[derive(Clone, Debug)]
pub struct InitialLoadRequest {
    /// The replica folder.
    pub replica: PathBuf,
    /// A subscription store folder or a TOML file.
    pub subscriptions: PathBuf,
    /// The subscribers to serve (each must be in the registry), in output order.
    pub subscribers: Vec<String>,
    /// The outbox.
    pub outbox: PathBuf,
    /// Shard size, framing, compression.
    pub options: InitialLoadOptions,
}

/// What an initial load wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InitialLoadReport {
    /// The manifest's path.
    pub manifest_path: PathBuf,
    /// The manifest.
    pub manifest: InitialManifest,
}

/// Writes initial loads (SEMANTICS.md §4) in one pass over the replica.
pub fn initial_load(req: &InitialLoadRequest) -> Result<InitialLoadReport, EngineError> {
    let replica = Replica::open(&req.replica)?;
    let (registry, _) = cprsift_subscriptions::load(&req.subscriptions)?;
    let mut chosen = Vec::with_capacity(req.subscribers.len());
    for id in &req.subscribers {
        let wanted =
            SubscriberId::new(id).map_err(|_| EngineError::BadSubscriberId { id: id.clone() })?;
        let subscriber = registry
            .subscribers()
            .find(|(rid, _)| **rid == wanted)
            .ok_or_else(|| EngineError::UnknownSubscriber { id: id.clone() })?;
        chosen.push(subscriber);
    }
    FilterSet::compile(chosen.iter().copied())?; // refuses a subscriber named twice
    let _outbox_lock = lock_outbox(&req.outbox)?;
    let manifest = write_initial_load(&replica, chosen.iter().copied(), &req.outbox, &req.options)?;
    let ids: Vec<&SubscriberId> = chosen.iter().map(|&(id, _)| id).collect();
    Ok(InitialLoadReport {
        manifest_path: initial_manifest_path(
            &req.outbox,
            replica.proddto(),
            &manifest.opgavenr,
            &ids,
        ),
        manifest,
    })
}
