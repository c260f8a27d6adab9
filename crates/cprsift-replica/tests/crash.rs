//! Fault injection: an apply stopped after every one of its durable steps, as a crash would,
//! leaves a replica that opens as exactly the old or the new generation; a rerun completes it
//! and leaves no stray file. And a full disk: a clear error, the replica intact.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{exported, reference_after, snapshot, write_series, Series};
use cprsift_io::failpoint::{self, Failpoint, Step, STEPS};
use cprsift_replica::{apply, init, ApplyOptions, ApplyOutcome, InitOptions, ReplicaError};

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The files a replica must consist of after a completed apply: CURRENT, LOCK, one generation
/// and exactly the segments its manifest lists.
fn assert_clean(dir: &Path) {
    let status = cprsift_replica::status(dir).unwrap();
    assert_eq!(status.generations, 1);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = status.segments.iter().map(|s| s.file.clone()).collect();
    expected.extend([
        "CURRENT".into(),
        "LOCK".into(),
        format!("gen-{:012}", status.generation),
    ]);
    expected.sort();
    assert_eq!(names, expected);
}

/// Crashes the apply of `day` (the `n`-th) at each named step, each time it is reached, in
/// turn. Returns the number of crashes exercised and the segments the completed apply
/// compacted.
fn crash_at_every_step(series: &Series, replica: &Path, n: usize, scratch: &Path) -> (u32, usize) {
    let old = reference_after(series, n - 1).export();
    let new = reference_after(series, n).export();
    let day = [series.days[n - 1].clone()];
    let (mut crashes, mut compacted) = (0, 0);
    for (step, name, _) in STEPS {
        for nth in 1.. {
            let dir = scratch.join(format!("crash-{n}-{name}-{nth}"));
            copy_dir(replica, &dir);
            let result = {
                let _armed = failpoint::arm(Failpoint { step, nth });
                apply(&dir, &day, ApplyOptions::default())
            };
            match result {
                Err(ReplicaError::InjectedCrash(_)) => {}
                Ok(outcomes) => {
                    // The step is not reached this often: the apply completed.
                    compacted = match outcomes[..] {
                        [ApplyOutcome::Applied {
                            compacted_segments, ..
                        }] => compacted_segments,
                        _ => panic!("not applied"),
                    };
                    assert_eq!(exported(&dir), new);
                    assert_clean(&dir);
                    std::fs::remove_dir_all(&dir).unwrap();
                    break;
                }
                Err(e) => panic!("{name}:{nth}: {e}"),
            }
            crashes += 1;
            let state = exported(&dir);
            assert!(
                state == old || state == new,
                "{name}:{nth}: neither the old nor the new state"
            );
            let rerun = apply(&dir, &day, ApplyOptions::default()).unwrap();
            match (&rerun[..], state == new) {
                ([ApplyOutcome::AlreadyApplied { .. }], true)
                | ([ApplyOutcome::Applied { .. }], false) => {}
                other => panic!("{name}:{nth}: rerun gave {:?}", other.0),
            }
            assert_eq!(
                exported(&dir),
                new,
                "{name}:{nth}: the rerun did not complete the apply"
            );
            assert_clean(&dir);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
    (crashes, compacted)
}

#[test]
fn a_crash_after_any_step_leaves_old_or_new_and_a_rerun_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 21, 200, 3, 40);
    let replica = tmp.path().join("replica");
    init(&series.base, &replica, InitOptions::default()).unwrap();
    apply(&replica, &series.days[..1], ApplyOptions::default()).unwrap();
    // Day 2: the second apply has old generations and a segment to remove.
    let (crashes, _) = crash_at_every_step(&series, &replica, 2, tmp.path());
    assert!(crashes >= 10, "only {crashes} crashes were exercised");
}

#[test]
fn a_crash_during_compaction_leaves_old_or_new() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 22, 60, 6, 50);
    let replica = tmp.path().join("replica");
    init(&series.base, &replica, InitOptions::default()).unwrap();
    apply(&replica, &series.days[..5], ApplyOptions::default()).unwrap();
    // Heavy churn on a small population: day 6 compacts mostly dead segments.
    let (crashes, compacted) = crash_at_every_step(&series, &replica, 6, tmp.path());
    assert!(compacted > 0, "day 6 compacted nothing");
    assert!(crashes >= 10, "only {crashes} crashes were exercised");
}

