#!/usr/bin/env bash
# Runs cprsift and its DuckDB and Polars peers on the same jobs and data, checks that every
# peer's files are byte-identical to cprsift's, and prints one markdown table (see README.md):
#
#   benches/peers/run.sh DIR
#
# DIR is a data set made by benches/dataset.sh (full.txt, days/, subscribers-350.toml,
# municipalities.toml, replica/ at full.txt's state, stores/350, stores/municipalities).
# Jobs: the weekday delivery of the first day in DIR/days to the 350 subscribers, and the
# initial load of the 98 municipality subscribers. A peer that does not finish within its memory
# (PEERS_MEMORY, default 10G of address space) or time (PEERS_TIMEOUT, default 600 s) is reported
# as such, and the job is then measured on DIR/smaller (or PEERS_SMALLER), a smaller data set of
# the same layout, when there is one.
#
# Settings: CPRSIFT_BIN (default target/release/cprsift of this repository), PEERS_VENV (the
# peers' virtual environment, made when missing; default DIR/peers-venv), PEERS_SCRATCH (where
# the outputs go; default DIR/peers-scratch; removed at the end), PEERS_ENGINES (default
# "duckdb polars"), PEERS_JOBS (default "daily initial"), DUCKDB_MEMORY_LIMIT (default 60 % of
# PEERS_MEMORY).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${CPRSIFT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/cprsift}
VENV=${PEERS_VENV:-$DIR/peers-venv}
SCRATCH=${PEERS_SCRATCH:-$DIR/peers-scratch}
MEMORY=${PEERS_MEMORY:-10G}
TIMEOUT=${PEERS_TIMEOUT:-600}
ENGINES=${PEERS_ENGINES:-duckdb polars}
JOBS=${PEERS_JOBS:-daily initial}
[ -x "$BIN" ] || { echo "no cprsift binary at $BIN (build it, or set CPRSIFT_BIN)" >&2; exit 2; }

bytes_of() { numfmt --from=iec "$1"; }
MEMORY_BYTES=$(bytes_of "$MEMORY")
export DUCKDB_MEMORY_LIMIT=${DUCKDB_MEMORY_LIMIT:-$((MEMORY_BYTES * 6 / 10 / 1048576))MB}

if [ ! -x "$VENV/bin/python" ]; then
  echo "making the peers' virtual environment in $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$HERE/requirements.txt" >&2
fi

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
trap 'rm -rf "$SCRATCH"' EXIT
FAILED=0

# measure OUT CMD...: runs CMD with its outputs in OUT, timed; sets WALL (s) and PEAK (MiB), and
# STATUS (the exit status; 124 for a timeout).
measure() {
  local out=$1; shift
  rm -rf "$out"
  STATUS=0
  /usr/bin/time -f '%e %M' -o "$SCRATCH/time" "$@" > "$SCRATCH/log" 2>&1 || STATUS=$?
  read -r WALL PEAK_KB < <(tail -n 1 "$SCRATCH/time")
  PEAK=$((PEAK_KB / 1024))
}

# compare REF OUT: sets SAME ("identical/total" over cprsift's data files), META (the same for
# the .metadata companions) and EXTRA (files only the peer wrote).
compare() {
  local ref=$1 out=$2 n=0 same=0 m=0 msame=0 f
  while IFS= read -r -d '' f; do
    f=${f#"$ref"/}
    case $f in
      *.metadata) m=$((m + 1)); cmp -s "$ref/$f" "$out/$f" && msame=$((msame + 1)) ;;
      *) n=$((n + 1)); cmp -s "$ref/$f" "$out/$f" && same=$((same + 1)) ;;
    esac
  done < <(find "$ref" -path "$ref/_runs" -prune -o -type f -print0)
  SAME="$same/$n"; META="$msame/$m"
  EXTRA=$(comm -13 <(cd "$ref" && find . -path ./_runs -prune -o -type f -print | sort) \
                   <(cd "$out" && find . -type f | sort) | wc -l)
  [ "$same" -eq "$n" ] && [ "$msame" -eq "$m" ] && [ "$EXTRA" -eq 0 ]
}

# persons D: the number of persons in data set D (from its replica).
persons() { "$BIN" replica status --replica "$1/replica" | awk '/^persons:/ { print $2 }'; }

