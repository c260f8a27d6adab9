#!/usr/bin/env bash
# Figures for the engine (issue 5 §4): a generated weekday against a replica with ~350 and with
# 10,000 subscribers, and an initial load of all 98 municipality subscribers in one pass, each
# beside a plain-copy reference (`cat` of the same bytes > /dev/null) measured in the same run.
#
#   PERSONS=full tools/deliver-figures.sh      # the `full` preset (10.5 million persons)
#   PERSONS=200000 tools/deliver-figures.sh    # any number of persons
#
# Scratch data lives under $SCRATCH (default /work/scratch/engine) and is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PERSONS=${PERSONS:-full}
SCRATCH=${SCRATCH:-/work/scratch/engine}
THREADS=${THREADS:-$(nproc)}
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
trap 'rm -rf "$SCRATCH"' EXIT

cargo build --release -q -p cprsift -p cprgen
BIN=target/release
size_arg=(--persons "$PERSONS"); [ "$PERSONS" = full ] && size_arg=(--preset full)

measure() { # label, command...: wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %M KB peak RSS" "$@" > /dev/null
}

"$BIN/cprgen" full "${size_arg[@]}" --layout u12170 --out "$SCRATCH/full.txt"
"$BIN/cprgen" days --full "$SCRATCH/full.txt" --days 1 --out-dir "$SCRATCH/days"
DAY=$(ls "$SCRATCH"/days/D*)
"$BIN/cprgen" subscribers --full "$SCRATCH/full.txt" --subscribers 350 --out "$SCRATCH/subs350.toml"
"$BIN/cprgen" subscribers --full "$SCRATCH/full.txt" --subscribers 10000 --out "$SCRATCH/subs10000.toml"
"$BIN/cprsift" replica init "$SCRATCH/full.txt" --replica "$SCRATCH/replica" > /dev/null
rm "$SCRATCH/full.txt"
# Subscribers as the platform keeps them: stores (serialized roaring PNR sets), not TOML.
for n in 350 10000; do
  measure "subscriptions import, $n subscribers (setup, not part of the run)" "$BIN/cprsift" \
    subscriptions import "$SCRATCH/subs$n.toml" --subscriptions "$SCRATCH/store$n"
  rm "$SCRATCH/subs$n.toml"
done
# The 98 municipality subscribers of the initial load.
grep -v '^#' tools/cprgen/data/municipalities.tsv | awk -F'\t' '$1 ~ /^[0-9]+$/ {
  printf "[[subscriber]]\nid = \"kommune-%s\"\nmunicipality = [%d]\n\n", $1, $1 }' > "$SCRATCH/munis.toml"
IDS=(); while read -r id; do IDS+=(--subscriber "$id"); done < <(grep -o 'kommune-[0-9]*' "$SCRATCH/munis.toml")

echo "persons: $PERSONS; weekday: $(stat -c %s "$DAY") bytes; threads: $THREADS"
echo "replica segments: $(cat "$SCRATCH"/replica/seg-*.dat | wc -c) bytes"
for n in 350 10000; do
  measure "cat weekday (reference)" cat "$DAY"
  measure "deliver, $n subscribers" "$BIN/cprsift" --threads "$THREADS" deliver "$DAY" \
    --replica "$SCRATCH/replica" --subscriptions "$SCRATCH/store$n" --outbox "$SCRATCH/out$n"
  echo "  output: $(du -sb "$SCRATCH/out$n" | cut -f1) bytes in $(find "$SCRATCH/out$n" -name 'D*' ! -name '*.metadata' | wc -l) files"
  rm -rf "$SCRATCH/out$n"
done
measure "cat replica segments (reference)" cat "$SCRATCH"/replica/seg-*.dat
measure "initial load, $(( ${#IDS[@]} / 2 )) municipality subscribers, one pass" "$BIN/cprsift" initial-load \
  --replica "$SCRATCH/replica" --subscriptions "$SCRATCH/munis.toml" "${IDS[@]}" --outbox "$SCRATCH/initial"
echo "  output: $(du -sb "$SCRATCH/initial" | cut -f1) bytes in $(find "$SCRATCH/initial" -name 'I*' ! -name '*.metadata' | wc -l) shards"
