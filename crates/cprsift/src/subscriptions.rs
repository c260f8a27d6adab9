//! `cprsift subscriptions`: subscribers and their filters. The work is done by the
//! `cprsift-subscriptions` crate; this module parses arguments, opens the store (and the replica
//! for NON_EXISTING_PNR) and prints the service's answers. Values are taken as text and checked
//! by the library, so that every invalid value exits 1 with its message (not clap's 2).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cprsift_format::{EventCode, Pnr};
use cprsift_replica::Replica;
use cprsift_subscriptions::{
    load, municipality_from_text, municipality_text, parse_event_code, parse_pnr, toml_form,
    AgeRange, BulkMode, BulkReport, FilterGroup, Filters, InvalidValue, Operation, PnrDirectory,
    PnrList, Registry, Store, SubscriberId, SubscriptionError,
};
use serde_json::json;

use cprsift_errors::Category;

use crate::failure::{CommandResult, Failure};

/// The subscriptions subcommands. Answers are the service's words (ADDED, REMOVED,
/// ALREADY_EXISTED, NON_EXISTING, NON_EXISTING_PNR), all with exit code 0.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a store from a TOML file, or replace an existing store's content with it.
    Import {
        /// The TOML file (`[[subscriber]]` tables).
        file: PathBuf,
        /// The store folder (created 0700 if missing).
        #[arg(long)]
        subscriptions: PathBuf,
        /// Accept a file without subscribers over a store that has some (empties the store).
        #[arg(long)]
        allow_empty: bool,
    },
    /// Print every subscriber in the TOML form (full PNRs: this is the data itself).
    Export {
        /// A store folder or a TOML file.
        #[arg(long)]
        subscriptions: PathBuf,
        /// Write to this file (mode 0600, atomically) instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// List subscribers with the size of each filter group, one JSON object per line.
    List {
        /// A store folder or a TOML file.
        #[arg(long)]
        subscriptions: PathBuf,
    },
    /// Create a subscriber without filters (ADDED or ALREADY_EXISTED).
    Create(Target),
    /// Delete a subscriber and all its filters (REMOVED or NON_EXISTING).
    Delete(Target),
    /// AddPNRSubscription.
    #[command(alias = "AddPNRSubscription")]
    AddPnr(PnrArgs),
    /// RemovePNRSubscription.
    #[command(alias = "RemovePNRSubscription")]
    RemovePnr(PnrArgs),
    /// AddAgeRangeSubscription (whole years 0-999, both ends inclusive).
    #[command(alias = "AddAgeRangeSubscription")]
    AddAgeRange(AgeArgs),
    /// RemoveAgeRangeSubscription (the exact range).
    #[command(alias = "RemoveAgeRangeSubscription")]
    RemoveAgeRange(AgeArgs),
    /// AddMunicipalityCodeSubscription (1-999; `101` = `0101`).
    #[command(alias = "AddMunicipalityCodeSubscription")]
    AddMunicipalityCode(CodeArgs),
    /// RemoveMunicipalityCodeSubscription.
    #[command(alias = "RemoveMunicipalityCodeSubscription")]
    RemoveMunicipalityCode(CodeArgs),
    /// AddChangeCodeSubscription (an event code such as A01).
    #[command(alias = "AddChangeCodeSubscription")]
    AddChangeCode(CodeArgs),
    /// RemoveChangeCodeSubscription.
    #[command(alias = "RemoveChangeCodeSubscription")]
    RemoveChangeCode(CodeArgs),
    /// RemoveAll: empty one filter group (PNR, AgeRange, MunicipalityCode, EventChangeCode).
    #[command(alias = "RemoveAll")]
    RemoveAll(GroupArgs),
    /// Turn no-filter on (every person) or off.
    SetNoFilter(NoFilterArgs),
    /// GetAllFilters: print a subscriber's filters as JSON (PNRs masked unless --unmasked).
    #[command(alias = "GetAllFilters")]
    GetAllFilters(GetArgs),
    /// Add every PNR of a list file (one per line; blank lines and # comments allowed).
    BulkAddPnr(BulkArgs),
    /// Remove every PNR of a list file.
    BulkRemovePnr(BulkArgs),
    /// Make the subscriber's PNR set equal to a list file: add what is missing, remove the rest.
    SyncPnr(SyncArgs),
}

/// The store and the subscriber an operation works on.
#[derive(clap::Args)]
pub struct Target {
    /// The store folder (a TOML file is read only and refused here).
    #[arg(long)]
    subscriptions: PathBuf,
    /// The subscriber's id.
    #[arg(long)]
    subscriber: String,
}

