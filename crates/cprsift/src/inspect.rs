//! `cprsift inspect FILE`: records as JSON lines, for an operator who must look at a person.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cprsift_format::{Extract, ExtractOptions, Pnr, Record, RecordType};
use cprsift_io::MappedFile;
use serde_json::{Map, Value};

use cprsift_errors::Category;

use crate::failure::{stdout_failure, CommandResult, Failure};

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The extract file.
    file: PathBuf,
    /// Only this person's records (10 digits, or DDMMYY-SSSS).
    #[arg(long)]
    pnr: Option<String>,
    /// Only records of this type (e.g. 008).
    #[arg(long = "type")]
    record_type: Option<String>,
    /// Show personal numbers in full (they are masked as DDMMYY-xxxx by default).
    #[arg(long)]
    show_pnr: bool,
}

/// Runs `inspect`.
pub fn run(args: Args) -> CommandResult {
    let pnr = match &args.pnr {
        Some(text) => Some(Pnr::parse(text).ok_or_else(|| {
            Failure::new(
                Category::BadArgument,
                format!("--pnr {text:?}: a personal number is 10 digits or DDMMYY-SSSS"),
            )
        })?),
        None => None,
    };
    let record_type = match &args.record_type {
        Some(t) => Some(
            RecordType::from_bytes(t.as_bytes())
                .filter(|_| t.len() == 3)
                .ok_or_else(|| {
                    Failure::new(
                        Category::BadArgument,
                        format!("--type {t:?}: a record type is 3 digits, e.g. 008"),
                    )
                })?,
        ),
        None => None,
    };
    let map = MappedFile::open(&args.file).map_err(|e| Failure::io(&args.file, &e))?;
    let extract = Extract::open(&map, ExtractOptions::default())
        .map_err(|e| Failure::new(e.category, e.in_file(&args.file)))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut emit = |r: &Record<'_>| -> Result<(), Failure> {
        if pnr.is_some_and(|p| r.pnr() != Some(p))
            || record_type.is_some_and(|t| r.record_type() != Some(t))
        {
            return Ok(());
        }
        writeln!(out, "{}", to_json(r, args.show_pnr)).map_err(|e| stdout_failure(&e))
    };
    emit(&extract.start_record())?;
    for r in extract.receipts() {
        emit(&r.map_err(|e| invalid(&extract, &args.file, e))?)?;
    }
    for block in extract.blocks() {
        let block = block.map_err(|e| invalid(&extract, &args.file, e))?;
        if pnr.is_some_and(|p| block.pnr() != p) {
            continue;
        }
        for r in block.records() {
            emit(&r.map_err(|e| invalid(&extract, &args.file, e))?)?;
        }
    }
    for r in extract.tail() {
        emit(&r.map_err(|e| invalid(&extract, &args.file, e))?)?;
    }
    emit(&extract.end_record())?;
    for r in extract.trailer() {
        emit(&r.map_err(|e| invalid(&extract, &args.file, e))?)?;
    }
    match out.flush() {
        Err(e) => Err(stdout_failure(&e)),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn invalid(
    extract: &Extract<'_>,
    file: &std::path::Path,
    e: cprsift_format::ParseError,
) -> Failure {
    let e = extract.locate(e);
    Failure::new(e.category, e.in_file(file))
}

/// One record as a JSON object: position, type, layout variant and every field's text.
fn to_json(r: &Record<'_>, show_pnr: bool) -> Value {
    let mut obj = Map::new();
    obj.insert("offset".into(), r.offset().into());
    obj.insert(
        "record_type".into(),
        r.record_type().map(|t| t.to_string()).into(),
    );
    let mut fields = Map::new();
    match r.layout() {
        Some(layout) => {
            obj.insert("variant".into(), format!("{:?}", layout.variant).into());
            for field in layout.fields {
                let value = r.field(field);
                let text = match value.pnr() {
                    Some(p) if !show_pnr && field.name.contains("PNR") => p.masked().to_string(),
                    _ => value.text().into_owned(),
                };
                fields.insert(field.name.into(), text.into());
            }
        }
        None => {
            obj.insert("variant".into(), "undefined".into());
            let carried = match r.pnr() {
                Some(p) if !show_pnr => {
                    format!("{}{}", String::from_utf8_lossy(&r.bytes()[..3]), p.masked())
                }
                _ => String::from_utf8_lossy(r.bytes()).into_owned(),
            };
            fields.insert("carried".into(), carried.into());
        }
    }
    obj.insert("fields".into(), fields.into());
    obj.into()
}
