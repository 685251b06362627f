#!/usr/bin/env bash
# bench/agent-rss.sh: the agent's memory, measured as shipped (the launcher's AGENT_JAVA_OPTS and
# environment). Starts `./probemesh coordinator --insecure` on 127.0.0.1 with its own data dir
# and one `./probemesh agent --insecure`, waits until the agent is connected, then prints:
#   agent_rss_idle_mib        VmRSS after 20 s connected with no checks
#   agent_rss_1k_checks_mib   VmRSS after 60 s running 1,000 checks (500 tcp + 500 dns) every 10 s
#   agent_threads             the agent's thread count at that point
# and the JVM flags used. Targets (loopback only): a TCP sink (bench/TcpSink.java) and dnsmasq.
# Bounded in time (about 2 minutes after the build); every process it starts is stopped on exit.
#
# Env: RSS_COORD_PORT (19290), RSS_TCP_PORT (19281), RSS_DNS_PORT (5354), RSS_IDLE_S (20),
# RSS_LOAD_S (60), RSS_CHECKS (1000), RSS_DETAIL=1 also prints NMT/smaps lines as comments
# (adds -XX:NativeMemoryTracking=summary to the agent, which itself costs a little memory).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"

COORD_PORT=${RSS_COORD_PORT:-19290}
TCP_PORT=${RSS_TCP_PORT:-19281}
DNS_PORT=${RSS_DNS_PORT:-5354}
IDLE_S=${RSS_IDLE_S:-20}
LOAD_S=${RSS_LOAD_S:-60}
CHECKS=${RSS_CHECKS:-1000}