# job NAME D ENGINES...: runs cprsift and each engine's peer on job NAME of data set D.
job() {
  local name=$1 d=$2; shift 2
  local size; size=$(persons "$d" | numfmt --grouping)
  local ref=$SCRATCH/cprsift-$name cprsift_cmd peer_args
  case $name in
    daily)
      local extract; extract=$(find "$d/days" -type f | sort | head -n 1)
      rm -rf "$SCRATCH/store" && cp -r "$d/stores/350" "$SCRATCH/store"
      cprsift_cmd=("$BIN" deliver --replica "$d/replica" --subscriptions "$SCRATCH/store"
                   --outbox "$ref" "$extract")
      peer_args=(daily --extract "$extract" --state "$d/full.txt"
                 --subscribers "$d/subscribers-350.toml")
      cat "$extract" "$d/full.txt" "$d/subscribers-350.toml" > /dev/null ;;
    initial)
      local ids; mapfile -t ids < <(sed -n 's/^id = "\(.*\)"$/--subscriber\n\1/p' \
                                     "$d/municipalities.toml")
      cprsift_cmd=("$BIN" initial-load --replica "$d/replica"
                   --subscriptions "$d/stores/municipalities" "${ids[@]}" --outbox "$ref")
      peer_args=(initial --state "$d/full.txt" --subscribers "$d/municipalities.toml")
      cat "$d/full.txt" > /dev/null ;;
  esac
  measure "$ref" "${cprsift_cmd[@]}"
  if [ "$STATUS" -ne 0 ]; then
    echo "cprsift failed on $name ($d):" >&2; cat "$SCRATCH/log" >&2; exit 1
  fi
  local base=$WALL engine
  printf '| %s | %s | cprsift | %.2f | %d | - | - | 1 |\n' "$name" "$size" "$base" "$PEAK"
  local unfinished=()
  for engine in "$@"; do
    local out=$SCRATCH/$engine-$name
    # The peer's wall time includes making its files durable (`sync -f`), as cprsift's does.
    measure "$out" prlimit --as="$MEMORY_BYTES" timeout "$TIMEOUT" sh -c '"$@" && sync -f "$0"' \
      "$SCRATCH" "$VENV/bin/python" "$HERE/${engine}_peer.py" "${peer_args[@]}" --outbox "$out"
    if [ "$STATUS" -ne 0 ]; then
      local why="exit $STATUS"
      [ "$STATUS" -eq 124 ] && why="timeout after $TIMEOUT s"
      grep -q -i -E 'memory|MemoryError|bad_alloc|Cannot allocate' "$SCRATCH/log" &&
        why="out of memory (limit $MEMORY)"
      printf '| %s | %s | %s | did not finish: %s after %.0f s | %d | - | - | - |\n' \
        "$name" "$size" "$engine" "$why" "$WALL" "$PEAK"
      tail -n 3 "$SCRATCH/log" | sed 's/^/    /' >&2
      unfinished+=("$engine")
    elif compare "$ref" "$out"; then
      printf '| %s | %s | %s | %.2f | %d | %s | %s | %.1f |\n' "$name" "$size" "$engine" \
        "$WALL" "$PEAK" "$SAME" "$META" "$(echo "$WALL / $base" | bc -l)"
    else
      printf '| %s | %s | %s | %.2f | %d | **%s** | **%s** | %.1f |\n' "$name" "$size" \
        "$engine" "$WALL" "$PEAK" "$SAME" "$META" "$(echo "$WALL / $base" | bc -l)"
      echo "NOT IDENTICAL: $engine's $name files differ from cprsift's ($SAME data files," \
        "$META .metadata identical, $EXTRA extra files)" >&2
      FAILED=1
    fi
    rm -rf "$out" "$out.duckdb-spill"
  done
  rm -rf "$ref"
  local smaller=${PEERS_SMALLER:-$DIR/smaller}
  if [ ${#unfinished[@]} -gt 0 ] && [ "$d" = "$DIR" ] && [ -d "$smaller" ]; then
    echo "| $name: ${unfinished[*]} did not finish at $size persons; the same job at a smaller size: | | | | | | | |"
    job "$name" "$(realpath "$smaller")" "${unfinished[@]}"
  fi
}

echo "Peers on $(nproc) cores, $(date -u +%FT%TZ); cprsift $("$BIN" --version | awk '{print $2}'), $("$VENV/bin/python" -c 'import duckdb, polars; print(f"DuckDB {duckdb.__version__}, Polars {polars.__version__}")')"
echo
echo "| job | persons | engine | wall s | peak RSS MiB | identical data files | identical .metadata | wall / cprsift |"
echo "|---|---:|---|---:|---:|---:|---:|---:|"
for name in $JOBS; do
  # shellcheck disable=SC2086
  job "$name" "$DIR" $ENGINES
done
if [ "$FAILED" -ne 0 ]; then
  echo "FAILED: a peer's files are not byte-identical to cprsift's (see above)" >&2
  exit 1
fi