/// Arguments of the single-PNR operations.
#[derive(clap::Args)]
pub struct PnrArgs {
    #[command(flatten)]
    target: Target,
    /// The PNR: 10 digits, or DDMMYY-SSSS.
    pnr: String,
    /// A replica: an add of a PNR it does not hold answers NON_EXISTING_PNR.
    #[arg(long)]
    replica: Option<PathBuf>,
}

/// Arguments of the age-range operations.
#[derive(clap::Args)]
pub struct AgeArgs {
    #[command(flatten)]
    target: Target,
    /// First age of the range (completed years).
    #[arg(long, allow_hyphen_values = true)]
    start: String,
    /// Last age of the range (inclusive).
    #[arg(long, allow_hyphen_values = true)]
    end: String,
}

/// Arguments of the municipality-code and change-code operations.
#[derive(clap::Args)]
pub struct CodeArgs {
    #[command(flatten)]
    target: Target,
    /// The code.
    #[arg(allow_hyphen_values = true)]
    code: String,
}

/// Arguments of RemoveAll.
#[derive(clap::Args)]
pub struct GroupArgs {
    #[command(flatten)]
    target: Target,
    /// PNR, AgeRange, MunicipalityCode or EventChangeCode.
    #[arg(long)]
    group: String,
}

/// Arguments of set-no-filter.
#[derive(clap::Args)]
pub struct NoFilterArgs {
    #[command(flatten)]
    target: Target,
    /// `on` or `off`.
    value: String,
}

/// Arguments of GetAllFilters.
#[derive(clap::Args)]
pub struct GetArgs {
    /// A store folder or a TOML file.
    #[arg(long)]
    subscriptions: PathBuf,
    /// The subscriber's id.
    #[arg(long)]
    subscriber: String,
    /// Print full PNRs (sensitive: only into a place as protected as the store).
    #[arg(long)]
    unmasked: bool,
}

/// Arguments of bulk-add-pnr and bulk-remove-pnr.
#[derive(clap::Args)]
pub struct BulkArgs {
    #[command(flatten)]
    target: Target,
    /// The PNR list file.
    #[arg(long)]
    file: PathBuf,
    /// Apply the valid lines and report the invalid ones (default: refuse the whole file).
    #[arg(long)]
    skip_invalid: bool,
    /// A replica: PNRs it does not hold are not added (NON_EXISTING_PNR).
    #[arg(long)]
    replica: Option<PathBuf>,
}

/// Arguments of sync-pnr (which never skips invalid lines: a skipped line would remove the
/// subscription it was meant to keep).
#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    target: Target,
    /// The PNR list file.
    #[arg(long)]
    file: PathBuf,
    /// A replica: PNRs it does not hold are not added (NON_EXISTING_PNR).
    #[arg(long)]
    replica: Option<PathBuf>,
}

/// Runs a subscriptions subcommand: exit 0 with the service's answer, 1 for an invalid value
/// or file (nothing changed), 2 for I/O and usage problems.
pub fn run(cmd: Command) -> CommandResult {
    match cmd {
        Command::Import {
            file,
            subscriptions,
            allow_empty,
        } => import(&file, &subscriptions, allow_empty),
        Command::Export {
            subscriptions,
            output,
        } => export(&subscriptions, output.as_deref()),
        Command::List { subscriptions } => list(&subscriptions),
        Command::Create(t) => subscriber_op(&t, Registry::create_subscriber),
        Command::Delete(t) => subscriber_op(&t, Registry::remove_subscriber),
        Command::AddPnr(a) => pnr_op(a, Operation::AddPnr),
        Command::RemovePnr(a) => pnr_op(a, Operation::RemovePnr),
        Command::AddAgeRange(a) => age_op(a, Operation::AddAgeRange),
        Command::RemoveAgeRange(a) => age_op(a, Operation::RemoveAgeRange),
        Command::AddMunicipalityCode(a) => {
            let code = municipality_from_text(&a.code);
            value_op(&a.target, code, Operation::AddMunicipalityCode)
        }
        Command::RemoveMunicipalityCode(a) => {
            let code = municipality_from_text(&a.code);
            value_op(&a.target, code, Operation::RemoveMunicipalityCode)
        }
        Command::AddChangeCode(a) => value_op(
            &a.target,
            parse_event_code(&a.code),
            Operation::AddChangeCode,
        ),
        Command::RemoveChangeCode(a) => value_op(
            &a.target,
            parse_event_code(&a.code),
            Operation::RemoveChangeCode,
        ),
        Command::RemoveAll(a) => value_op(
            &a.target,
            FilterGroup::parse(&a.group),
            Operation::RemoveAll,
        ),
        Command::SetNoFilter(a) => value_op(&a.target, on_off(&a.value), Operation::SetNoFilter),
        Command::GetAllFilters(a) => get_all_filters(&a),
        Command::BulkAddPnr(a) => {
            bulk(&a.target, &a.file, BulkMode::Add, a.skip_invalid, a.replica)
        }
        Command::BulkRemovePnr(a) => bulk(
            &a.target,
            &a.file,
            BulkMode::Remove,
            a.skip_invalid,
            a.replica,
        ),
        Command::SyncPnr(a) => bulk(&a.target, &a.file, BulkMode::Sync, false, a.replica),
    }
}

