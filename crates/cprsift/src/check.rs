//! `cprsift check FILE`: validate an extract and say what it holds.

use std::path::PathBuf;
use std::process::ExitCode;

use cprsift_format::{CheckReport, CheckedExtract, ContentId, ExtractOptions};
use cprsift_io::MappedFile;

use crate::failure::{CommandResult, Failure};

/// How many errors the human-readable report lists before it only counts.
const SHOWN_ERRORS: usize = 10;

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

/// Runs `check`: exit 0 when valid, 1 when invalid, 2 when the file cannot be read.
pub fn run(args: Args) -> CommandResult {
    let map = MappedFile::open(&args.file).map_err(|e| Failure::usage(args.file.display(), e))?;
    let read = CheckedExtract::read(
        &map,
        ExtractOptions {
            strict_unknown: args.strict_unknown,
        },
    );
    let report = read.report();
    if args.json {
        let mut value = serde_json::to_value(report).map_err(|e| Failure::usage("json", e))?;
        value["file"] = args.file.display().to_string().into();
        value["content_id"] = read.content_id().to_string().into();
        value["valid"] = report.is_valid().into();
        println!("{value}");
    } else {
        print_human(&args.file, read.content_id(), report);
    }
    Ok(if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn print_human(path: &std::path::Path, id: ContentId, r: &CheckReport) {
    let f = &r.framing_report;
    println!("file:          {}", path.display());
    println!("bytes:         {}", r.bytes);
    println!("identity:      {id}");
    println!(
        "framing:       {:?}, terminator {}, {} trimmed records, {} padded records{}",
        r.framing,
        f.terminator(),
        f.trimmed_records,
        f.padded_records,
        if f.eof_marker { ", final 0x1A" } else { "" }
    );
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
    println!("OPGAVENR:      {}", or_none(&r.opgavenr));
    println!("PRODDTO:       {}", or_none(&r.proddto));
    println!("PRODDTOFORRIG: {}", or_none(&r.proddto_forrig));
    println!(
        "records:       {} in all; TAELLER {}, counted {}",
        r.records,
        r.taeller.map_or("unreadable".into(), |t| t.to_string()),
        r.counted
    );
    println!("by type:       {}", counts(&r.records_by_type));
    println!("persons:       {}", r.persons);
    println!("by status:     {}", counts(&r.status_counts));
    println!("municipalities: {} codes", r.municipality_counts.len());
    for w in r.warnings.iter().take(SHOWN_ERRORS) {
        println!("  {}", w.in_file(path));
    }
    if r.warning_count > 0 {
        println!("warnings:      {}", r.warning_count);
    }
    if r.is_valid() {
        println!("result:        valid");
    } else {
        println!("result:        INVALID, {} errors", r.error_count);
        for e in r.errors.iter().take(SHOWN_ERRORS) {
            println!("  {}", e.in_file(path));
        }
        if r.error_count > SHOWN_ERRORS as u64 {
            println!("  ... and {} more", r.error_count - SHOWN_ERRORS as u64);
        }
    }
}
