//! The sequence rules with identities (docs/rules.md §5.5): "already applied" means the same
//! content, a different file under an applied date is refused, the job number must continue
//! unless accepted, the history records each extract's identity; and the checked entry points
//! (`apply_checked` with a lenient set-aside, `init_checked`) take what the caller read.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use common::{exported, snapshot, write_series, Series};
use cprsift_errors::Categorized;
use cprsift_format::layout::fields::{r008, r999};
use cprsift_format::layout::R999;
use cprsift_format::write::{RecordBuilder, Terminator};
use cprsift_format::{CheckedExtract, ContentId, ExtractOptions, Header};
use cprsift_replica::{
    apply, apply_checked, init, init_checked, ApplyOptions, ApplyOutcome, ChangeExtract,
    Difference, InitOptions, Replica, ReplicaError, Sequence,
};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    series: Series,
    dir: PathBuf,
}

/// A replica of the base and the first `applied` days of a seeded series of 4 days.
fn fixture(applied: usize) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let series = write_series(&root, 57, 150, 4, 30);
    let dir = root.join("replica");
    init(&series.base, &dir, InitOptions::default()).unwrap();
    apply(&dir, &series.days[..applied], ApplyOptions::default()).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        series,
        dir,
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn write(root: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = root.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The file with its 000's OPGAVENR (positions 14-19) replaced.
fn with_opgavenr(bytes: &[u8], opgavenr: &[u8; 6]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[13..19].copy_from_slice(opgavenr);
    out
}

/// The file with its 000's PRODDTO and PRODDTOFORRIG (positions 20-35) replaced.
fn with_dates(bytes: &[u8], proddto: NaiveDate, forrig: NaiveDate) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[19..27].copy_from_slice(proddto.format("%Y%m%d").to_string().as_bytes());
    out[27..35].copy_from_slice(forrig.format("%Y%m%d").to_string().as_bytes());
    out
}

/// Another extract with the same dates, job number, size and persons: one letter of the first
/// 008's first name changed.
fn forged(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let line = out.windows(4).position(|w| w == b"\n008").unwrap() + 1;
    let at = line + r008::FORNVN.start;
    out[at] = if out[at] == b'Q' { b'R' } else { b'Q' };
    let (a, b) = (
        CheckedExtract::read(bytes, ExtractOptions::default()),
        CheckedExtract::read(&out, ExtractOptions::default()),
    );
    assert!(a.is_valid() && b.is_valid(), "the forgery must stay valid");
    assert_eq!(a.report().persons, b.report().persons);
    assert_eq!(a.report().proddto, b.report().proddto);
    assert_eq!(a.report().proddto_forrig, b.report().proddto_forrig);
    assert_eq!(a.report().opgavenr, b.report().opgavenr);
    assert_eq!(bytes.len(), out.len());
    assert_ne!(a.content_id(), b.content_id());
    out
}

/// The file's content identity, as the reader computes it.
fn id_of(bytes: &[u8]) -> ContentId {
    CheckedExtract::read(bytes, ExtractOptions::default()).content_id()
}

fn header_of(bytes: &[u8]) -> Header {
    let checked = CheckedExtract::read(bytes, ExtractOptions::default());
    Header::of(checked.extract().unwrap()).unwrap()
}

