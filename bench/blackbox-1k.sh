#!/usr/bin/env bash
# bench/blackbox-1k.sh CONFIG PORT DNS_TARGET TCP_TARGET [SECONDS]: blackbox_exporter's memory
# with the load of 1,000 checks at a 10 s interval, the peer of agent_rss_1k_checks_mib.
# blackbox_exporter keeps no check list (Prometheus holds it and scrapes /probe once per target
# and interval), so 1,000 checks at 10 s are 100 /probe requests a second, each check at its own
# fixed offset in the 10 s cycle as Prometheus spreads its targets: 500 with the DNS module
# against DNS_TARGET and 500 with the TCP module against TCP_TARGET (modules dns_bench and
# tcp_bench of CONFIG, as bench/run writes it). Runs SECONDS (default 60: six rounds), then prints
# blackbox_rss_1k_checks_mib (VmRSS at the end), blackbox_rss_1k_checks_peak_mib (VmHWM) and
# blackbox_1k_checks_probes_ok (probe_success=1 answers out of those sent).
# Loopback only; bounded by SECONDS; the exporter it starts is stopped on exit.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
CONFIG=$1 PORT=$2 DNS_TARGET=$3 TCP_TARGET=$4 SECS=${5:-60}
[[ $SECS =~ ^[0-9]+$ ]] && [ "$SECS" -ge 10 ] && [ "$SECS" -le 600 ] || { echo "SECONDS must be 10-600" >&2; exit 2; }
for t in "$DNS_TARGET" "$TCP_TARGET"; do
  case "$t" in 127.*) ;; *) echo "bench/blackbox-1k.sh: targets must be on loopback, got $t" >&2; exit 2 ;; esac
done

prometheus-blackbox-exporter --config.file="$CONFIG" --web.listen-address="127.0.0.1:$PORT" --log.level=error \
  >/dev/null 2>&1 &
BB=$!
trap 'kill $BB 2>/dev/null || true; wait $BB 2>/dev/null || true' EXIT
for ((i = 0; i < 150; i++)); do
  ss -Hlnt "sport = :$PORT" | grep -q . && break
  sleep 0.1
done

ok=$(python3 - "$PORT" "$DNS_TARGET" "$TCP_TARGET" "$SECS" <<'PY'
import sys, threading, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

port, dns, tcp, secs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
checks = [("dns_bench", dns) if i % 2 == 0 else ("tcp_bench", tcp) for i in range(1000)]
interval = 10.0
ok = sent = 0
lock = threading.Lock()

def probe(module, target):
    global ok, sent
    url = f"http://127.0.0.1:{port}/probe?module={module}&target={target}"
    good = False
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            good = any(l.startswith(b"probe_success 1") for l in r.read().splitlines())
    except OSError:
        pass
    with lock:
        sent += 1
        ok += good

start = time.monotonic()
with ThreadPoolExecutor(max_workers=32) as pool:
    n = 0
    while True:
        # check i fires at i * 10 ms into each 10 s cycle: 100 requests a second, evenly spread
        due = start + (n // 1000) * interval + (n % 1000) * interval / 1000
        if due - start >= secs:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pool.submit(probe, *checks[n % 1000])
        n += 1
print(f"{ok}/{sent}")
PY
)
awk '/VmRSS/{printf "blackbox_rss_1k_checks_mib=%.1f\n", $2 / 1024} /VmHWM/{printf "blackbox_rss_1k_checks_peak_mib=%.1f\n", $2 / 1024}' \
  "/proc/$BB/status"
echo "blackbox_1k_checks_probes_ok=$ok"
