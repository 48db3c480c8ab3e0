#!/usr/bin/env bash
# Sustained throughput and latency of `portent watch` over syslog TCP.
#
#   bench/watch.sh [INPUT] [RATE ...]
#
# INPUT (default ../shared/corpus) is replayed by `portent replay` as RFC 5424
# syslog over TCP (octet counting) at each RATE in events/s (0: as fast as the
# watcher takes them), repeated to about 10 s of traffic. The watcher runs the
# bundled rule pack, pinned to CPU 0; the replayer to CPU 1 (taskset), so the
# figures are for one core. For each rate: events sent and evaluated (the
# difference is loss), the achieved rate, receipt-to-evaluation latency p50
# and p99 and receipt-to-alert p99 (histogram bucket bounds, from /metrics),
# and the watcher's peak RSS.
#
# Alerts are written to a JSON-lines file with the default fsync policy; the
# join wait is off (--join-wait 0s) so that latency is the pipeline's own, not
# a deliberate wait for late process creations.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/portent-target}"
cargo build --release --locked -q -p portent
BIN="$CARGO_TARGET_DIR/release/portent"
INPUT="${1:-../shared/corpus}"
shift || true
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(25000 50000 75000 100000 0)
PIN0=() PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN0=(taskset -c 0) PIN1=(taskset -c 1); fi
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

# Events in one pass over INPUT, to size the repeats.
# (replay exits 3 when an input had unreadable parts: the rest is still sent)
ONE=$( ("$BIN" replay "$INPUT" --to null 2>&1 || true) | sed -n 's/.*sent \([0-9]*\) events.*/\1/p')
echo "input: $INPUT ($ONE events per pass); watcher on ${PIN0[*]:-any CPU}, replayer on ${PIN1[*]:-any CPU}"
printf "%-10s %10s %10s %10s %8s %12s %10s %10s %12s %10s\n" target sent evaluated unreadable lost "achieved/s" "p50 eval" "p99 eval" "p99 alert" "peak RSS"
for rate in "${RATES[@]}"; do
  port=$((20000 + RANDOM % 20000)); mport=$((port + 1))
  rm -rf "$TMP/state" "$TMP/alerts.jsonl"
  "${PIN0[@]}" "$BIN" watch --listen-tcp "127.0.0.1:$port" --window ignore --join-wait 0s \
    --metrics "127.0.0.1:$mport" --state-dir "$TMP/state" --alerts "$TMP/alerts.jsonl" --log-format text 2>"$TMP/watch.log" &
  wpid=$!
  for _ in $(seq 50); do grep -q listening "$TMP/watch.log" && break; sleep 0.1; done
  if [ "$rate" = 0 ]; then repeat=$(( 1 + 1500000 / (ONE > 0 ? ONE : 1) )); else repeat=$(( 1 + rate * 10 / (ONE > 0 ? ONE : 1) )); fi
  out=$( ("${PIN1[@]}" "$BIN" replay "$INPUT" --to "tcp://127.0.0.1:$port" --rate "$rate" --repeat "$repeat" 2>&1 || true) | tail -1)
  sent=$(sed -n 's/.*sent \([0-9]*\) events.*/\1/p' <<<"$out")
  achieved=$(sed -n 's/.*s: \([0-9]*\) events\/s.*/\1/p' <<<"$out")
  metrics() { curl -s "http://127.0.0.1:$mport/metrics" 2>/dev/null || true; }
  for _ in $(seq 100); do
    ev=$(metrics | sed -n 's/^portent_events_evaluated_total \([0-9]*\)$/\1/p')
    [ "${ev:-0}" -ge "$sent" ] && break; sleep 0.1
  done
  metrics >"$TMP/metrics.txt"
  rss=$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$wpid/status")
  kill -TERM "$wpid"; wait "$wpid" || true
  python3 - "$TMP/metrics.txt" "$rate" "$sent" "$achieved" "$rss" <<'EOF'
import sys, re
text = open(sys.argv[1]).read()
def q(name, p):
    b = [(float('inf') if le == '+Inf' else float(le), int(n)) for le, n in re.findall(name + r'_bucket\{le="([^"]+)"\} (\d+)', text)]
    total = b[-1][1] if b else 0
    if total == 0: return "-"
    for le, n in b:
        if n >= p * total: return "<= %g ms" % (le * 1000) if le != float('inf') else "> 10 s"
ev = int(re.search(r'^portent_events_evaluated_total (\d+)', text, re.M).group(1))
# Messages the watcher could read nothing from (a manifest beside the telemetry, say) are
# counted by reason, not lost: shown apart.
unreadable = sum(int(n) for reason, n in re.findall(r'^portent_dropped_total\{[^}]*reason="([^"]*)"\} (\d+)', text, re.M)
                 if reason not in ("queue full", "kernel receive buffer full"))
rate, sent, achieved, rss = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
print("%-10s %10d %10d %10d %8d %12s %10s %10s %12s %10s" % ("max" if rate == "0" else rate, sent, ev, unreadable, sent - ev - unreadable, achieved,
      q("portent_event_latency_seconds", .5), q("portent_event_latency_seconds", .99), q("portent_alert_latency_seconds", .99), rss))
EOF
done