#[test]
fn a_different_file_for_an_applied_day_is_refused_and_the_real_one_stays_applied() {
    let f = fixture(2);
    let before = snapshot(&f.dir);
    for day in 0..2 {
        let fake = write(
            &f.root,
            &format!("fake{day}.txt"),
            &forged(&read(&f.series.days[day])),
        );
        let err = apply(&f.dir, &[fake], ApplyOptions::default()).unwrap_err();
        assert_eq!(err.category().name(), "different-extract", "{err}");
        assert_eq!(err.category().exit_code(), 1);
        assert!(
            matches!(
                &err,
                ReplicaError::DifferentExtract { reason, .. }
                    if matches!(**reason, Difference::OtherContent { in_call: false, .. })
            ),
            "{err:?}"
        );
        let m = err.to_string();
        assert!(
            m.contains(&format!("fake{day}.txt")) && m.contains("blake3:"),
            "{m}"
        );
        assert_eq!(snapshot(&f.dir), before);
        // The real file is still the one applied.
        let out = apply(
            &f.dir,
            std::slice::from_ref(&f.series.days[day]),
            ApplyOptions::default(),
        )
        .unwrap();
        assert!(matches!(out[..], [ApplyOutcome::AlreadyApplied { .. }]));
        assert_eq!(snapshot(&f.dir), before);
    }
    // The full extract too: applied as the base, refused when another content.
    let out = apply(
        &f.dir,
        std::slice::from_ref(&f.series.base),
        ApplyOptions::default(),
    )
    .unwrap();
    assert!(matches!(out[..], [ApplyOutcome::AlreadyApplied { .. }]));
    let fake = write(&f.root, "fakebase.txt", &forged(&read(&f.series.base)));
    let err = apply(&f.dir, &[fake], ApplyOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "different-extract", "{err}");
    // A date the replica never applied (before its full extract).
    let early = with_dates(
        &read(&f.series.days[0]),
        date(2022, 5, 10),
        date(2022, 5, 9),
    );
    let early = write(&f.root, "early.txt", &early);
    let err = apply(&f.dir, &[early], ApplyOptions::default()).unwrap_err();
    assert!(
        matches!(
            &err,
            ReplicaError::DifferentExtract { reason, .. }
                if matches!(**reason, Difference::NeverApplied { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("never applied"), "{err}");
    assert_eq!(snapshot(&f.dir), before);
}

#[test]
fn a_conflict_anywhere_in_a_call_refuses_the_whole_call() {
    let f = fixture(1);
    let before = snapshot(&f.dir);
    let day2 = f.series.days[1].clone();
    let fake1 = write(&f.root, "fake1.txt", &forged(&read(&f.series.days[0])));
    let fake2 = write(&f.root, "fake2.txt", &forged(&read(&day2)));
    let other = write(
        &f.root,
        "other3.txt",
        &with_opgavenr(&read(&f.series.days[2]), b"999999"),
    );
    let cases: [(&str, Vec<PathBuf>); 4] = [
        // A fake of an applied day beside a good next day.
        ("different-extract", vec![day2.clone(), fake1]),
        // Two files of one new day: the second differs from the first of the call.
        ("different-extract", vec![day2.clone(), fake2]),
        // The next day's job number changes after a good day.
        ("opgavenr-mismatch", vec![day2.clone(), other]),
        // A gap after a good day.
        ("sequence-gap", vec![f.series.days[3].clone(), day2.clone()]),
    ];
    for (category, files) in cases {
        let err = apply(&f.dir, &files, ApplyOptions::default()).unwrap_err();
        assert_eq!(err.category().name(), category, "{err}");
        assert_eq!(snapshot(&f.dir), before, "{category}: something changed");
    }
    let err = apply(
        &f.dir,
        &[day2.clone(), f.root.join("fake2.txt")],
        ApplyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        &err,
        ReplicaError::DifferentExtract { reason, .. }
            if matches!(**reason, Difference::OtherContent { in_call: true, .. })
    ));
    // The same file twice in one call: applied once, then already applied.
    let out = apply(&f.dir, &[day2.clone(), day2], ApplyOptions::default()).unwrap();
    assert!(matches!(
        out[..],
        [
            ApplyOutcome::Applied { .. },
            ApplyOutcome::AlreadyApplied { .. }
        ]
    ));
}

/// One row of the rule's table.
struct Case {
    /// What the case is.
    what: &'static str,
    /// The file's header.
    header: Header,
    /// The file's identity.
    id: ContentId,
    /// The job number accepted by the call.
    accept: Option<[u8; 6]>,
    /// What `Replica::sequence` says: "next", "already-applied" or the refusal's category.
    expected: &'static str,
}

/// The rule as a table of cases against a replica of the base and two days.
#[test]
fn the_rule_decides_by_date_content_and_job_number() {
    let f = fixture(2);
    let replica = Replica::open(&f.dir).unwrap();
    let day = |n: usize| read(&f.series.days[n]);
    let (d12, d13, d14, d15, d16) = (
        date(2022, 5, 12),
        date(2022, 5, 13),
        date(2022, 5, 14),
        date(2022, 5, 15),
        date(2022, 5, 16),
    );
    let job = *common::OPGAVENR;
    let h = |proddto, forrig: Option<NaiveDate>, opgavenr| Header {
        proddto,
        proddto_forrig: forrig,
        opgavenr,
    };
    let other = ContentId::from_bytes([7; 32]);
    let cases = [
        Case {
            what: "the full extract",
            header: header_of(&read(&f.series.base)),
            id: id_of(&read(&f.series.base)),
            accept: None,
            expected: "already-applied",
        },
        Case {
            what: "day 1, the same file",
            header: header_of(&day(0)),
            id: id_of(&day(0)),
            accept: None,
            expected: "already-applied",
        },
        Case {
            what: "day 2, the same file",
            header: header_of(&day(1)),
            id: id_of(&day(1)),
            accept: None,
            expected: "already-applied",
        },
        Case {
            what: "day 2, another content",
            header: h(d14, Some(d13), job),
            id: other,
            accept: None,
            expected: "different-extract",
        },
        Case {
            what: "the full extract's date, another content",
            header: h(d12, None, job),
            id: other,
            accept: None,
            expected: "different-extract",
        },
        Case {
            what: "a date never applied",
            header: h(date(2022, 5, 1), Some(date(2022, 4, 30)), job),
            id: other,
            accept: None,
            expected: "different-extract",
        },
        Case {
            what: "day 3 of another job",
            header: h(d15, Some(d14), *b"999999"),
            id: other,
            accept: None,
            expected: "opgavenr-mismatch",
        },
        Case {
            what: "day 3 of another job, accepted",
            header: h(d15, Some(d14), *b"999999"),
            id: other,
            accept: Some(*b"999999"),
            expected: "next",
        },
        Case {
            what: "day 3 of another job, another accepted",
            header: h(d15, Some(d14), *b"999999"),
            id: other,
            accept: Some(*b"111111"),
            expected: "opgavenr-mismatch",
        },
        Case {
            what: "day 4 without day 3",
            header: h(d16, Some(d15), job),
            id: other,
            accept: None,
            expected: "sequence-gap",
        },
        Case {
            what: "a gap of another job: the gap is said",
            header: h(d16, Some(d15), *b"999999"),
            id: other,
            accept: None,
            expected: "sequence-gap",
        },
        Case {
            what: "a newer file with zeros as PRODDTOFORRIG",
            header: h(d16, None, job),
            id: other,
            accept: None,
            expected: "sequence-gap",
        },
    ];
    for Case {
        what,
        header,
        id,
        accept,
        expected,
    } in cases
    {
        let got = match replica.sequence(&header, id, accept, Path::new("x.txt")) {
            Ok(Sequence::Next) => "next".to_string(),
            Ok(Sequence::AlreadyApplied) => "already-applied".to_string(),
            Err(e) => e.category().name().to_string(),
        };
        assert_eq!(got, expected, "{what}");
    }
}

#[test]
fn another_job_number_is_refused_unless_accepted() {
    let f = fixture(1);
    let before = snapshot(&f.dir);
    let day2 = write(
        &f.root,
        "job2.txt",
        &with_opgavenr(&read(&f.series.days[1]), b"999999"),
    );
    let day3 = write(
        &f.root,
        "job3.txt",
        &with_opgavenr(&read(&f.series.days[2]), b"999999"),
    );
    let err = apply(&f.dir, std::slice::from_ref(&day2), ApplyOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "opgavenr-mismatch", "{err}");
    assert!(matches!(
        err,
        ReplicaError::OpgavenrMismatch {
            replica: r,
            file: f,
            ..
        } if &r == common::OPGAVENR && &f == b"999999"
    ));
    let m = err.to_string();
    assert!(
        m.contains("job2.txt")
            && m.contains("999999")
            && m.contains("123456")
            && m.contains("--accept-opgavenr 999999"),
        "{m}"
    );
    assert_eq!(snapshot(&f.dir), before);
    // Another number accepted does not help.
    let wrong = ApplyOptions {
        accept_opgavenr: Some(*b"111111"),
        ..ApplyOptions::default()
    };
    assert!(apply(&f.dir, std::slice::from_ref(&day2), wrong).is_err());
    assert_eq!(snapshot(&f.dir), before);
    // Accepted: the call applies both days of the new job; the replica then expects it.
    let accept = ApplyOptions {
        accept_opgavenr: Some(*b"999999"),
        ..ApplyOptions::default()
    };
    let out = apply(&f.dir, &[day3, day2], accept).unwrap();
    assert!(out
        .iter()
        .all(|o| matches!(o, ApplyOutcome::Applied { .. })));
    assert_eq!(&Replica::open(&f.dir).unwrap().opgavenr(), b"999999");
    // The old job's next day is now the one refused.
    let err = apply(
        &f.dir,
        std::slice::from_ref(&f.series.days[3]),
        ApplyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.category().name(), "opgavenr-mismatch", "{err}");
}

#[test]
fn the_first_change_after_init_may_carry_a_new_job_number() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 57, 150, 2, 30);
    // As cprgen makes them: the full extract of job 900180, the days of job 900170.
    let base = write(
        tmp.path(),
        "full.txt",
        &with_opgavenr(&read(&series.base), b"900180"),
    );
    let days: Vec<PathBuf> = series
        .days
        .iter()
        .enumerate()
        .map(|(n, d)| {
            write(
                tmp.path(),
                &format!("d{n}.txt"),
                &with_opgavenr(&read(d), b"900170"),
            )
        })
        .collect();
    let dir = tmp.path().join("replica");
    init(&base, &dir, InitOptions::default()).unwrap();
    let out = apply(&dir, &days, ApplyOptions::default()).unwrap();
    assert!(out
        .iter()
        .all(|o| matches!(o, ApplyOutcome::Applied { .. })));
    assert_eq!(&Replica::open(&dir).unwrap().opgavenr(), b"900170");
}