/// A library error in the project's error language.
fn failure(e: SubscriptionError) -> Failure {
    Failure::of(&e)
}

/// Checks the subscriber id, then ties a value's refusal to it.
fn checked<T>(
    target: &Target,
    value: Result<T, InvalidValue>,
) -> Result<(SubscriberId, T), Failure> {
    let id = SubscriberId::new(&target.subscriber).map_err(|e| Failure::of(&e))?;
    let value = value.map_err(|e| Failure::of(&e.for_subscriber(&id)))?;
    Ok((id, value))
}

fn on_off(text: &str) -> Result<bool, InvalidValue> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(InvalidValue {
            subscriber: None,
            field: cprsift_subscriptions::Field::NoFilter,
            value: text.to_owned(),
            reason: "no-filter is `on` or `off`".into(),
        }),
    }
}

/// Opens a store for an update; a TOML file is refused (nothing is ever written back to it).
fn writable_store(path: &Path) -> Result<Store, Failure> {
    if path.is_file() {
        return Err(Failure::new(
            Category::NotAStore,
            format!(
                "{}: a TOML file is read only; import it into a store \
             (`cprsift subscriptions import FILE --subscriptions STORE`) to change subscriptions",
                path.display()
            ),
        ));
    }
    Store::open(path).map_err(failure)
}

/// Load, change, commit (only when something changed), all under the store's writer lock.
fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut Registry) -> Result<(T, bool), Failure>,
) -> Result<T, Failure> {
    let store = writable_store(path)?;
    let lock = store.lock().map_err(failure)?;
    let mut registry = lock.load().map_err(failure)?;
    let (result, changed) = change(&mut registry)?;
    if changed {
        lock.commit(&registry).map_err(failure)?;
    }
    Ok(result)
}

/// The replica as the library's PNR directory.
struct ReplicaPnrs(Replica);

impl PnrDirectory for ReplicaPnrs {
    fn contains(&self, pnr: Pnr) -> bool {
        self.0.contains(pnr)
    }
}

fn open_replica(dir: Option<PathBuf>) -> Result<Option<ReplicaPnrs>, Failure> {
    dir.map(|d| {
        Replica::open(&d)
            .map(ReplicaPnrs)
            .map_err(|e| Failure::of(&e))
    })
    .transpose()
}

fn answer(outcome: cprsift_subscriptions::Outcome) -> CommandResult {
    crate::out!("{outcome}")?;
    Ok(ExitCode::SUCCESS)
}

fn subscriber_op(
    target: &Target,
    op: fn(&mut Registry, &SubscriberId) -> cprsift_subscriptions::Outcome,
) -> CommandResult {
    let (id, ()) = checked(target, Ok(()))?;
    let outcome = update(&target.subscriptions, |reg| {
        let o = op(reg, &id);
        Ok((o, o.changed()))
    })?;
    answer(outcome)
}

fn value_op<T>(
    target: &Target,
    value: Result<T, InvalidValue>,
    op: fn(T) -> Operation,
) -> CommandResult {
    let (id, value) = checked(target, value)?;
    apply(target, &id, op(value), None)
}

fn apply(
    target: &Target,
    id: &SubscriberId,
    op: Operation,
    replica: Option<&dyn PnrDirectory>,
) -> CommandResult {
    let outcome = update(&target.subscriptions, |reg| {
        let o = reg.apply(id, op, replica);
        Ok((o, o.changed()))
    })?;
    answer(outcome)
}

fn pnr_op(args: PnrArgs, op: fn(Pnr) -> Operation) -> CommandResult {
    let (id, pnr) = checked(&args.target, parse_pnr(&args.pnr))?;
    let replica = open_replica(args.replica)?;
    let directory = replica.as_ref().map(|r| r as &dyn PnrDirectory);
    apply(&args.target, &id, op(pnr), directory)
}

