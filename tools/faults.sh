#!/usr/bin/env bash
# Usage: tools/faults.sh [PERSONS [DAYS [SUBSCRIBERS]]]     (default: 20000 3 120; SEED=1)
#
# The long fault campaign (docs/operations.md, "Fault proofs"): builds release binaries,
# generates a medium data set with cprgen in a temporary folder (a full extract of PERSONS
# persons, DAYS change extracts continuing it, two subscriber sets of SUBSCRIBERS), and runs
# crates/cprsift/tests/faults.rs on it with CPRSIFT_FAULTS=long: every failpoint step of every
# writing command at every occurrence until the command no longer reaches it, seeded SIGKILLs,
# a full disk at growing sizes (needs root for the tmpfs; skipped otherwise), and a link at every
# name each command writes. Ends with a summary of the counts; exits non-zero if a proof failed.
#
# SUBSCRIBERS: cprgen makes one subscriber per municipality first (98), then the other kinds
# (no filter, age, change code, PNR lists); 120 gives every kind. Needs DAYS >= 3.
# Respects CARGO_TARGET_DIR. KEEP=1 keeps the data set and the log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERSONS=${1:-20000}
DAYS=${2:-3}
SUBSCRIBERS=${3:-120}
SEED=${SEED:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if ((DAYS < 3)); then
    echo "faults.sh: needs at least 3 days" >&2
    exit 2
fi

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cprsift-faults.XXXXXX")
cleanup() { if [[ "${KEEP:-0}" == 1 ]]; then echo "kept: $SCRATCH" >&2; else rm -rf "$SCRATCH"; fi; }
trap cleanup EXIT
DATA=$SCRATCH/data
LOG=$SCRATCH/faults.log
mkdir -p "$DATA"

echo "== building (release)" >&2
cargo build --release -p cprgen --manifest-path "$ROOT/Cargo.toml" >&2
cargo test --release -p cprsift --test faults --no-run --manifest-path "$ROOT/Cargo.toml" >&2
CPRGEN=$TARGET/release/cprgen

echo "== generating: $PERSONS persons, $DAYS days, $SUBSCRIBERS subscribers, seed $SEED" >&2
"$CPRGEN" full --persons "$PERSONS" --seed "$SEED" --out "$DATA/full.txt" >&2
"$CPRGEN" days --full "$DATA/full.txt" --days "$DAYS" --seed "$SEED" --out-dir "$DATA/days" >&2
"$CPRGEN" subscribers --full "$DATA/full.txt" --seed "$SEED" --subscribers "$SUBSCRIBERS" \
    --out "$DATA/subscribers.toml" >&2
# Another set, imported over the store made from the first.
"$CPRGEN" subscribers --full "$DATA/full.txt" --seed "$((SEED + 1))" --subscribers "$SUBSCRIBERS" \
    --out "$DATA/replacement.toml" >&2

echo "== running the long campaign (log: $LOG)" >&2
started=$(date +%s)
set +e
(
    cd "$ROOT"
    CPRSIFT_FAULTS=long CPRSIFT_FAULTS_DATA="$DATA" \
        cargo test --release -p cprsift --test faults -- --nocapture --test-threads=1
) 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e
elapsed=$(($(date +%s) - started))

# The counts, from the tests' FAULTS-SUMMARY lines.
field() { grep -h "^FAULTS-SUMMARY $1 " "$LOG" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }' | tail -1; }
echo
echo "== fault campaign summary ($PERSONS persons, $DAYS days, $SUBSCRIBERS subscribers, seed $SEED; ${elapsed} s)"
if grep -q "^FAULTS-SUMMARY kill " "$LOG"; then
    echo "kill points tried:        $(field kill points)"
    echo "  killed (aborted):       $(field kill kills)"
    echo "  identical after rerun:  $(field kill identical)"
    echo "  not reached (completed):$(field kill not-reached)"
    echo "timed SIGKILLs:           $(field kill timed) (mid-run $(field kill timed-kills), identical after rerun $(field kill timed-identical))"
else
    echo "kill: no summary (the test did not finish)"
fi
if grep -q "^FAULTS-SUMMARY disk-full skipped" "$LOG"; then
    echo "disk-full cases:          skipped (no tmpfs: not root?)"
elif grep -q "^FAULTS-SUMMARY disk-full " "$LOG"; then
    echo "disk-full cases:          $(field disk-full cases) failing sizes over $(field disk-full commands) commands (known leftovers: $(field disk-full known-deviations))"
else
    echo "disk-full: no summary (the test did not finish)"
fi
if grep -q "^FAULTS-SUMMARY links " "$LOG"; then
    echo "link cases:               $(field links cases)"
else
    echo "links: no summary (the test did not finish)"
fi
problems=$(grep -h "^FAULTS-SUMMARY " "$LOG" | tr ' ' '\n' | awk -F= '$1 == "problems" { n += $2 } END { print n + 0 }')
echo "problems:                 $problems"
if ((status != 0)); then
    echo "RESULT: FAILED (cargo test exit $status; the problems are listed in the log above)"
    KEEP=1
else
    echo "RESULT: all proofs hold"
fi
exit "$status"
