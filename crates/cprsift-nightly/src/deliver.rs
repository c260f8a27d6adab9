//! The nightly run (docs/rules.md §5.6): one read of the change extract, the sequence check
//! against the replica, the delivery against the state before apply, the PNR moves, then (on
//! request) the apply of that same checked value.
//!
//! One read: the extract is mapped once and read once by `CheckedExtract::read`, which frames,
//! validates, indexes and identifies it in one parallel pass. The day index, lenient mode's
//! sorting, the delivery record's identity and the replica's apply all use that value; nothing
//! maps or checks the file again.
//!
//! Crash safety: the day's manifest is written last and is the delivery's commit point. A
//! rerun that finds a manifest of the same extract (the same content identity) does not
//! deliver again; one that finds none rewrites every file (same input, same state before: the
//! same bytes); one that finds a manifest of another extract for the same date and job number
//! refuses it. PNR moves are a function of the extract and the registry; they are committed
//! after the manifest, and a rerun recomputes them against the registry (already moved
//! subscriptions no longer match), so they are made exactly once. Apply comes last: once it is
//! done the sequence check says "already applied" and nothing is delivered again.

use std::path::PathBuf;

use chrono::NaiveDate;
use cprsift_engine::{
    check_outbox, lock_outbox, DailyManifest, DailyOptions, DayIndex, FilterSet, MatchOptions,
    ReportedMove, SetAside, SetAsideBlocks,
};
use cprsift_format::{CheckedExtract, ContentId, ExtractOptions, InvalidExtract, ParseError, Pnr};
use cprsift_io::MappedFile;
use cprsift_replica::{ApplyOptions, ChangeExtract, Replica, Sequence};
use cprsift_subscriptions::Source;

use crate::error::NightlyError;
use crate::replica_view::ReplicaView;

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
    /// Output switches (terminator, zstd, skip-empty).
    pub daily: DailyOptions,
    /// Apply the extract to the replica after delivering.
    pub apply: bool,
    /// Lenient mode (docs/rules.md §6.3): a malformed person block is set aside into the
    /// run's reject file and the rest is delivered (and applied); errors of the file itself
    /// still stop the run.
    pub lenient: bool,
    /// Accept this new job number (OPGAVENR) where the replica expects its current one (the
    /// documented way to change job number on purpose).
    pub accept_opgavenr: Option<[u8; 6]>,
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
    /// Its content identity.
    pub extract_id: ContentId,
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
pub fn deliver(req: &DeliverRequest) -> Result<DeliveryReport, NightlyError> {
    let path = &req.extract;
    let map = MappedFile::open(path).map_err(|source| NightlyError::Io {
        path: path.clone(),
        source,
    })?;
    let checked = CheckedExtract::read(&map, req.extract_options);
    let input = |error: ParseError| NightlyError::Input {
        path: path.clone(),
        error,
    };
    let set_aside = if checked.is_valid() {
        SetAsideBlocks::default()
    } else if req.lenient {
        SetAsideBlocks::sort(&checked, path).map_err(input)?
    } else {
        return Err(NightlyError::Invalid(InvalidExtract::of(&checked, path)));
    };
    let header = checked.header().map_err(input)?;
    // Everything the run needs is checked before anything is written, also on a night that
    // turns out to be done: the subscribers (a bad file refuses the run without creating the
    // outbox) and the outbox's place.
    let (registry, source) = cprsift_subscriptions::load(&req.subscriptions)?;
    let filters = FilterSet::compile(registry.subscribers())?;
    check_outbox(&req.outbox)?;
    let replica = Replica::open(&req.replica)?;
    let mut report = DeliveryReport {
        outcome: DeliveryOutcome::AlreadyApplied,
        proddto: header.proddto,
        opgavenr: header.opgavenr_text().to_string(),
        extract_id: checked.content_id(),
        persons: checked.report().persons,
        warnings: checked.report().warning_count,
        manifest_path: None,
        manifest: None,
        pnr_moves: Vec::new(),
        moves_committed: false,
        applied: false,
        set_aside: Vec::new(),
        reject_file: None,
    };
    let change = ChangeExtract {
        path,
        checked: &checked,
        set_aside: req.lenient.then_some(set_aside.blocks.as_slice()),
    };
    let apply_options = ApplyOptions {
        extract: req.extract_options,
        accept_opgavenr: req.accept_opgavenr,
    };
    match replica.sequence(&header, checked.content_id(), req.accept_opgavenr, path)? {
        Sequence::AlreadyApplied => {
            if req.apply {
                // Nothing to deliver or apply, but an apply interrupted after its switch may
                // have left the old generation: the replica's apply finishes its clean-up.
                drop(replica);
                cprsift_replica::apply_checked(&req.replica, &[change], apply_options)?;
            }
            return Ok(report);
        }
        Sequence::Next => {}
    }
    let day = DayIndex::build(
        &checked,
        &ReplicaView(&replica),
        req.matching,
        &set_aside.blocks,
    )
    .map_err(input)?;
    let selections = filters.evaluate(&day);
    let _outbox_lock = lock_outbox(&req.outbox)?;
    let manifest_path = DailyManifest::path(&req.outbox, header.proddto, &report.opgavenr);
    let manifest = match DailyManifest::read(&req.outbox, header.proddto, &report.opgavenr)? {
        Some(m) if m.is_of(&day) => {
            report.outcome = DeliveryOutcome::AlreadyDelivered;
            m
        }
        Some(other) => {
            return Err(NightlyError::different(
                manifest_path,
                &other,
                checked.content_id().to_string(),
            ))
        }
        None => {
            report.outcome = DeliveryOutcome::Delivered;
            cprsift_engine::write_daily(
                &day,
                &filters,
                &selections,
                &req.outbox,
                &req.daily,
                path,
                &set_aside,
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
    report.manifest_path = Some(manifest_path.clone());
    report.manifest = Some(manifest);
    drop(day);
    drop(replica);
    if req.apply {
        // The same checked value, the same blocks set aside: what subscribers received and
        // what the replica holds come from one read.
        cprsift_replica::apply_checked(&req.replica, &[change], apply_options).map_err(
            |source| NightlyError::ApplyFailed {
                manifest: manifest_path,
                moves: if report.moves_committed {
                    report.pnr_moves.len()
                } else {
                    0
                },
                source,
            },
        )?;
        report.applied = true;
    }
    Ok(report)
}
