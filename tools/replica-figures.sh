#!/usr/bin/env bash
# Figures for the replica (issue 4), measured, not asserted: `init` on a cprgen preset (time,
# MB/s, peak memory, index bytes), `apply` of one generated weekday and of a spike day on that
# replica, `export`, and the ratio of apply time to a plain sequential copy of the replica's
# data (segments + index).
#
#   tools/replica-figures.sh                   # the full preset (10.5 million persons)
#   PRESET=small tools/replica-figures.sh      # 100,000 persons
#   PERSONS=6800000 tools/replica-figures.sh   # any size
#
# Scratch data lives under $SCRATCH (default /work/scratch/replica/figures) and is deleted at the
# end (KEEP=1 keeps it). Needs about twice the full extract's size in free disk.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PRESET=${PRESET:-full}
if [[ -n "${PERSONS:-}" ]]; then SIZE=(--persons "$PERSONS"); PRESET=$PERSONS; else SIZE=(--preset "$PRESET"); fi
SCRATCH=${SCRATCH:-/work/scratch/replica/figures}
OUT=${OUT:-$SCRATCH/../figures-$PRESET.txt}

cleanup() { [[ "${KEEP:-0}" == 1 ]] || rm -rf "$SCRATCH"; }
trap cleanup EXIT

cargo build --release -p cprsift -p cprgen --manifest-path "$ROOT/Cargo.toml" >&2
mkdir -p "$SCRATCH/bin"
# Own copies, so that a rebuild in the shared checkout cannot change them mid-run.
cp "$ROOT/target/release/cprsift" "$ROOT/target/release/cprgen" "$SCRATCH/bin/"
CPRSIFT=$SCRATCH/bin/cprsift
CPRGEN=$SCRATCH/bin/cprgen
: >"$OUT"
say() { echo "$*" | tee -a "$OUT"; }

# Runs a command under /usr/bin/time -v; prints "<elapsed seconds> <peak RSS KB> <peak anon KB>".
# Peak RSS counts the mapped input's page-cache pages; peak anon (RssAnon, sampled every 0.1 s)
# is the memory the process allocated.
measure() {
    local log=$SCRATCH/time.log anon=0 a child
    /usr/bin/time -v "$@" >"$SCRATCH/cmd.out" 2>"$log" &
    local tpid=$!
    while kill -0 "$tpid" 2>/dev/null; do
        child=$(pgrep -P "$tpid" | head -1 || true)
        if [[ -n "$child" ]]; then
            a=$(awk '/RssAnon/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)
            ((${a:-0} > anon)) && anon=$a
        fi
        sleep 0.1
    done
    wait "$tpid" || { cat "$SCRATCH/cmd.out" "$log" >&2; exit 1; }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
        awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    echo "$wall $rss $anon"
}

say "replica figures, preset $PRESET, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
say "commit $(git -C "$ROOT" rev-parse --short HEAD)"

read -r t _ < <(measure "$CPRGEN" full "${SIZE[@]}" --out "$SCRATCH/full.txt")
FULL_BYTES=$(stat -c %s "$SCRATCH/full.txt")
say "cprgen full: $FULL_BYTES bytes in ${t}s"
read -r t _ < <(measure "$CPRGEN" days --full "$SCRATCH/full.txt" --days 2 --spike --out-dir "$SCRATCH/days")
mapfile -t DAYS < <(ls "$SCRATCH/days"/D*)
say "cprgen days: $(for d in "${DAYS[@]}"; do printf '%s %s bytes; ' "$(basename "$d")" "$(stat -c %s "$d")"; done)"

sync
read -r t rss anon < <(measure "$CPRSIFT" replica init "$SCRATCH/full.txt" --replica "$SCRATCH/replica")
cat "$SCRATCH/cmd.out" >>"$OUT"
"$CPRSIFT" replica status --replica "$SCRATCH/replica" --json >"$SCRATCH/status.json"
PERSONS=$(jq .persons "$SCRATCH/status.json")
INDEX=$(jq .index_bytes "$SCRATCH/status.json")
SEGS=$(jq .segment_bytes "$SCRATCH/status.json")
say "init: ${t}s, $(awk -v b="$FULL_BYTES" -v t="$t" 'BEGIN {printf "%.0f", b/1e6/t}') MB/s, peak RSS $((rss / 1024)) MiB (anon $((anon / 1024)) MiB); $PERSONS persons; index $INDEX bytes ($(awk -v i="$INDEX" -v p="$PERSONS" 'BEGIN {printf "%.1f", i/p}') per person incl. header); segments $SEGS bytes"

APPLY=()
for d in "${DAYS[@]}"; do
    sync
    read -r t rss anon < <(measure "$CPRSIFT" replica apply "$d" --replica "$SCRATCH/replica")
    APPLY+=("$t")
    say "apply $(basename "$d"): ${t}s, peak RSS $((rss / 1024)) MiB (anon $((anon / 1024)) MiB): $(head -1 "$SCRATCH/cmd.out")"
done

rm -f "$SCRATCH/full.txt" # no longer needed; keeps the peak disk use at about twice its size
# A plain sequential copy of the replica's data: every segment and the index, synced.
DATA=$(find "$SCRATCH/replica" -name 'seg-*.dat' -o -name index.bin | sort)
sync
read -r tcopy _ < <(measure sh -c "mkdir -p '$SCRATCH/copy' && cp $(echo "$DATA" | tr '\n' ' ') '$SCRATCH/copy/' && sync")
rm -rf "$SCRATCH/copy"
read -r tread _ < <(measure sh -c "cat $(echo "$DATA" | tr '\n' ' ') >/dev/null")
say "copy of the replica's data (cp + sync): ${tcopy}s; sequential read (cat > /dev/null, warm as far as the cache holds): ${tread}s"
for i in "${!DAYS[@]}"; do
    say "ratio apply/copy, $(basename "${DAYS[$i]}"): $(awk -v a="${APPLY[$i]}" -v c="$tcopy" 'BEGIN {printf "%.3f", a/c}')"
done

start=$(date +%s.%N)
if "$CPRSIFT" replica export --replica "$SCRATCH/replica" "$SCRATCH/export.txt" >"$SCRATCH/cmd.out" 2>&1; then
    say "export: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e-s}')s: $(cat "$SCRATCH/cmd.out")"
else
    say "export: failed after $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e-s}')s: $(cat "$SCRATCH/cmd.out")"
fi
rm -f "$SCRATCH/export.txt"
"$CPRSIFT" replica status --replica "$SCRATCH/replica" | tee -a "$OUT"
say "figures written to $OUT"
