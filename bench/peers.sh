#!/usr/bin/env bash
# Side by side with peer tools, on the same data, in one run: each command
# RUNS times, interleaved (so load and cache affect all alike), and the
# median CPU seconds (user + system), wall seconds, peak RSS and hits of each.
# Fetches and installs nothing: give the peers as command lines.
#
# Usage: bench/peers.sh DATA [RUNS]
#   HAYABUSA_CMD='hayabusa dfir-timeline -d {data} -r {sigma} -c rules/config -o {out} -w -q -C -N -Q -K -A'
#   (run from Hayabusa's folder, e.g. through a two-line script that cd's
#   there; 4.x names the command dfir-timeline, 2.x-3.x csv-timeline; -A
#   because the converted rule names no channel, which Hayabusa's channel
#   filter would otherwise load for nothing: 0 hits)
#   CHAINSAW_CMD='chainsaw hunt {data} -s {sigma} --mapping mappings/sigma-event-logs-all.yml --csv --output {outdir}'
# {data} is DATA, {sigma} the strict seed rule as Sigma (written here by
# `portent convert`), {out} a file and {outdir} a folder the hits go to
# (their CSV rows are counted as hits). The flags above are the peers' 2024-2025
# ones: check them against the versions installed. Without peers, only the
# Portent rows are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:?usage: bench/peers.sh DATA [RUNS]}"
RUNS="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/portent-target}"
cargo build --release --locked -q -p portent
BIN="$CARGO_TARGET_DIR/release/portent"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. bench/null.sh
null_device "$WORK"
SIGMA="$WORK/t1043-strict-basename.yml"
"$BIN" convert --rule t1043-strict-basename --to sigma > "$SIGMA" 2>/dev/null

declare -a NAMES CMDS
add() { NAMES+=("$1"); CMDS+=("$2"); }
add "portent hunt (default pack)" "$BIN hunt {data} -q --format csv -o {out}"
add "portent --rule strict" "$BIN hunt {data} -q --rule t1043-strict-basename --format csv -o {out}"
add "portent --sigma-only (strict)" "$BIN hunt {data} -q --sigma-only --sigma {sigma} --format csv -o {out}"
[ -n "${HAYABUSA_CMD:-}" ] && add "hayabusa (strict as Sigma)" "$HAYABUSA_CMD"
[ -n "${CHAINSAW_CMD:-}" ] && add "chainsaw (strict as Sigma)" "$CHAINSAW_CMD"

# Hits: CSV rows (less the header) of the output file, or of every CSV file
# in the output folder.
hits() {
  local out="$1" outdir="$2" n=0
  if [ -s "$out" ]; then
    n=$(($(wc -l < "$out") - 1))
  elif [ -d "$outdir" ]; then
    for f in "$outdir"/*.csv; do [ -f "$f" ] && n=$((n + $(wc -l < "$f") - 1)); done
  fi
  echo "$n"
}

for r in $(seq "$RUNS"); do
  for i in "${!NAMES[@]}"; do
    out="$WORK/out-$i.csv"; outdir="$WORK/outdir-$i"
    rm -rf "$out" "$outdir"; mkdir -p "$outdir"
    cmd="${CMDS[$i]//\{data\}/$DATA}"; cmd="${cmd//\{sigma\}/$SIGMA}"
    cmd="${cmd//\{out\}/$out}"; cmd="${cmd//\{outdir\}/$outdir}"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S %e %M' -o "$WORK/t" $cmd > "$NULL" 2>"$WORK/err" || true
    read -r user sys wall kb < "$WORK/t"
    echo "$i $(echo "$user + $sys" | bc -l) $wall $kb $(hits "$out" "$outdir")" >> "$WORK/results"
  done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "data: $DATA ($(find -L "$DATA" -type f | wc -l) files, $(($(du -sLb "$DATA" | cut -f1) / 1048576)) MiB), $RUNS runs each, interleaved; medians"
for i in "${!NAMES[@]}"; do
  cpu=$(awk -v i="$i" '$1 == i { print $2 }' "$WORK/results" | median)
  wall=$(awk -v i="$i" '$1 == i { print $3 }' "$WORK/results" | median)
  kb=$(awk -v i="$i" '$1 == i { print $4 }' "$WORK/results" | median)
  h=$(awk -v i="$i" '$1 == i { print $5 }' "$WORK/results" | sort -u | tr '\n' ' ')
  printf '%-32s CPU %7.2f s  wall %7.2f s  peak %7.1f MiB  hits %s\n' "${NAMES[$i]}" "$cpu" "$wall" "$(echo "$kb / 1024" | bc -l)" "$h"
done