/// Generation folders present.
fn generations(dir: &Path) -> u64 {
    cprsift_replica::status(dir).unwrap().generations
}

#[test]
fn a_rerun_that_finds_the_day_applied_finishes_the_clean_up() {
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 23, 80, 1, 20);
    let dir = tmp.path().join("replica");
    init(&series.base, &dir, InitOptions::default()).unwrap();
    let result = {
        let _armed = failpoint::arm(Failpoint {
            step: Step::Switched,
            nth: 1,
        });
        apply(&dir, &series.days, ApplyOptions::default())
    };
    assert!(matches!(result, Err(ReplicaError::InjectedCrash(_))));
    assert_eq!(generations(&dir), 2, "the crash left the old generation");
    let rerun = apply(&dir, &series.days, ApplyOptions::default()).unwrap();
    assert!(matches!(rerun[..], [ApplyOutcome::AlreadyApplied { .. }]));
    assert_eq!(generations(&dir), 1, "the rerun removed the old generation");
    assert_clean(&dir);
    assert_eq!(exported(&dir), reference_after(&series, 1).export());
}

/// The built-binary form of a failpoint: `CPRSIFT_FAILPOINT` makes the process abort at the
/// step (no destructor runs); a rerun in a fresh process completes the apply.
#[test]
fn an_aborted_process_leaves_old_or_new_and_a_rerun_completes() {
    use std::os::unix::process::ExitStatusExt;
    if let (Some(dir), Some(day)) = (
        std::env::var_os("CRASH_CHILD_REPLICA"),
        std::env::var_os("CRASH_CHILD_DAY"),
    ) {
        // The child: runs until the failpoint aborts it.
        let _ = apply(Path::new(&dir), &[day.into()], ApplyOptions::default());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let series = write_series(tmp.path(), 24, 80, 1, 20);
    let replica = tmp.path().join("replica");
    init(&series.base, &replica, InitOptions::default()).unwrap();
    let new = reference_after(&series, 1).export();
    for failpoint in [
        "file-synced:2",
        "generation-named",
        "pointer-written",
        "switched",
        "removed",
    ] {
        let dir = tmp.path().join(format!("abort-{failpoint}"));
        copy_dir(&replica, &dir);
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "an_aborted_process_leaves_old_or_new_and_a_rerun_completes",
                "--test-threads=1",
            ])
            .env(failpoint::ENV, failpoint)
            .env("CRASH_CHILD_REPLICA", &dir)
            .env("CRASH_CHILD_DAY", &series.days[0])
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(6), "{failpoint}: not aborted");
        apply(&dir, &series.days, ApplyOptions::default()).unwrap();
        assert_eq!(exported(&dir), new, "{failpoint}");
        assert_clean(&dir);
    }
}

#[test]
fn a_full_disk_gives_a_clear_error_and_an_intact_replica() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = tmp.path().join("small");
    std::fs::create_dir(&mount).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mount)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (not root, or no permission)");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let series = write_series(tmp.path(), 31, 600, 1, 300);
        let dir = mount.join("replica");
        init(&series.base, &dir, InitOptions::default()).unwrap();
        let before = snapshot(&dir);
        // Fill the disk but for a few KiB.
        let filler = mount.join("filler");
        let _ = Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", filler.display()))
            .args(["bs=4096", "status=none"])
            .stderr(std::process::Stdio::null())
            .status();
        let err = apply(&dir, &series.days, ApplyOptions::default()).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ReplicaError::Io { .. }), "{message}");
        assert!(message.contains("No space left on device"), "{message}");
        assert_eq!(snapshot(&dir), before, "the replica changed");
        std::fs::remove_file(&filler).unwrap();
        apply(&dir, &series.days, ApplyOptions::default()).unwrap();
        let out = tmp.path().join("export.txt");
        cprsift_replica::export(&dir, &out).unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            reference_after(&series, 1).export()
        );
    });
    let _ = Command::new("umount").arg(&mount).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
