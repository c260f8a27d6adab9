#!/usr/bin/env bash
# The main job on built-in demo data, start to finish, printing every command it runs:
# a full extract of 50,000 persons and three weekdays made by cprgen (seeded, so always the same), a replica, a
# subscription store with ~120 subscribers, the nightly run (check, deliver, apply) for each day,
# and an initial load for two new subscribers.
# Usage: tools/demo.sh [WORK_DIR]     (default: a new temporary folder, kept for you to look at)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d -t cprsift-demo.XXXXXX)}"
mkdir -p "$work"
cargo build --release --quiet -p cprsift -p cprgen
cprgen=target/release/cprgen
cprsift=target/release/cprsift
run() { printf '\n+ %s\n' "$*"; "$@"; }

run "$cprgen" full --persons 50000 --seed 7 --out "$work/full.txt"
run "$cprsift" check "$work/full.txt"
run "$cprgen" days --full "$work/full.txt" --days 3 --seed 7 --out-dir "$work/days"
run "$cprgen" subscribers --full "$work/full.txt" --seed 7 --subscribers 120 --out "$work/subscribers.toml"
run "$cprsift" replica init "$work/full.txt" --replica "$work/replica"
run "$cprsift" subscriptions import "$work/subscribers.toml" --subscriptions "$work/subscriptions"
for day in "$work"/days/D*; do
  run "$cprsift" check "$day"
  run "$cprsift" deliver "$day" --replica "$work/replica" --subscriptions "$work/subscriptions" \
    --outbox "$work/outbox" --apply
done
run "$cprsift" replica status --replica "$work/replica"
mapfile -t ids < <(grep -m 2 '^id = ' "$work/subscribers.toml" | sed 's/^id = "\(.*\)"$/\1/')
run "$cprsift" initial-load --replica "$work/replica" --subscriptions "$work/subscriptions" \
  --subscriber "${ids[0]}" --subscriber "${ids[1]}" --outbox "$work/outbox"
run ls -l "$work/outbox/${ids[0]}"
for f in "$work/outbox/${ids[0]}"/[DI]*; do
  case "$f" in *.metadata) ;; *) run "$cprsift" check "$f" | tail -n 4 ;; esac
done
printf '\nDemo finished. Everything it made is in %s\n' "$work"
