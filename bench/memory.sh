#!/usr/bin/env bash
# Peak memory of `portent query` and `portent hunt` as input grows: the same
# JSON lines repeated to about SIZE_MB and to ten times that, in one file (the
# worst case for a reader: one unit of work), then a query without and with
# process joins, streamed and buffered (sorted), and the hunt with the bundled
# pack, its hits streamed (JSON lines) and kept (the table needs them all).
# Fetches nothing.
#
# Usage: bench/memory.sh [JSONL] [SIZE_MB]   (default: examples/sysmon-ecs-t1043.jsonl, 20)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${1:-examples/sysmon-ecs-t1043.jsonl}"
SIZE_MB="${2:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/portent-target}"
cargo build --release --locked -q -p portent
BIN="$CARGO_TARGET_DIR/release/portent"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. bench/null.sh
null_device "$WORK"
python3 - "$SRC" "$WORK" "$SIZE_MB" <<'PY'
import sys
src, work, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [l if l.endswith("\n") else l + "\n" for l in open(src, encoding="utf-8") if l.strip()]
for name, target in (("x1", mb), ("x10", 10 * mb)):
    with open(f"{work}/{name}.jsonl", "w", encoding="utf-8") as out:
        n = 0
        while n < target * 1_000_000:
            for l in lines:
                out.write(l)
                n += len(l)
PY
run() { # label, query, format, file
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" query "$2" "$4" --format "$3" --window ignore -q >"$NULL" 2>/dev/null || true
  read -r wall kb < "$WORK/t"
  printf '%-34s %-4s %5s MB input  %6.2f s  peak %7.1f MiB\n' "$1" "$3" \
    "$(($(stat -c %s "$4") / 1000000))" "$wall" "$(echo "$kb / 1024" | bc -l)"
}
for x in x1 x10; do
  run "no process join" 'SELECT "Process Name", destinationport, starttime FROM events' jsonl "$WORK/$x.jsonl"
  run "SELECT * (joins processes)" 'SELECT * FROM events' jsonl "$WORK/$x.jsonl"
done
run "SELECT * buffered (sorted)" 'SELECT * FROM events ORDER BY starttime' json "$WORK/x1.jsonl"
hunt() { # label, format, file
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" hunt "$3" --format "$2" -q >"$NULL" 2>"$WORK/err" || true
  read -r wall kb < "$WORK/t"
  hits=$(grep -o '[0-9]* row(s)' "$WORK/err" | awk '{n += $1} END {print n + 0}')
  printf '%-34s %-5s %5s MB input  %6.2f s  peak %7.1f MiB  %s hits\n' "$1" "$2" \
    "$(($(stat -c %s "$3") / 1000000))" "$wall" "$(echo "$kb / 1024" | bc -l)" "$hits"
}
for x in x1 x10; do
  hunt "hunt (the pack), hits streamed" jsonl "$WORK/$x.jsonl"
done
hunt "hunt (the pack), hits kept" table "$WORK/x1.jsonl"
