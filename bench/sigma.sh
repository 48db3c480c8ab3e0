#!/usr/bin/env bash
# A Sigma rule set over an evidence folder, the way hunters run it: rules
# loaded, inert (their logs are not event logs) and failed, events read, hits,
# CPU seconds (user + system), wall seconds and peak RSS, for each of RUNS runs
# (default 3), and the same with the rule index off (every rule tested on
# every event) for comparison. Fetches nothing: give it any rule folder (the
# SigmaHQ Windows set in ../shared/sigma-rules/sigmahq-windows) and any
# evidence folder (EVTX-ATTACK-SAMPLES, hayabusa-sample-evtx, a case).
#
# Usage: bench/sigma.sh RULES EVIDENCE [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RULES="${1:?usage: bench/sigma.sh RULES EVIDENCE [RUNS]}"
EVIDENCE="${2:?usage: bench/sigma.sh RULES EVIDENCE [RUNS]}"
RUNS="${3:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/portent-target}"
cargo build --release --locked -q -p portent
BIN="$CARGO_TARGET_DIR/release/portent"

# Hits go to a real null device: /dev/null is a plain file on some machines.
NULLDIR=$(mktemp -d)
trap 'rm -rf "$NULLDIR"' EXIT
. bench/null.sh
null_device "$NULLDIR"

files=$(find -L "$EVIDENCE" -type f | wc -l)
bytes=$(du -sLb "$EVIDENCE" | cut -f1)
echo "rules: $RULES"
echo "evidence: $EVIDENCE ($files files, $((bytes / 1048576)) MiB)"
run() { # label, extra flags...
  local label="$1"; shift
  local err; err=$(mktemp)
  local hits="$NULLDIR/hits.jsonl"
  /usr/bin/time -f '%U %S %e %M' -o "$err.time" \
    "$BIN" hunt --sigma-only --skip-bad-rules --sigma "$RULES" "$EVIDENCE" -q \
    --format jsonl -o "$hits" "$@" 2> "$err" || true
  read -r user sys wall rss_kb < "$err.time"
  local loaded inert rejected events n
  loaded=$(grep -o 'sigma: [0-9]* rule(s)' "$err" | grep -o '[0-9]*' | head -1)
  inert=$(grep -o '[0-9]* inert (cannot fire' "$err" | grep -o '^[0-9]*' | head -1)
  rejected=$(grep -o '[0-9]* rejected$' "$err" | grep -o '^[0-9]*' | head -1)
  events=$(grep -o '^portent: [0-9]* event(s) read' "$err" | grep -o '[0-9]*' | head -1)
  # EVTX events no rule can use, read for their System part only.
  over=$(grep -o '^portent: [0-9]* of them of channels' "$err" | grep -o '[0-9]*' | head -1 || true)
  n=$(wc -l < "$hits")
  awk -v l="$label" -v lo="$loaded" -v i="$inert" -v r="$rejected" -v e="$events" -v o="${over:-0}" -v h="$n" \
      -v u="$user" -v s="$sys" -v w="$wall" -v m="$rss_kb" 'BEGIN {
    printf "%-12s rules %5s  inert %3s  failed %2s  events %8s  passed over %8s  hits %6s  CPU %6.2f s  wall %6.2f s  peak %6.1f MiB\n",
      l, lo, i, r, e, o, h, u + s, w, m / 1024 }'
  rm -f "$err" "$err.time" "$hits"
}
for i in $(seq "$RUNS"); do
  run "indexed"
  run "every-rule" --no-rule-index
done
