#!/usr/bin/env bash
# A mesh on loopback, no root needed: a coordinator, two enrolled agents ("alpha" and "beta"),
# checks against the coordinator's own port (open), a closed port and its TLS certificate.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
PM="$ROOT/probemesh"
DIR=${PROBEMESH_DEMO_DIR:-${TMPDIR:-/tmp}/probemesh-loopback-demo}
PORT=${PROBEMESH_DEMO_PORT:-17443}
export PROBEMESH_CONFIG="$DIR/cli-config.yaml"
mkdir -p "$DIR"
for pidfile in "$DIR"/*.pid; do
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
done
rm -rf "$DIR"/coordinator "$DIR"/agent-* "$DIR"/*.pid
"$PM" --version >/dev/null   # builds on first use

echo "+ probemesh coordinator --listen 127.0.0.1:$PORT --data-dir $DIR/coordinator"
"$PM" coordinator --listen "127.0.0.1:$PORT" --data-dir "$DIR/coordinator" >"$DIR/coordinator.log" 2>&1 &
echo $! >"$DIR/coordinator.pid"
for _ in $(seq 60); do [ -f "$DIR/coordinator/admin/admin.crt" ] && grep -q ready "$DIR/coordinator.log" && break; sleep 1; done
grep -q ready "$DIR/coordinator.log" || { echo "coordinator did not start; see $DIR/coordinator.log" >&2; exit 10; }
"$PM" context add loopback-demo --coordinator "127.0.0.1:$PORT" --admin-dir "$DIR/coordinator/admin"

cat >"$DIR/policy.yaml" <<YAML
# The demo probes loopback only, which the default policy denies: re-open it for this demo.
allow:
  - {cidr: 127.0.0.0/8, reason: "loopback demo"}
# Three checks every 2 s to the same host is more than the default ceiling of 1 probe/s per target.
rate:
  per_target: {per_second: 5, burst: 10}
YAML
for site in alpha beta; do
  json=$("$PM" token create --site "$site" --name "$site-1" --ttl 10m --output json)
  token=$(jq -r .token <<<"$json"); pin=$(jq -r .caPin <<<"$json")
  echo "+ probemesh agent --coordinator 127.0.0.1:$PORT --name $site-1 --token ... --ca-pin $pin"
  "$PM" agent --coordinator "127.0.0.1:$PORT" --name "$site-1" --data-dir "$DIR/agent-$site" \
      --token "$token" --ca-pin "$pin" --policy "$DIR/policy.yaml" >"$DIR/agent-$site.log" 2>&1 &
  echo $! >"$DIR/agent-$site.pid"
done

cat >"$DIR/checks.yaml" <<YAML
defaults: {interval: 2s, timeout: 1s}
checks:
  - {id: tcp-coordinator, kind: tcp, target: "127.0.0.1:$PORT"}
  - {id: tcp-closed-port, kind: tcp, target: "127.0.0.1:9"}
  - id: tls-coordinator
    kind: tls
    target: "127.0.0.1:$PORT"
    tls: {server-name: localhost, ca-file: "$DIR/coordinator/admin/ca.crt"}
YAML
"$PM" checks apply -f "$DIR/checks.yaml"
echo "waiting for both agents' first results..."
for _ in $(seq 60); do
  n=$("$PM" matrix --output json | jq '[.cells[] | select(.status != "MISSING")] | length')
  [ "$n" = 6 ] && break
  sleep 1
done
sleep 6   # two rounds, so the closed port is a confirmed verdict
"$PM" matrix
"$PM" diagnose
cat <<TXT

The loopback mesh keeps running. Explore it with:
  export PROBEMESH_CONFIG=$PROBEMESH_CONFIG
  $PM agents | matrix | diagnose | checks list
Stop it with: kill \$(cat $DIR/*.pid)
TXT
