#!/usr/bin/env bash
# bench/lab-latency.sh [ROUNDS]: detection latency on the multi-site lab (root).
# For each round: wait until the lab is all green with no open verdict, apply idc-dns-blocked,
# and wait for diagnose to show DESIGN.md's verdict (LOCAL_PATH_BLOCK, site idc, layer dns);
# detection latency = the verdict's openedAt (the coordinator's clock) minus the moment
# `lab fault` returned (this host's clock, the same clock: the lab runs on this machine), so the
# figure does not include the CLI's own start-up. Then heal. The lab's checks run every 5 s.
# Prints detection_latency_s (median), detection_latency_max_s and detection_latency_rounds.
#
# Rounds after the first wait out the coordinator's 2-minute reopen hold, so each is a fresh
# detection. Brings the lab up if it is not (./probemesh lab up) and leaves it up; heals what it broke even
# when interrupted. Traffic stays inside the lab's namespaces.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"
ROUNDS=${1:-1}
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || { echo "usage: bench/lab-latency.sh [ROUNDS 1-99]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/lab-latency.sh: the lab needs root" >&2; exit 2; }
PM="$ROOT/probemesh"
LIMIT_S=90

log() { echo "# $*"; }
now_ms() { date +%s%3N; }

healed=1
heal() { [ "$healed" = 1 ] || "$PM" lab heal idc-dns-blocked >/dev/null 2>&1 || true; healed=1; }
trap heal EXIT
trap 'exit 130' INT TERM

log "lab: bringing it up if needed (./probemesh lab up)"
"$PM" lab up >/dev/null

# The open verdicts as lines "KIND SITE LAYER OPENED_AT_MS", from diagnose's JSON contract.
open_verdicts() {
  "$PM" diagnose --output json 2>/dev/null | python3 -c '
import json, sys
from datetime import datetime
for v in json.load(sys.stdin).get("verdicts", []):
    if v.get("state") != "OPEN":
        continue
    t = datetime.fromisoformat(v["openedAt"].replace("Z", "+00:00")).timestamp()
    print(v["kind"], v.get("site") or "-", (v.get("component") or {}).get("layer", "-"), int(t * 1000))
'
}
healthy() {
  local m
  m=$("$PM" matrix --output json 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(sum(1 for c in m.get("cells", []) if c.get("status") != "OK"), len(m.get("cells", [])))') || return 1
  [ "${m%% *}" = 0 ] && [ "${m##* }" -gt 0 ] && [ -z "$(open_verdicts)" ]
}
wait_healthy() {
  local end=$((SECONDS + LIMIT_S))
  until healthy; do
    [ $SECONDS -lt $end ] || { echo "bench/lab-latency.sh: the lab is not all green and quiet after ${LIMIT_S} s" >&2; exit 1; }
    sleep 2
  done
}

lat=()
for ((r = 1; r <= ROUNDS; r++)); do
  wait_healthy
  healed=0
  "$PM" lab fault idc-dns-blocked >/dev/null
  t0=$(now_ms)
  end=$((SECONDS + LIMIT_S))
  opened=""
  while [ -z "$opened" ]; do
    [ $SECONDS -lt $end ] || { echo "bench/lab-latency.sh: no LOCAL_PATH_BLOCK at idc within ${LIMIT_S} s" >&2; exit 1; }
    opened=$(open_verdicts | awk '$1 == "LOCAL_PATH_BLOCK" && $2 == "idc" && $3 == "dns" {print $4; exit}')
    [ -n "$opened" ] || sleep 1
  done
  if [ "$opened" -lt "$t0" ]; then
    echo "bench/lab-latency.sh: the verdict was reopened with its earlier openedAt (closed less than the reopen hold ago)" >&2
    exit 1
  fi
  s=$(awk -v a="$opened" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) / 1000 }')
  log "round $r: LOCAL_PATH_BLOCK site idc dns opened ${s} s after the fault was applied"
  lat+=("$s")
  heal
  # A verdict back within the coordinator's reopen hold (2 min) reopens with its first openedAt
  # (damping, by design); the next round waits that out so it measures a fresh detection.
  if [ "$r" -lt "$ROUNDS" ]; then
    log "waiting out the 2-minute reopen hold before round $((r + 1))"
    sleep 125
  fi
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
echo "detection_latency_s=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')"
echo "detection_latency_max_s=$(echo "$sorted" | tail -1)"
echo "detection_latency_rounds=$ROUNDS"
