#!/usr/bin/env bash
# Runs every fuzz target for a while (default 30 s each) on the stable toolchain.
# cargo-fuzz needs nightly-only compiler flags (-Zsanitizer, -Cpasses); RUSTC_BOOTSTRAP=1 lets the
# machine's stable rustc accept them, so no second toolchain is needed.
# Usage: tools/fuzz-smoke.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
for target in framing extract; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  echo "-- $target: ${seconds}s"
  # The first folder collects the corpus; the others seed it with the committed cases.
  log="$(mktemp)"
  if ! cargo fuzz run "$target" "$corpus" "testdata/fuzz/$target" testdata/format \
      -- -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz target $target failed: the crash input is in fuzz/artifacts/$target/;" \
      "copy it to testdata/fuzz/$target/ so the regression test replays it" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+|stat::)' "$log" | tail -n 6
  rm -f "$log"
done
