//! `export`: the replica as one extract (docs/rules.md §5), written atomically.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use cprsift_format::layout::fields::{r000, r999};
use cprsift_format::layout::{R000, R999};
use cprsift_format::taeller_of;
use cprsift_format::write::{RecordBuilder, Terminator};
use cprsift_io::{AtomicFile, Folder};
use serde::Serialize;

use crate::error::ReplicaError;
use crate::Replica;

/// What `export` wrote.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// The file written.
    pub path: PathBuf,
    /// Persons written.
    pub persons: u64,
    /// Records besides 000 and 999 (999 TAELLER holds their last eight digits when there are
    /// more than 99,999,999: `cprsift_format::taeller_of`).
    pub records: u64,
    /// The file's size.
    pub bytes: u64,
    /// The replica's PRODDTO (YYYY-MM-DD), the file's PRODDTO.
    pub proddto: String,
}

/// Writes the replica in `dir` to `out` as one extract: 000 with the replica's OPGAVENR and
/// PRODDTO and zeros as PRODDTOFORRIG, every person's block in ascending PNR order, their 003
/// records in the same order, 999 with TAELLER (`taeller_of`, the project's one rule). Written
/// as an [`AtomicFile`] (a temporary file beside `out`, mode 0600, synced, renamed into place,
/// the folder synced): `out` is either absent, the old file, or whole. An `out` that is a link
/// or a folder is refused (`unsafe-path`); the folders above it are the operator's choice.
pub fn export(dir: &Path, out: &Path) -> Result<ExportReport, ReplicaError> {
    let replica = Replica::open(dir)?;
    let (folder, name) = target_of(out)?;
    let mut file = AtomicFile::create(&folder, &name).map_err(ReplicaError::io(out))?;
    let report = write_to(&replica, &mut file)?;
    file.commit().map_err(ReplicaError::io(out))?;
    Ok(ExportReport {
        path: out.to_path_buf(),
        ..report
    })
}

/// The folder (opened as the operator named it) and the file name of an export's target.
fn target_of(out: &Path) -> Result<(Folder, String), ReplicaError> {
    let name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        ReplicaError::io(out)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the output needs a file name",
        ))
    })?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder = Folder::open_following(parent).map_err(ReplicaError::io(parent))?;
    Ok((folder, name.to_string()))
}

/// Writes the extract into the temporary file (flushed; [`AtomicFile::commit`] syncs it).
fn write_to(replica: &Replica, file: &mut AtomicFile) -> Result<ExportReport, ReplicaError> {
    let path = file.temp_path();
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let io = ReplicaError::io(&path);
    let mut bytes = 0u64;
    let mut put = |w: &mut BufWriter<&mut AtomicFile>, b: &[u8]| {
        bytes += b.len() as u64;
        w.write_all(b)
    };
    let mut start = RecordBuilder::new(&R000);
    start
        .text(&r000::SORTFELT_10, b"0000000000")
        .text(&r000::OPGAVENR, &replica.opgavenr())
        .date(&r000::PRODDTO, replica.proddto())
        .number(&r000::PRODDTOFORRIG, 0);
    let mut line = Vec::new();
    start.write(&mut line, Terminator::Lf);
    let mut records = 0u64;
    let result = (|| {
        put(&mut w, &line)?;
        for i in 0..replica.len() {
            let block = replica.person_at(i).block;
            records += memchr::memchr_iter(b'\n', block).count() as u64;
            put(&mut w, block)?;
        }
        for i in 0..replica.len() {
            let clear = replica.person_at(i).clear_address;
            records += memchr::memchr_iter(b'\n', clear).count() as u64;
            put(&mut w, clear)?;
        }
        Ok(())
    })();
    result.map_err(io)?;
    let mut end = RecordBuilder::new(&R999);
    end.text(&r999::SORTFELT_10, b"9999999999")
        .number(&r999::TAELLER, taeller_of(records));
    line.clear();
    end.write(&mut line, Terminator::Lf);
    put(&mut w, &line).map_err(ReplicaError::io(&path))?;
    w.into_inner()
        .map_err(|e| ReplicaError::io(&path)(e.into_error()))?;
    Ok(ExportReport {
        path,
        persons: replica.len() as u64,
        records,
        bytes,
        proddto: replica.proddto().to_string(),
    })
}
