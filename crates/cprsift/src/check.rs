//! `cprsift check FILE`: validate an extract and say what it holds.

use std::path::PathBuf;
use std::process::ExitCode;

use cprsift_format::{CheckReport, CheckedExtract, ContentId, ExtractOptions};
use cprsift_io::MappedFile;

use cprsift_errors::Category;

use crate::failure::{CommandResult, Failure, SHOWN_ERRORS};

/// Arguments of `check`.
#[derive(clap::Args)]
pub struct Args {
    /// The extract file.
    file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Treat record types the specification does not define as errors everywhere.
    #[arg(long)]
    strict_unknown: bool,
}

/// Runs `check`: the report on standard output; exit 0 when valid, else the first error on
/// standard error with its category's exit code (1 for an invalid extract, 2 when the file
/// cannot be read).
pub fn run(args: Args) -> CommandResult {
    let map = MappedFile::open(&args.file).map_err(|e| Failure::io(&args.file, &e))?;
    let read = CheckedExtract::read(
        &map,
        ExtractOptions {
            strict_unknown: args.strict_unknown,
        },
    );
    let report = read.report();
    if args.json {
        let mut value = serde_json::to_value(report)
            .map_err(|e| Failure::new(Category::Io, format!("json: {e}")))?;
        value["file"] = args.file.display().to_string().into();
        value["content_id"] = read.content_id().to_string().into();
        value["valid"] = report.is_valid().into();
        crate::out!("{value}")?;
    } else {
        print_human(&args.file, read.content_id(), report)?;
    }
    match report.errors.first() {
        None => Ok(ExitCode::SUCCESS),
        Some(first) => {
            let more = match report.error_count {
                1 => String::new(),
                n => format!(" (and {} more errors)", n - 1),
            };
            Err(Failure::new(
                first.category,
                format!("{}{more}", first.in_file(&args.file)),
            ))
        }
    }
}

fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn print_human(path: &std::path::Path, id: ContentId, r: &CheckReport) -> Result<(), Failure> {
    let f = &r.framing_report;
    crate::out!("file:          {}", path.display())?;
    crate::out!("bytes:         {}", r.bytes)?;
    crate::out!("identity:      {id}")?;
    crate::out!(
        "framing:       {:?}, terminator {}, {} trimmed records, {} padded records{}",
        r.framing,
        f.terminator(),
        f.trimmed_records,
        f.padded_records,
        if f.eof_marker { ", final 0x1A" } else { "" }
    )?;
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
    crate::out!("OPGAVENR:      {}", or_none(&r.opgavenr))?;
    crate::out!("PRODDTO:       {}", or_none(&r.proddto))?;
    crate::out!("PRODDTOFORRIG: {}", or_none(&r.proddto_forrig))?;
    crate::out!(
        "records:       {} in all; TAELLER {}, counted {}",
        r.records,
        r.taeller.map_or("unreadable".into(), |t| t.to_string()),
        r.counted
    )?;
    crate::out!("by type:       {}", counts(&r.records_by_type))?;
    crate::out!("persons:       {}", r.persons)?;
    crate::out!("by status:     {}", counts(&r.status_counts))?;
    crate::out!("municipalities: {} codes", r.municipality_counts.len())?;
    for w in r.warnings.iter().take(SHOWN_ERRORS) {
        crate::out!("  [{}] {}", w.category, w.in_file(path))?;
    }
    if r.warning_count > 0 {
        crate::out!("warnings:      {}", r.warning_count)?;
    }
    if r.is_valid() {
        crate::out!("result:        valid")?;
    } else {
        crate::out!("result:        INVALID, {} errors", r.error_count)?;
        for e in r.errors.iter().take(SHOWN_ERRORS) {
            crate::out!("  [{}] {}", e.category, e.in_file(path))?;
        }
        if r.error_count > SHOWN_ERRORS as u64 {
            crate::out!("  ... and {} more", r.error_count - SHOWN_ERRORS as u64)?;
        }
    }
    Ok(())
}
