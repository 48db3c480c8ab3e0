#!/usr/bin/env bash
# Corpus benchmark: the seed rule over the corpus replicated to SIZE_MB per
# format (default 1024). Prints MB/s, events/s and peak RSS per format, and, when
# `evtx_dump` is on PATH, the time `evtx_dump -o jsonl` takes just to parse the
# same EVTX files. Usage: bench/run.sh [SIZE_MB] [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${1:-1024}"
DATA="${2:-${TMPDIR:-/tmp}/portent-bench-$SIZE_MB}"
CORPUS="${PORTENT_CORPUS:-../shared/corpus}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/portent-target}"
cargo build --release --locked -q -p portent
BIN="$CARGO_TARGET_DIR/release/portent"
[ -d "$DATA" ] || python3 bench/make-data.py "$CORPUS" "$DATA" "$SIZE_MB"

# Output is discarded into a null device. /dev/null is a plain file on some
# machines (seen here): writing a gigabyte of evtx_dump output into it costs a
# disk write per byte and would make the comparison unfair, so a real one is
# made when /dev/null is not.
NULLDIR=$(mktemp -d)
trap 'rm -rf "$NULLDIR"' EXIT
NULL=/dev/null
if [ ! -c /dev/null ]; then
  NULL="$NULLDIR/null"
  mknod "$NULL" c 1 3 2>"$NULLDIR/mknod.err" || { NULL="$NULLDIR/null.out"; echo "warning: /dev/null is a plain file and no null device could be made; output goes to $NULL" >&2; }
fi
export NULL

measure() { # name, then the command
  local name="$1"; shift
  local err; err=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$err.time" "$@" > "$NULL" 2> "$err" || true
  read -r secs rss_kb < "$err.time"
  local events; events=$(grep -o '^portent: [0-9]* event(s) read' "$err" | grep -o '[0-9]*' || echo 0)
  local bytes; bytes=$(du -sb "${INPUT}" | cut -f1)
  awk -v n="$name" -v s="$secs" -v r="$rss_kb" -v e="$events" -v b="$bytes" 'BEGIN {
    printf "%-28s %8.1f MB  %7.2f s  %8.1f MB/s  %10.0f events/s  peak RSS %6.1f MB\n",
      n, b/1048576, s, b/1048576/s, e/s, r/1024 }'
  rm -f "$err" "$err.time"
}

# Median wall time of RUNS runs of a command (its output discarded).
RUNS="${RUNS:-5}"
median() {
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e' "$@" 2>&1 > "$NULL" | tail -1
  done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

echo "portent $(git rev-parse --short HEAD), $(nproc) cores, data in $DATA"
for fmt in evtx json zip; do
  INPUT="$DATA/$fmt"
  measure "seed rule over $fmt" "$BIN" query -f rules/t1043-commonly-used-port.aql --window ignore --no-limit --format jsonl -i "$INPUT"
done
INPUT="$DATA/evtx"
measure "hunt, whole pack, evtx" "$BIN" hunt "$INPUT" --format jsonl -q
echo "median of $RUNS runs over the EVTX:"
echo "  portent query, seed rule:  $(median "$BIN" query -f rules/t1043-commonly-used-port.aql --window ignore --no-limit --format jsonl -q -i "$INPUT") s"
echo "  portent hunt, whole pack:  $(median "$BIN" hunt "$INPUT" --format jsonl -q) s"
if [ -n "$(command -v evtx_dump || true)" ]; then
  peak=0
  for f in "$DATA"/evtx/*.evtx; do
    /usr/bin/time -f '%M' -o "$NULLDIR/evtx_dump.rss" evtx_dump -o jsonl "$f" > "$NULL" 2>&1 || true
    rss=$(cat "$NULLDIR/evtx_dump.rss"); [ "$rss" -gt "$peak" ] && peak=$rss
  done
  export DATA
  echo "  evtx_dump -o jsonl, parse: $(median bash -c 'for f in "$DATA"/evtx/*.evtx; do evtx_dump -o jsonl "$f"; done > "$NULL"') s (peak RSS $((peak / 1024)) MB)"
else
  echo "evtx_dump not on PATH: install it with 'cargo install evtx' to compare"
fi
