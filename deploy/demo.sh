#!/usr/bin/env bash
# The main job: a working mesh with a matrix and diagnoses.
#  - as root with ip netns: the multi-site lab (3 sites, a router, a small internet), then each
#    rehearsed incident: fault -> matrix -> diagnosis -> heal; the lab stays up to explore.
#  - otherwise: a coordinator and two agents on loopback (no root needed), and why.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
PM="$ROOT/probemesh"
bash "$ROOT/deploy/install-deps.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

wait_for_verdict() { # kind site timeout_s
  local kind=$1 site=$2 deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    if "$PM" diagnose --output json 2>/dev/null | jq -e --arg k "$kind" --arg s "$site" \
        '.verdicts[] | select(.kind == $k and (($s == "") or (.site == $s)))' >/dev/null; then
      return 0
    fi
    sleep 2
  done
  echo "(no $kind verdict${site:+ for $site} within $3 s; showing what there is)"
  return 0
}

wait_quiet() { # timeout_s
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    if [ "$("$PM" diagnose --output json 2>/dev/null | jq '.verdicts | length')" = "0" ]; then
      return 0
    fi
    sleep 2
  done
}

if [ "$(id -u)" -eq 0 ] && ip netns list >/dev/null 2>&1; then
  say "starting the lab: sites idc, home, vps; a router; resolver, DNS authorities, origin, CDN edge, coordinator"
  "$PM" lab up
  say "the matrix, all green"
  "$PM" matrix
  rehearse() { # fault [site] -- expected kind, site
    local fault=$1 arg=$2 kind=$3 vsite=$4
    say "incident: $fault $arg"
    "$PM" lab fault $fault $arg
    wait_for_verdict "$kind" "$vsite" 60
    "$PM" matrix
    "$PM" diagnose
    say "healing $fault"
    "$PM" lab heal $fault
    wait_quiet 60
  }
  rehearse idc-dns-blocked "" LOCAL_PATH_BLOCK idc
  rehearse ddns-down "" SHARED_DEPENDENCY_OUTAGE ""
  rehearse waf-challenge vps TARGET_POLICY_BLOCK vps
  rehearse home-ipv6-broken "" LOCAL_PATH_BLOCK home
  rehearse vps-egress-443-denied "" LOCAL_PATH_BLOCK vps
  rehearse origin-down "" TARGET_OUTAGE ""
  say "the lab is still running; explore it:"
  cat <<TXT
  ./probemesh matrix                       # the cross-site matrix
  ./probemesh diagnose [--output json]     # verdicts with evidence and remedy
  ./probemesh lab fault idc-dns-blocked    # rehearse an incident (see deploy/lab/README.md)
  ./probemesh lab heal                     # undo every fault
  ./probemesh lab status | down            # inspect or remove the lab
TXT
  exit 0
fi

say "no root or no ip netns here: running a loopback mesh instead of the multi-site lab"
exec bash "$ROOT/deploy/loopback-demo.sh"