WORK="$(mktemp -d /tmp/pm-agent-rss.XXXXXX)"
PIDS=()
cleanup() {
  local p i alive
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  # Up to 10 s for a graceful stop (the coordinator closes its store), then force.
  for ((i = 0; i < 100; i++)); do
    alive=0
    for p in "${PIDS[@]:-}"; do
      [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "# $*"; }
die() { echo "bench/agent-rss.sh: $*" >&2; exit 1; }
command -v dnsmasq >/dev/null || die "needs dnsmasq (Debian: apt-get install dnsmasq-base)"
command -v java >/dev/null || die "needs java 17+"

port_busy() { ss -Hlnu "sport = :$1" | grep -q . || ss -Hlnt "sport = :$1" | grep -q .; }
for p in "$COORD_PORT" "$TCP_PORT" "$DNS_PORT"; do
  port_busy "$p" && die "port $p is in use on this host (set RSS_*_PORT)"
done
wait_port() { # proto port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if [ "$1" = udp ]; then ss -Hlnu "sport = :$2" | grep -q . && return 0
    else ss -Hlnt "sport = :$2" | grep -q . && return 0; fi
    sleep 0.1
  done
  die "nothing listens on $1 127.0.0.1:$2 after $3 s"
}
# Waits (bounded) until a launcher process has exec'd java, i.e. its jars are fresh.
wait_java() { # pid seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    case "$(readlink "/proc/$1/exe" 2>/dev/null || true)" in *java*) return 0 ;; esac
    [ -d "/proc/$1" ] || die "process $1 exited before starting java"
    sleep 0.1
  done
  die "process $1 did not start java within $2 s"
}
rss_mib() { awk '/^VmRSS/{printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
threads() { awk '/^Threads/{print $2}' "/proc/$1/status"; }
detail() { # pid label
  [ "${RSS_DETAIL:-0}" = 1 ] || return 0
  log "$2: $(awk '/^(Rss|Pss)/{printf "%s %.1fMiB ", $1, $2/1024}' "/proc/$1/smaps_rollup")"
  jcmd "$1" VM.native_memory summary 2>/dev/null | grep -E '^(Total|-  )' | sed 's/^/#   /' || true
}

# --- targets --------------------------------------------------------------------------------
dnsmasq --keep-in-foreground --conf-file=/dev/null --port="$DNS_PORT" --listen-address=127.0.0.1 \
  --bind-interfaces --no-resolv --no-hosts --address=/bench.test/127.0.0.1 --pid-file= \
  --cache-size=0 >"$WORK/dnsmasq.log" 2>&1 &
PIDS+=($!)
java -Xmx32m -XX:+UseSerialGC bench/TcpSink.java "$TCP_PORT" >"$WORK/sink.log" 2>&1 &
PIDS+=($!)
wait_port udp "$DNS_PORT" 10
wait_port tcp "$TCP_PORT" 30

# --- coordinator and agent ------------------------------------------------------------------
timeout 900 ./probemesh --help >/dev/null 2>&1 || true   # builds the launcher's jars when needed
mkdir -p "$WORK/coord" "$WORK/agent"
./probemesh coordinator --insecure --listen "127.0.0.1:$COORD_PORT" --data-dir "$WORK/coord" >"$WORK/coord.log" 2>&1 &
CO=$!
PIDS+=($CO)
wait_port tcp "$COORD_PORT" 120

cat >"$WORK/policy.yaml" <<YAML
# Loopback only (the default denies it), ceilings raised for 1,000 checks on one host.
kinds: [tcp, dns]
allow:
  - {cidr: 127.0.0.0/8, reason: "agent-rss bench"}
system_resolvers: [127.0.0.1]
rate:
  per_target: {per_second: 1000, burst: 1000}
  global: {per_second: 1000, burst: 1000}
YAML
if [ "${RSS_DETAIL:-0}" = 1 ]; then
  export AGENT_JAVA_OPTS="$(sed -n 's/^AGENT_JAVA_OPTS=\${AGENT_JAVA_OPTS:-"\(.*\)"}$/\1/p' probemesh) -XX:NativeMemoryTracking=summary"
fi
./probemesh agent --insecure --coordinator "127.0.0.1:$COORD_PORT" --name rss-1 --site bench \
  --data-dir "$WORK/agent" --policy "$WORK/policy.yaml" >"$WORK/agent.log" 2>&1 &
AG=$!
PIDS+=($AG)
wait_java "$AG" 120
for ((i = 0; i < 600; i++)); do
  grep -q "connected to coordinator" "$WORK/agent.log" && break
  kill -0 "$AG" 2>/dev/null || { sed 's/^/#   /' "$WORK/agent.log" | tail -5; die "the agent exited"; }
  sleep 0.1
done
grep -q "connected to coordinator" "$WORK/agent.log" || die "the agent did not connect within 60 s"
log "agent pid $AG connected; idle for ${IDLE_S}s"
log "agent jvm: $(tr '\0' ' ' <"/proc/$AG/cmdline" | sed 's/ -jar .*//')"
sleep "$IDLE_S"
echo "agent_rss_idle_mib=$(rss_mib "$AG")"
echo "agent_threads_idle=$(threads "$AG")"
detail "$AG" idle

# --- 1,000 checks at 10 s -------------------------------------------------------------------
{
  echo "defaults: {interval: 10s, timeout: 2s}"
  echo "checks:"
  for ((i = 0; i < CHECKS; i++)); do
    if ((i % 2 == 0)); then
      echo "  - {id: rss-tcp-$i, kind: tcp, target: \"127.0.0.1:$TCP_PORT\"}"
    else
      echo "  - {id: rss-dns-$i, kind: dns, target: bench.test, dns: {resolver: \"127.0.0.1:$DNS_PORT\", transport: udp, type: A, expect-addresses: [127.0.0.1]}}"
    fi
  done
} >"$WORK/checks.yaml"
timeout 120 ./probemesh checks apply -f "$WORK/checks.yaml" --coordinator "127.0.0.1:$COORD_PORT" --insecure \
  >"$WORK/apply.log" 2>&1 || { cat "$WORK/apply.log" >&2; die "checks apply failed"; }
for ((i = 0; i < 300; i++)); do
  grep -q "assignment applied: $CHECKS checks" "$WORK/agent.log" && break
  sleep 0.1
done
grep -q "assignment applied: $CHECKS checks" "$WORK/agent.log" || die "the agent was not assigned $CHECKS checks within 30 s"
log "$CHECKS checks (tcp to 127.0.0.1:$TCP_PORT, dns to 127.0.0.1:$DNS_PORT) every 10s assigned; running for ${LOAD_S}s"
sleep "$LOAD_S"
kill -0 "$AG" 2>/dev/null || die "the agent exited under load"
echo "agent_rss_1k_checks_mib=$(rss_mib "$AG")"
echo "agent_threads=$(threads "$AG")"
log "agent VmHWM $(awk '/^VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$AG/status") MiB; warnings in its log: $(grep -c WARN "$WORK/agent.log" || true)"
detail "$AG" "1k checks"
if [ "${RSS_DETAIL:-0}" = 1 ]; then
  jcmd "$AG" GC.heap_info 2>/dev/null | sed 's/^/#   /' || true
fi
ok=$(timeout 60 ./probemesh matrix --coordinator "127.0.0.1:$COORD_PORT" --insecure --output json 2>/dev/null \
  | grep -o '"status" *: *"OK"' | wc -l || true)
log "matrix cells OK: $ok of $CHECKS"