#[test]
fn history_records_identity_job_number_and_set_aside() {
    let f = fixture(2);
    let status = cprsift_replica::status(&f.dir).unwrap();
    assert_eq!(status.history.len(), 3);
    let files = [&f.series.base, &f.series.days[0], &f.series.days[1]];
    for (entry, file) in status.history.iter().zip(files) {
        assert_eq!(entry.content_id, Some(id_of(&read(file))));
        assert_eq!(entry.opgavenr.as_deref(), Some("123456"));
        assert_eq!(entry.set_aside, None);
        assert_eq!(
            entry.file,
            file.file_name().unwrap().to_string_lossy().as_ref()
        );
    }
    // The JSON form: the identity as `blake3:<hex>`.
    let json = serde_json::to_value(&status).unwrap();
    let text = json["history"][1]["content_id"].as_str().unwrap();
    assert_eq!(text, id_of(&read(&f.series.days[0])).to_string());
    assert!(text.starts_with("blake3:") && text.len() == 7 + 64);
}

/// A manifest written before identities: its entries have none. It still loads, and its
/// entries match by date alone (all there is to compare).
#[test]
fn a_manifest_of_an_older_version_loads_and_matches_by_date() {
    let f = fixture(1);
    let gen = std::fs::read_dir(&f.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let manifest = gen.join("manifest.json");
    let mut json: serde_json::Value = serde_json::from_slice(&read(&manifest)).unwrap();
    for entry in json["history"].as_array_mut().unwrap() {
        let entry = entry.as_object_mut().unwrap();
        for field in ["content_id", "opgavenr", "set_aside"] {
            entry.remove(field);
        }
    }
    std::fs::write(&manifest, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let status = cprsift_replica::status(&f.dir).unwrap();
    assert!(status
        .history
        .iter()
        .all(|a| a.content_id.is_none() && a.opgavenr.is_none()));
    // Another content under the old entry's date cannot be told apart: already applied.
    let fake = write(&f.root, "fake.txt", &forged(&read(&f.series.days[0])));
    let out = apply(&f.dir, &[fake], ApplyOptions::default()).unwrap();
    assert!(matches!(out[..], [ApplyOutcome::AlreadyApplied { .. }]));
    // The job number rule still holds (the manifest's OPGAVENR is the last applied).
    let other = write(
        &f.root,
        "other.txt",
        &with_opgavenr(&read(&f.series.days[1]), b"999999"),
    );
    let err = apply(&f.dir, &[other], ApplyOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "opgavenr-mismatch", "{err}");
    // New entries carry their identity.
    apply(&f.dir, &f.series.days[1..2], ApplyOptions::default()).unwrap();
    let status = cprsift_replica::status(&f.dir).unwrap();
    assert_eq!(
        status.history.last().unwrap().content_id,
        Some(id_of(&read(&f.series.days[1])))
    );
    let fake = write(&f.root, "fake2.txt", &forged(&read(&f.series.days[1])));
    let err = apply(&f.dir, &[fake], ApplyOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "different-extract", "{err}");
}

/// Removes `range` from an extract and rewrites its 999 TAELLER to the records left (the
/// test files have no 910).
fn without(bytes: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    for r in ranges {
        out.extend_from_slice(&bytes[at..r.start]);
        at = r.end;
    }
    out.extend_from_slice(&bytes[at..]);
    retaller(out)
}

/// The extract with its 999 rewritten to count its records.
fn retaller(mut out: Vec<u8>) -> Vec<u8> {
    let last = out[..out.len() - 1]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap()
        + 1;
    out.truncate(last);
    let records = out.iter().filter(|&&c| c == b'\n').count() - 1;
    let mut end = RecordBuilder::new(&R999);
    end.text(&r999::SORTFELT_10, b"9999999999")
        .number(&r999::TAELLER, records as u64);
    end.write(&mut out, Terminator::Lf);
    out
}

/// Day 2 with the KOMKOD of its first 002 broken: one block has an error of its own.
fn broken_day(f: &Fixture) -> (Vec<u8>, usize) {
    let mut bytes = read(&f.series.days[1]);
    let at = bytes.windows(4).position(|w| w == b"\n002").unwrap() + 1;
    bytes[at + 13..at + 17].copy_from_slice(b"1x1 ");
    let checked = CheckedExtract::read(&bytes, ExtractOptions::default());
    let faulty: Vec<usize> = (0..checked.len())
        .filter(|&i| checked.blocks()[i].is_faulty())
        .collect();
    assert_eq!(faulty.len(), 1);
    (bytes, faulty[0])
}

#[test]
fn a_lenient_apply_equals_the_file_without_the_blocks_set_aside() {
    let f = fixture(1);
    let (bytes, bad) = broken_day(&f);
    let checked = CheckedExtract::read(&bytes, ExtractOptions::default());
    assert!(!checked.is_valid());
    let path = write(&f.root, "lenient.txt", &bytes);
    let out = apply_checked(
        &f.dir,
        &[ChangeExtract {
            path: &path,
            checked: &checked,
            set_aside: Some(&[bad]),
        }],
        ApplyOptions::default(),
    )
    .unwrap();
    let persons = checked.len() as u64 - 1;
    assert!(
        matches!(out[..], [ApplyOutcome::Applied { set_aside: Some(1), persons: p, .. }] if p == persons),
        "{out:?}"
    );
    // The same day without that block, applied strictly to a second replica.
    let other = f.root.join("other");
    init(&f.series.base, &other, InitOptions::default()).unwrap();
    apply(&other, &f.series.days[..1], ApplyOptions::default()).unwrap();
    let cut = without(&bytes, &[checked.block_range(bad).unwrap()]);
    let cut = write(&f.root, "cut.txt", &cut);
    apply(&other, &[cut], ApplyOptions::default()).unwrap();
    assert!(exported(&f.dir) == exported(&other));
    let stored = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        snapshot(dir)
            .into_iter()
            .filter(|(p, _)| !p.ends_with("manifest.json"))
            .collect()
    };
    assert!(stored(&f.dir) == stored(&other), "segments or index differ");
    let status = cprsift_replica::status(&f.dir).unwrap();
    assert_eq!(status.history.last().unwrap().set_aside, Some(1));
    // A rerun of the same lenient night finds it applied.
    let again = apply_checked(
        &f.dir,
        &[ChangeExtract {
            path: &path,
            checked: &checked,
            set_aside: Some(&[bad]),
        }],
        ApplyOptions::default(),
    )
    .unwrap();
    assert!(matches!(again[..], [ApplyOutcome::AlreadyApplied { .. }]));
}

#[test]
fn a_lenient_apply_still_refuses_unsound_blocks_and_unreadable_frames() {
    let f = fixture(1);
    let before = snapshot(&f.dir);
    let (bytes, bad) = broken_day(&f);
    let lenient = |bytes: &[u8], aside: &[usize]| {
        let checked = CheckedExtract::read(bytes, ExtractOptions::default());
        apply_checked(
            &f.dir,
            &[ChangeExtract {
                path: Path::new("night.txt"),
                checked: &checked,
                set_aside: Some(aside),
            }],
            ApplyOptions::default(),
        )
    };
    // The faulty block not set aside; strict mode for the same value.
    let err = lenient(&bytes, &[]).unwrap_err();
    assert_eq!(err.category().name(), "bad-numeric", "{err}");
    assert!(err.to_string().contains("KOMKOD"), "{err}");
    let checked = CheckedExtract::read(&bytes, ExtractOptions::default());
    let strict = ChangeExtract {
        path: Path::new("night.txt"),
        checked: &checked,
        set_aside: None,
    };
    let err = apply_checked(&f.dir, &[strict], ApplyOptions::default()).unwrap_err();
    assert_eq!(err.category().name(), "bad-numeric", "{err}");
    // A person with two blocks: both must be set aside, or the index would hold it twice.
    let good = read(&f.series.days[1]);
    let checked = CheckedExtract::read(&good, ExtractOptions::default());
    let copy = checked.block_range(3).unwrap();
    let first = good.iter().position(|&c| c == b'\n').unwrap() + 1;
    let mut doubled = good[..first].to_vec();
    doubled.extend_from_slice(&good[copy]);
    doubled.extend_from_slice(&good[first..]);
    let doubled = retaller(doubled);
    let checked = CheckedExtract::read(&doubled, ExtractOptions::default());
    let twins: Vec<usize> = (0..checked.len())
        .filter(|&i| checked.blocks()[i].is_duplicate())
        .collect();
    assert_eq!(twins.len(), 2);
    for aside in [&twins[..1], &twins[1..]] {
        let err = lenient(&doubled, aside).unwrap_err();
        assert_eq!(err.category().name(), "duplicate-person", "{err}");
    }
    // No readable frame: nothing to apply, whatever is set aside.
    let err = lenient(b"hello\n", &[0]).unwrap_err();
    assert_eq!(err.category().exit_code(), 1, "{err}");
    assert!(err.to_string().contains("night.txt"), "{err}");
    assert_eq!(snapshot(&f.dir), before);
    // The broken block set aside (an index past the last block is ignored): applied.
    let out = lenient(&bytes, &[bad, usize::MAX]).unwrap();
    assert!(matches!(
        out[..],
        [ApplyOutcome::Applied {
            set_aside: Some(1),
            ..
        }]
    ));
    // Both twins set aside: applied (to a second replica at day 1).
    let other = f.root.join("other");
    init(&f.series.base, &other, InitOptions::default()).unwrap();
    apply(&other, &f.series.days[..1], ApplyOptions::default()).unwrap();
    let checked = CheckedExtract::read(&doubled, ExtractOptions::default());
    let change = ChangeExtract {
        path: Path::new("twins.txt"),
        checked: &checked,
        set_aside: Some(&twins),
    };
    let out = apply_checked(&other, &[change], ApplyOptions::default()).unwrap();
    assert!(matches!(
        out[..],
        [ApplyOutcome::Applied {
            set_aside: Some(2),
            ..
        }]
    ));
}

#[test]
fn the_checked_entry_points_take_what_the_caller_read() {
    let f = fixture(0);
    // init_checked from a value read on a one-thread pool equals init.
    let bytes = read(&f.series.base);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let other = f.root.join("other");
    pool.install(|| {
        let checked = CheckedExtract::read(&bytes, ExtractOptions::default());
        let report = init_checked(&checked, &f.series.base, &other).unwrap();
        assert_eq!(report.content_id, checked.content_id());
    });
    assert!(snapshot(&f.dir) == snapshot(&other));
    // An invalid extract: refused before the folder is made.
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 3] = b'7';
    let checked = CheckedExtract::read(&bad, ExtractOptions::default());
    let target = f.root.join("never");
    let err = init_checked(&checked, Path::new("bad.txt"), &target).unwrap_err();
    assert_eq!(err.category().name(), "counter-mismatch", "{err}");
    assert!(!target.exists());
    // apply_checked of several values read by the caller, given out of order; the files need
    // not exist any more: nothing is opened.
    let days: Vec<Vec<u8>> = f.series.days.iter().map(|d| read(d)).collect();
    let checked: Vec<CheckedExtract<'_>> = days
        .iter()
        .map(|b| CheckedExtract::read(b, ExtractOptions::default()))
        .collect();
    let names: Vec<PathBuf> = (0..days.len())
        .map(|n| f.root.join(format!("gone{n}.txt")))
        .collect();
    let extracts: Vec<ChangeExtract<'_, '_>> = names
        .iter()
        .zip(&checked)
        .rev()
        .map(|(path, checked)| ChangeExtract {
            path,
            checked,
            set_aside: None,
        })
        .collect();
    let out = apply_checked(&f.dir, &extracts, ApplyOptions::default()).unwrap();
    assert_eq!(out.len(), 4);
    assert!(out
        .iter()
        .all(|o| matches!(o, ApplyOutcome::Applied { .. })));
    assert!(exported(&f.dir) == common::reference_after(&f.series, 4).export());
    let status = cprsift_replica::status(&f.dir).unwrap();
    assert_eq!(status.last_extract.as_deref(), Some("gone3.txt"));
}