fn age_op(args: AgeArgs, op: fn(AgeRange) -> Operation) -> CommandResult {
    value_op(&args.target, AgeRange::parse(&args.start, &args.end), op)
}

fn bulk(
    target: &Target,
    file: &Path,
    mode: BulkMode,
    skip_invalid: bool,
    replica: Option<PathBuf>,
) -> CommandResult {
    let (id, ()) = checked(target, Ok(()))?;
    let list = PnrList::read(file).map_err(failure)?;
    let replica = open_replica(replica)?;
    let directory = replica.as_ref().map(|r| r as &dyn PnrDirectory);
    let report = update(&target.subscriptions, |reg| {
        let report = reg
            .bulk(&id, mode, &list, skip_invalid, directory)
            .map_err(failure)?;
        let changed = report.changed();
        Ok((report, changed))
    })?;
    print_json(&bulk_json(&report))
}

fn bulk_json(report: &BulkReport) -> serde_json::Value {
    let rejected: Vec<serde_json::Value> = report
        .rejected
        .iter()
        .map(|r| json!({"line": r.line, "value": r.problem.value, "reason": r.problem.reason}))
        .collect();
    json!({
        "added": report.added,
        "removed": report.removed,
        "already_existed": report.already_existed,
        "non_existing": report.non_existing,
        "non_existing_pnr": report.non_existing_pnr,
        "rejected": rejected,
    })
}

fn print_json(value: &serde_json::Value) -> CommandResult {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(Category::Io, format!("json: {e}")))?;
    crate::out!("{text}")?;
    Ok(ExitCode::SUCCESS)
}

fn import(file: &Path, store_dir: &Path, allow_empty: bool) -> CommandResult {
    let registry = toml_form::read_file(file).map_err(failure)?;
    // A folder that is not (yet) a store has nothing to lose; Store::create judges it.
    if let (true, false, Ok(store)) = (registry.is_empty(), allow_empty, Store::open(store_dir)) {
        let held = store.load().map_err(failure)?.len();
        if held > 0 {
            return Err(Failure::new(
                Category::EmptyImport,
                format!(
                    "{}: the file has no subscribers and would empty the store at {}, which \
                     holds {held}; nothing was changed (--allow-empty does it on purpose)",
                    file.display(),
                    store_dir.display()
                ),
            ));
        }
    }
    let store = Store::create(store_dir, &registry).map_err(failure)?;
    let generation = store.generation().map_err(failure)?;
    crate::out!(
        "imported {} subscriber(s) into {} (generation {generation})",
        registry.len(),
        store_dir.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn export(path: &Path, output: Option<&Path>) -> CommandResult {
    let (registry, _) = load(path).map_err(failure)?;
    match output {
        Some(out) => toml_form::export_to_file(&registry, out).map_err(failure)?,
        None => crate::failure::write_raw(toml_form::export(&registry).as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn list(path: &Path) -> CommandResult {
    let (registry, _) = load(path).map_err(failure)?;
    for (id, f) in registry.subscribers() {
        let line = json!({
            "subscriber": id.as_str(),
            "pnr": f.pnrs.len(),
            "municipality": f.municipalities.len(),
            "age": f.ages.len(),
            "change_code": f.change_codes.len(),
            "no_filter": f.no_filter,
        });
        crate::out!("{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn get_all_filters(args: &GetArgs) -> CommandResult {
    let id = SubscriberId::new(&args.subscriber).map_err(|e| Failure::of(&e))?;
    let (registry, _) = load(&args.subscriptions).map_err(failure)?;
    let filters = registry
        .get(&id)
        .ok_or_else(|| failure(SubscriptionError::UnknownSubscriber(id.to_string())))?;
    print_json(&filters_json(&id, filters, args.unmasked))
}

fn filters_json(id: &SubscriberId, f: &Filters, unmasked: bool) -> serde_json::Value {
    let pnrs: Vec<String> = f
        .pnr_list()
        .map(|p| {
            if unmasked {
                String::from_utf8_lossy(&p.digits()).into_owned()
            } else {
                p.masked().to_string()
            }
        })
        .collect();
    json!({
        "subscriber": id.as_str(),
        "pnr_count": f.pnrs.len(),
        "pnr": pnrs,
        "municipality": f.municipalities.iter().map(|&m| municipality_text(m)).collect::<Vec<_>>(),
        "age": f.ages.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
        "change_code": f.change_codes.iter().map(EventCode::as_str).collect::<Vec<_>>(),
        "no_filter": f.no_filter,
    })
}
