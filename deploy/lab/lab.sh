#!/usr/bin/env bash
# The probemesh multi-site lab: three sites, a router, and the internet's servers, each a Linux
# network namespace on this machine (topology and addresses: DESIGN.md "The lab", README.md
# next to this file). Entry point of `./probemesh lab ...`.
#
#   lab.sh up [--no-probemesh]   build or repair the lab; returns when everything is up
#   lab.sh down                  remove everything the lab made (also after a crash)
#   lab.sh status                namespaces, processes, active faults
#   lab.sh fault NAME [SITE]     inject a rehearsed incident (prints the commands it runs)
#   lab.sh heal [NAME [SITE]]    undo one fault, or all
#
# Environment: PROBEMESH (the launcher; default <repo>/probemesh), PROBEMESH_LAB_DIR (state;
# default /tmp/probemesh-lab), PROBEMESH_LAB_INSECURE=1 (coordinator and agents without TLS or
# tokens, for debugging), PROBEMESH_LAB_WAIT (seconds to wait for the first matrix; default 90),
# PROBEMESH_LAB_KEEP=1 (do not tear a freshly built lab down when `up` fails),
# PROBEMESH_LAB_HOST_ROUTES=all (also route the sites and 203.0.113.0/24 from the host).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB=${PROBEMESH_LAB_DIR:-/tmp/probemesh-lab}
PROBEMESH=${PROBEMESH:-$REPO/probemesh}
LOCK=/run/lock/probemesh-lab.lock
WAIT_MATRIX=${PROBEMESH_LAB_WAIT:-90}

SITES=(idc home vps)
NAMESPACES=(pm-core pm-inet pm-idc pm-home pm-vps)
declare -A SITE_V4=([idc]=192.0.2.10 [home]=192.0.2.74 [vps]=192.0.2.138)
declare -A SITE_GW4=([idc]=192.0.2.1 [home]=192.0.2.65 [vps]=192.0.2.129)
declare -A SITE_V6=([idc]=2001:db8:1::10 [home]=2001:db8:2::10 [vps]=2001:db8:3::10)
declare -A SITE_GW6=([idc]=2001:db8:1::1 [home]=2001:db8:2::1 [vps]=2001:db8:3::1)
declare -A SITE_NET4=([idc]=192.0.2.0/26 [home]=192.0.2.64/26 [vps]=192.0.2.128/26)
declare -A SITE_NET6=([idc]=2001:db8:1::/64 [home]=2001:db8:2::/64 [vps]=2001:db8:3::/64)

# The host's own link into pm-core (the CLI reaches the coordinator through it).
HOST_IF=pm-host
HOST_V4=192.0.2.202
HOST_GW4=192.0.2.193
HOST_V6=2001:db8:4::10
HOST_GW6=2001:db8:4::1
HOST_RESERVED=""
HOST_PREFIXES=""
LAB_ROUTE_METRIC=50       # below the blackholes, above any connected route of the host
BLACKHOLE_METRIC=4000

# pm-inet: every server, on its own address.
INET_V4=(198.51.100.2 198.51.100.5 198.51.100.10 198.51.100.20 198.51.100.53 203.0.113.10 203.0.113.80)
INET_V6=(2001:db8:53::5 2001:db8:53::10 2001:db8:53::20 2001:db8:53::53 2001:db8:113::10 2001:db8:113::80)
COORDINATOR=198.51.100.2:443
RESOLVER4=198.51.100.53
RESOLVER6=2001:db8:53::53
ORIGIN4=203.0.113.10
ORIGIN6=2001:db8:113::10
EDGE4=203.0.113.80
EDGE6=2001:db8:113::80
AGENTS=(idc-1 home-1 vps-1)
JAVA_OPTS=(-Xmx48m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:ReservedCodeCacheSize=16m)
FAULTS=(idc-dns-blocked ddns-down waf-challenge home-ipv6-broken vps-egress-443-denied origin-down)

log() { printf '%s\n' "$*" >&2; }
die() { log "lab: $*"; exit 1; }
# Runs a command after printing it, so an operator can learn (and repeat) what the lab does.
run() { printf '+ %s\n' "$*"; "$@"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

require_root() {
    [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, veth, iptables): run it with sudo"
}

require_tools() {
    local missing=() t
    for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
    ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian: apt-get install iproute2 iptables unbound nsd openssl openjdk-17-jdk-headless bind9-dnsutils curl jq iputils-ping)"
}

# One lab per machine: every command that changes the lab holds this lock. Children must not
# inherit fd 9, or a daemon would hold the lock forever (every launch closes it: 9>&-).
take_lock() {
    mkdir -p "$(dirname "$LOCK")"
    exec 9>"$LOCK"
    if ! flock -n 9; then
        log "lab: another lab command holds $LOCK; waiting up to 300 s"
        flock -w 300 9 || die "timed out waiting for $LOCK"
    fi
}

# Polls a command until it succeeds, at most $1 seconds; $2 names what we wait for. With
# WAIT_PROC set to a process name, gives up at once when that process dies.
WAIT_PROC=""
wait_for() {
    local limit=$1 what=$2; shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { log "lab: timed out after ${limit}s waiting for $what"; return 1; }
        if [[ -n $WAIT_PROC ]] && ! proc_alive "$WAIT_PROC"; then
            log "lab: $WAIT_PROC exited while waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}
# wait_proc NAME LIMIT WHAT COMMAND...: wait_for, failing fast if process NAME dies.
wait_proc() {
    local name=$1; shift
    local rc=0
    WAIT_PROC=$name
    wait_for "$@" || rc=$?
    WAIT_PROC=""
    return "$rc"
}

# ---------------------------------------------------------------------------------------------
# processes: a pidfile per process in $LAB/run holding "PID STARTTIME" (the kernel's start time
# of that pid, which survives exec but not pid reuse, so a recycled pid never counts as ours).

pidfile() { echo "$LAB/run/$1.pid"; }

# Running means present and not a zombie (an orphaned child may wait long for its reaper).
pid_running() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z ]]
}

# Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces).
pid_start() { sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }

proc_pid() {
    local f; f=$(pidfile "$1")
    [[ -s $f ]] || return 1
    local pid start
    read -r pid start <"$f" || true
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    pid_running "$pid" || return 1
    [[ -z $start || $(pid_start "$pid") == "$start" ]] || return 1
    echo "$pid"
}

proc_alive() { proc_pid "$1" >/dev/null; }

# start NAME NAMESPACE COMMAND...: in the background, in its own session, logs to $LAB/logs.
start_proc() {
    local name=$1 ns=$2; shift 2
    local logf="$LAB/logs/$name.log" shown=() a hide=0
    for a in "$@"; do   # a join token is a secret: keep it out of the log
        if ((hide)); then shown+=("<hidden>"); hide=0; else shown+=("$a"); fi
        [[ $a == --token ]] && hide=1
    done
    printf '\n=== %s start: %s\n' "$(date -u +%FT%TZ)" "${shown[*]}" >>"$logf"
    ip netns exec "$ns" setsid "$@" </dev/null >>"$logf" 2>&1 9>&- &
    local pid=$!
    echo "$pid $(pid_start "$pid")" >"$(pidfile "$name")"
}

stop_proc() {
    local name=$1 pid
    if pid=$(proc_pid "$name"); then
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do pid_running "$pid" || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")"
}

# ---------------------------------------------------------------------------------------------
# network

ns_exists() { [[ -e /run/netns/$1 ]]; }

make_ns() {
    local ns=$1
    ns_exists "$ns" || ip netns add "$ns"
    # No duplicate address detection anywhere (also for link-local addresses), so the first
    # packets do not wait 1-2 s; then loopback up.
    in_ns "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
    in_ns "$ns" ip link set lo up
}

link_exists() { ip netns exec "$1" ip link show "$2" >/dev/null 2>&1; }

# veth between pm-core (side $1) and namespace $2 (side eth0), created inside the namespaces so
# nothing is left on the host if the lab crashes.
make_core_link() {
    local core_if=$1 ns=$2
    if link_exists pm-core "$core_if" && link_exists "$ns" eth0; then return 0; fi
    ip netns exec pm-core ip link del "$core_if" 2>/dev/null || true
    ip netns exec "$ns" ip link del eth0 2>/dev/null || true
    ip link add "$core_if" netns pm-core type veth peer name eth0 netns "$ns"
}

addr4() { in_ns "$1" ip -4 addr replace "$3" dev "$2"; }
addr6() { in_ns "$1" ip -6 addr replace "$3" dev "$2" nodad; }

setup_network() {
    local ns site a
    for ns in "${NAMESPACES[@]}"; do make_ns "$ns"; done
    in_ns pm-core sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

    for site in "${SITES[@]}"; do
        ns=pm-$site
        make_core_link "to-$site" "$ns"
        addr4 pm-core "to-$site" "${SITE_GW4[$site]}/26"
        addr6 pm-core "to-$site" "${SITE_GW6[$site]}/64"
        addr4 "$ns" eth0 "${SITE_V4[$site]}/26"
        addr6 "$ns" eth0 "${SITE_V6[$site]}/64"
        in_ns pm-core ip link set "to-$site" up
        in_ns "$ns" ip link set eth0 up
        in_ns "$ns" ip -4 route replace default via "${SITE_GW4[$site]}"
        if [[ ! -e $LAB/faults/home-ipv6-broken || $site != home ]]; then
            in_ns "$ns" ip -6 route replace default via "${SITE_GW6[$site]}"
        fi
        # Unprivileged ICMP echo sockets for every group (a probe may use them instead of raw).
        in_ns "$ns" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
    done
    # Every lab namespace resolves through the lab resolver (ip netns exec bind-mounts these).
    for ns in "${NAMESPACES[@]}"; do
        mkdir -p "/etc/netns/$ns"
        printf 'nameserver %s\nnameserver %s\noptions timeout:1 attempts:1\n' "$RESOLVER4" "$RESOLVER6" \
            >"/etc/netns/$ns/resolv.conf"
    done

    make_core_link to-inet pm-inet
    addr4 pm-core to-inet 198.51.100.1/24
    addr4 pm-core to-inet 203.0.113.1/24
    addr6 pm-core to-inet 2001:db8:53::1/64
    addr6 pm-core to-inet 2001:db8:113::1/64
    for a in "${INET_V4[@]}"; do addr4 pm-inet eth0 "$a/24"; done
    for a in "${INET_V6[@]}"; do addr6 pm-inet eth0 "$a/64"; done
    in_ns pm-core ip link set to-inet up
    in_ns pm-inet ip link set eth0 up
    in_ns pm-inet ip -4 route replace default via 198.51.100.1
    in_ns pm-inet ip -6 route replace default via 2001:db8:53::1
    in_ns pm-inet sysctl -qw net.ipv4.ping_group_range="0 2147483647"

    setup_host_link
}

# The host's link: a /32 peer address on the host side (so it shadows nothing), routes to the
# lab over it, and blackholes (higher metric) so lab addresses never leak out. The host may use
# documentation ranges for real: this project's CI host sits in 192.0.2.0/24 and its package
# mirrors answer at 203.0.113.80 (through DNS, so nothing on disk tells). So by default the host
# routes into the lab only 198.51.100.0/24 (the coordinator, the resolver, the DNS servers) and
# the lab's IPv6 prefixes; PROBEMESH_LAB_HOST_ROUTES=all adds the sites' /26s and 203.0.113.0/24.
# Either way a prefix holding an address or a route the host uses is left alone, and the
# coordinator (what the CLI needs) always gets a /32 route.

# Addresses the host relies on outside the lab: its own, its gateways, its resolvers, /etc/hosts.
host_reserved() {
    {
        ip -o addr show 2>/dev/null | awk -v lab="$HOST_IF" '$2 != lab {print $4}' | cut -d/ -f1
        ip route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "via") print $(i + 1)}'
        ip -6 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "via") print $(i + 1)}'
        awk '$1 == "nameserver" {print $2}' /etc/resolv.conf 2>/dev/null
        awk '$1 !~ /^#/ && NF >= 2 {print $1}' /etc/hosts 2>/dev/null
        env | grep -i '_proxy=' | grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}' || true
    } | sort -u
}

ip4_int() { local IFS=.; read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }

# Expands an IPv6 address to 8 groups of 4 hex digits (no zone, no embedded IPv4).
ip6_full() {
    local a=${1%%%*} head tail out=() g i n
    if [[ $a == *::* ]]; then head=${a%%::*}; tail=${a#*::}; else head=$a; tail=""; fi
    local -a h=() t=()
    [[ -n $head ]] && IFS=: read -ra h <<<"$head"
    [[ -n $tail ]] && IFS=: read -ra t <<<"$tail"
    n=$((8 - ${#h[@]} - ${#t[@]}))
    for g in "${h[@]}"; do out+=("$g"); done
    if [[ $a == *::* ]]; then for ((i = 0; i < n; i++)); do out+=(0); done; fi
    for g in "${t[@]}"; do out+=("$g"); done
    for g in "${out[@]}"; do printf '%04x' "0x${g:-0}"; done
}

# in_prefix ADDRESS PREFIX/LEN: true when the address lies inside (v4 any length, v6 /16 steps).
in_prefix() {
    local addr=$1 net=${2%/*} len=${2#*/}
    if [[ $addr == *:* && $net == *:* ]]; then
        [[ $addr =~ ^[0-9a-fA-F:]+$ ]] || return 1
        local fa fn; fa=$(ip6_full "$addr") fn=$(ip6_full "$net")
        [[ ${fa:0:$((len / 4))} == "${fn:0:$((len / 4))}" ]]
    elif [[ $addr != *:* && $net != *:* && $addr =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]; then
        local mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
        local ia ib; ia=$(ip4_int "$addr") ib=$(ip4_int "$net")
        (((ia & mask) == (ib & mask)))
    else
        return 1
    fi
}

# Prefixes the host routes elsewhere (its connected networks, static routes), not the lab's own.
host_prefixes() {
    { ip -4 route show; ip -6 route show; } 2>/dev/null \
        | awk -v lab="$HOST_IF" '$1 != "default" && $1 != "blackhole" && $1 != "unreachable" && $1 != "prohibit" \
            && $1 ~ /\// { for (i = 2; i < NF; i++) if ($i == "dev" && $(i + 1) == lab) next; print $1 }'
}

# What the host already uses inside a prefix (an address, or an overlapping route), if anything.
host_conflict() {
    local a r
    for a in $HOST_RESERVED; do
        in_prefix "$a" "$1" && { echo "$a"; return 0; }
    done
    for r in $HOST_PREFIXES; do
        if in_prefix "${r%/*}" "$1" || in_prefix "${1%/*}" "$r"; then echo "$r"; return 0; fi
    done
    return 1
}

host_route() {   # host_route PREFIX VIA: lab route unless the host uses that prefix itself
    local p=$1 via=$2 c
    if c=$(host_conflict "$p"); then
        log "lab: the host already uses $c, in $p: not routing $p into the lab (the CLI needs only the coordinator)"
        return 0
    fi
    ip route replace "$p" via "$via" dev "$HOST_IF" metric "$LAB_ROUTE_METRIC"
}

host_blackhole() {
    host_conflict "$1" >/dev/null && return 0
    ip route replace blackhole "$1" metric "$BLACKHOLE_METRIC"
}

setup_host_link() {
    if ! ip link show "$HOST_IF" >/dev/null 2>&1 || ! link_exists pm-core to-host; then
        ip link del "$HOST_IF" 2>/dev/null || true
        in_ns pm-core ip link del to-host 2>/dev/null || true
        ip link add "$HOST_IF" type veth peer name to-host netns pm-core
    fi
    ip -4 addr replace "$HOST_V4/32" peer "$HOST_GW4/32" dev "$HOST_IF"
    # IPv6 on the host side is a convenience (the CLI needs only IPv4): best effort.
    local host_v6=1
    sysctl -qw "net.ipv6.conf.$HOST_IF.disable_ipv6=0" "net.ipv6.conf.$HOST_IF.accept_dad=0" >/dev/null 2>&1 || true
    ip -6 addr replace "$HOST_V6/64" dev "$HOST_IF" nodad 2>/dev/null || {
        host_v6=0
        log "lab: warning: IPv6 is off on this host; the host reaches the lab over IPv4 only (the sites keep IPv6)"
    }
    addr4 pm-core to-host "$HOST_GW4/26"
    addr6 pm-core to-host "$HOST_GW6/64"
    ip link set "$HOST_IF" up
    in_ns pm-core ip link set to-host up

    HOST_RESERVED=$(host_reserved)
    HOST_PREFIXES=$(host_prefixes)
    local p c v4=(198.51.100.0/24)
    [[ ${PROBEMESH_LAB_HOST_ROUTES:-} == all ]] && v4+=("${SITE_NET4[@]}" 203.0.113.0/24)
    for p in "${v4[@]}"; do host_route "$p" "$HOST_GW4"; done
    if ((host_v6)); then
        for p in "${SITE_NET6[@]}" 2001:db8:53::/64 2001:db8:113::/64; do host_route "$p" "$HOST_GW6"; done
        host_blackhole 2001:db8::/32
    fi
    host_blackhole 198.51.100.0/24
    if [[ ${PROBEMESH_LAB_HOST_ROUTES:-} == all ]]; then
        host_blackhole 192.0.2.0/24
        host_blackhole 203.0.113.0/24
    fi
    # The CLI must reach the coordinator whatever else the host uses.
    if c=$(host_conflict 198.51.100.2/32); then
        die "the host itself uses 198.51.100.2 ($c): the CLI could not reach the lab's coordinator"
    fi
    ip route replace 198.51.100.2/32 via "$HOST_GW4" dev "$HOST_IF" metric "$LAB_ROUTE_METRIC"
}

# First-packet neighbour discovery costs ~1 s on a fresh link: pay it now, in parallel.
warm_links() {
    local site pids=()
    for site in "${SITES[@]}"; do
        in_ns "pm-$site" ping -c1 -W1 "${SITE_GW4[$site]}" >/dev/null 2>&1 & pids+=($!)
        in_ns "pm-$site" ping -6 -c1 -W1 "${SITE_GW6[$site]}" >/dev/null 2>&1 & pids+=($!)
        in_ns "pm-$site" ping -c1 -W1 "$RESOLVER4" >/dev/null 2>&1 & pids+=($!)
        in_ns "pm-$site" ping -6 -c1 -W1 "$ORIGIN6" >/dev/null 2>&1 & pids+=($!)
        in_ns "pm-$site" ping -6 -c1 -W1 "$RESOLVER6" >/dev/null 2>&1 & pids+=($!)
    done
    ping -c1 -W1 198.51.100.2 >/dev/null 2>&1 & pids+=($!)
    ping -6 -c1 -W1 "$RESOLVER6" >/dev/null 2>&1 & pids+=($!)
    wait "${pids[@]}" || true
}

# ---------------------------------------------------------------------------------------------
# certificates: the lab's own CA, and leaves for the origin and the edge (PEM and PKCS12)

KS_PASS=probemesh-lab

make_certs() {
    local d=$LAB/ca
    mkdir -p "$d"
    if [[ ! -s $d/lab-ca.pem || ! -s $d/lab-ca.key ]]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$d/lab-ca.key" -out "$d/lab-ca.pem" -days 30 -subj "/O=probemesh lab/CN=probemesh lab CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        rm -f "$d"/origin.* "$d"/edge.*
    fi
    make_leaf origin "origin.example.test" \
        "DNS:origin.example.test,DNS:home.example.test,DNS:nas.example.test,IP:$ORIGIN4,IP:$ORIGIN6"
    make_leaf edge "home.example.test" "DNS:home.example.test,IP:$EDGE4,IP:$EDGE6"
}

make_leaf() {
    local name=$1 cn=$2 san=$3 d=$LAB/ca
    [[ -s $d/$name.p12 ]] && return 0
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$name.key" \
        -out "$d/$name.csr" -subj "/O=probemesh lab/CN=$cn" 2>/dev/null
    printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
        "$san" >"$d/$name.ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/lab-ca.pem" -CAkey "$d/lab-ca.key" -CAcreateserial \
        -out "$d/$name.pem" -days 30 -extfile "$d/$name.ext" 2>/dev/null
    openssl pkcs12 -export -in "$d/$name.pem" -inkey "$d/$name.key" -certfile "$d/lab-ca.pem" \
        -name "$name" -out "$d/$name.p12" -passout "pass:$KS_PASS"
    rm -f "$d/$name.csr" "$d/$name.ext"
}

# ---------------------------------------------------------------------------------------------
# DNS: three nsd instances (root, example.test, ddns.test; each its own address, so one can fail
# alone) and unbound as every site's recursive resolver. Every TTL is 5 s.

write_dns_config() {
    local d=$LAB/dns
    mkdir -p "$d"
    cat >"$d/root.zone" <<'EOF'
$TTL 5
.                   IN SOA  a.root.test. hostmaster.root.test. 1 5 5 60 5
.                   IN NS   a.root.test.
a.root.test.        IN A    198.51.100.5
a.root.test.        IN AAAA 2001:db8:53::5
example.test.       IN NS   ns1.example.test.
ns1.example.test.   IN A    198.51.100.10
ns1.example.test.   IN AAAA 2001:db8:53::10
ddns.test.          IN NS   ns1.ddns.test.
ns1.ddns.test.      IN A    198.51.100.20
ns1.ddns.test.      IN AAAA 2001:db8:53::20
EOF
    cat >"$d/example.test.zone" <<'EOF'
$TTL 5
$ORIGIN example.test.
@       IN SOA   ns1 hostmaster 1 5 5 60 5
@       IN NS    ns1
ns1     IN A     198.51.100.10
ns1     IN AAAA  2001:db8:53::10
origin  IN A     203.0.113.10
origin  IN AAAA  2001:db8:113::10
; the DDNS chains of incident 2: names at home, kept current by a DDNS provider
home    IN CNAME myhome.ddns.test.
nas     IN CNAME mynas.ddns.test.
EOF
    cat >"$d/ddns.test.zone" <<'EOF'
$TTL 5
$ORIGIN ddns.test.
@       IN SOA   ns1 hostmaster 1 5 5 60 5
@       IN NS    ns1
ns1     IN A     198.51.100.20
ns1     IN AAAA  2001:db8:53::20
myhome  IN A     203.0.113.10
myhome  IN AAAA  2001:db8:113::10
mynas   IN A     203.0.113.10
mynas   IN AAAA  2001:db8:113::10
EOF
    write_nsd_conf nsd-root 198.51.100.5 2001:db8:53::5 . root.zone
    write_nsd_conf nsd-example 198.51.100.10 2001:db8:53::10 example.test example.test.zone
    write_nsd_conf nsd-ddns 198.51.100.20 2001:db8:53::20 ddns.test ddns.test.zone

    cat >"$d/root.hints" <<'EOF'
.              3600000 NS   a.root.test.
a.root.test.   3600000 A    198.51.100.5
a.root.test.   3600000 AAAA 2001:db8:53::5
EOF
    cat >"$d/unbound.conf" <<EOF
# The lab's recursive resolver. Debian's defaults would make *.test a static NXDOMAIN and
# validate DNSSEC against the real root: both off here. Caches are capped at 5 s and dead
# servers are retried quickly, so a healed fault shows within a round or two.
server:
    verbosity: 1
    num-threads: 1
    interface: $RESOLVER4
    interface: $RESOLVER6
    port: 53
    do-ip4: yes
    do-ip6: yes
    do-udp: yes
    do-tcp: yes
    so-reuseport: no
    access-control: 0.0.0.0/0 refuse
    access-control: ::/0 refuse
    access-control: 127.0.0.0/8 allow
    access-control: 192.0.2.0/26 allow
    access-control: 192.0.2.64/26 allow
    access-control: 192.0.2.128/26 allow
    access-control: 192.0.2.192/26 allow
    access-control: 198.51.100.0/24 allow
    access-control: 203.0.113.0/24 allow
    access-control: 2001:db8:1::/64 allow
    access-control: 2001:db8:2::/64 allow
    access-control: 2001:db8:3::/64 allow
    access-control: 2001:db8:4::/64 allow
    access-control: 2001:db8:53::/64 allow
    access-control: 2001:db8:113::/64 allow
    chroot: ""
    username: ""
    directory: "$d"
    pidfile: "$LAB/run/unbound.self.pid"
    logfile: "$LAB/logs/unbound.log"
    use-syslog: no
    log-time-ascii: yes
    root-hints: "$d/root.hints"
    module-config: "iterator"
    local-zone: "test." nodefault
    qname-minimisation: no
    cache-max-ttl: 5
    cache-max-negative-ttl: 5
    infra-host-ttl: 5
    infra-keep-probing: yes
    infra-cache-max-rtt: 400
    serve-expired: no
    prefetch: no
    hide-identity: yes
    hide-version: yes
remote-control:
    control-enable: no
EOF
}

write_nsd_conf() {
    local name=$1 a4=$2 a6=$3 zone=$4 file=$5 d=$LAB/dns
    mkdir -p "$d/$name.xfr"
    cat >"$d/$name.conf" <<EOF
server:
    ip-address: $a4
    ip-address: $a6
    port: 53
    do-ip4: yes
    do-ip6: yes
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    zonelistfile: "$d/$name.zonelist"
    xfrdfile: "$d/$name.xfrd.state"
    xfrdir: "$d/$name.xfr"
    pidfile: "$LAB/run/$name.self.pid"
    logfile: "$LAB/logs/$name.nsd.log"
    hide-version: yes
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "$zone"
    zonefile: "$d/$file"
EOF
}

dig_ok() {   # dig_ok NS SERVER NAME TYPE EXPECT: the answer holds EXPECT
    in_ns "$1" dig +time=1 +tries=1 +short "@$2" "$3" "$4" 2>/dev/null | grep -qxF "$5"
}
soa_ok() { in_ns pm-inet dig +time=1 +tries=1 +norec "@$1" "$2" SOA 2>/dev/null | grep -q 'status: NOERROR'; }
http_ok() {   # http_ok NS URL [STATUS [CURL OPTIONS...]]
    in_ns "$1" curl -s -o /dev/null -m 2 -w '%{http_code}' "${@:4}" "$2" 2>/dev/null | grep -qx "${3:-200}"
}
tcp_open() { in_ns "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# servers

# The edge and the origin are small JDK programs sharing one HTTP server (http/MiniHttp.java);
# compiled once (in the background while the network comes up), so they start in half a second
# and carry no compiler in memory.
COMPILE_PID=""
CLASSES=""
compile_servers_bg() {
    local src=("$HERE/edge/EdgeEmulator.java" "$HERE/origin/LabOrigin.java" "$HERE/http/MiniHttp.java")
    # One folder per version of the sources: a running server never sees its classes replaced.
    CLASSES=$LAB/classes/$(cat "${src[@]}" | sha256sum | cut -c1-16)
    [[ -e $CLASSES/.done ]] && return 0
    rm -rf "$CLASSES"
    mkdir -p "$CLASSES"
    { javac -nowarn -d "$CLASSES" "${src[@]}" && touch "$CLASSES/.done"; } >"$LAB/logs/javac.log" 2>&1 9>&- &
    COMPILE_PID=$!
}

wait_compiled() {
    [[ -n $COMPILE_PID ]] || return 0
    if ! wait "$COMPILE_PID"; then
        cat "$LAB/logs/javac.log" >&2
        die "could not compile the edge and the origin (deploy/lab/edge, deploy/lab/origin, deploy/lab/http)"
    fi
    COMPILE_PID=""
}

start_servers() {
    local n
    for n in nsd-root nsd-example nsd-ddns; do
        proc_alive "$n" || start_proc "$n" pm-inet nsd -d -c "$LAB/dns/$n.conf"
    done
    proc_alive unbound || start_proc unbound pm-inet unbound -d -c "$LAB/dns/unbound.conf"
    wait_compiled
    if [[ -e $LAB/faults/origin-down ]]; then
        log "lab: fault origin-down is active: leaving the origin stopped (lab heal origin-down)"
    else
        proc_alive origin || start_origin
    fi
    proc_alive edge || start_proc edge pm-inet java "${JAVA_OPTS[@]}" -cp "$CLASSES" EdgeEmulator \
        --bind "$EDGE4" --bind "$EDGE6" --keystore "$LAB/ca/edge.p12" --password "$KS_PASS" \
        --origin-name home.example.test --resolver "$RESOLVER4" --waf-file "$LAB/edge/waf-clients"
}

start_origin() {
    start_proc origin pm-inet java "${JAVA_OPTS[@]}" -cp "$CLASSES" LabOrigin \
        --bind "$ORIGIN4" --bind "$ORIGIN6" --keystore "$LAB/ca/origin.p12" --password "$KS_PASS"
}

wait_origin() {
    wait_proc origin 60 "the origin (logs: $LAB/logs/origin.log)" http_ok pm-inet "http://$ORIGIN4/health"
    wait_proc origin 10 "the origin on HTTPS" http_ok pm-inet "https://origin.example.test/health" 200 \
        --cacert "$LAB/ca/lab-ca.pem" --resolve "origin.example.test:443:$ORIGIN4"
}

verify_servers() {
    wait_proc nsd-root 10 "nsd for the root (logs: $LAB/logs/nsd-root*.log)" soa_ok 198.51.100.5 .
    wait_proc nsd-example 10 "nsd for example.test (logs: $LAB/logs/nsd-example*.log)" soa_ok 198.51.100.10 example.test
    wait_proc nsd-ddns 10 "nsd for ddns.test (logs: $LAB/logs/nsd-ddns*.log)" soa_ok 198.51.100.20 ddns.test
    wait_proc unbound 15 "unbound (logs: $LAB/logs/unbound.log)" dig_ok pm-inet "$RESOLVER4" origin.example.test A "$ORIGIN4"
    [[ -e $LAB/faults/origin-down ]] || wait_origin
    wait_proc edge 60 "the edge (logs: $LAB/logs/edge.log)" tcp_open pm-inet "$EDGE4" 443
    # The whole chain once, from a site as an agent sees it (not while a fault breaks it on purpose).
    if [[ -z $(ls -A "$LAB/faults" 2>/dev/null) ]]; then
        wait_proc edge 10 "the edge relaying the origin to idc" http_ok pm-idc "https://home.example.test/" 200 \
            --cacert "$LAB/ca/lab-ca.pem" --connect-to "home.example.test:443:$EDGE4:443"
        wait_for 10 "the origin over IPv6 from home" http_ok pm-home "https://origin.example.test/health" 200 \
            -6 --cacert "$LAB/ca/lab-ca.pem"
        wait_for 10 "the resolver from vps over IPv6" dig_ok pm-vps "$RESOLVER6" home.example.test A "$ORIGIN4"
    fi
}

# ---------------------------------------------------------------------------------------------
# coordinator, CLI context, agents

pm() { "$PROBEMESH" "$@" 9>&-; }

insecure() { [[ ${PROBEMESH_LAB_INSECURE:-0} == 1 ]]; }

start_coordinator() {
    mkdir -p "$LAB/coordinator"
    if ! proc_alive coordinator; then
        local extra=()
        insecure && extra=(--insecure)
        start_proc coordinator pm-inet "$PROBEMESH" coordinator --data-dir "$LAB/coordinator" \
            --listen "$COORDINATOR" --server-name 198.51.100.2 "${extra[@]}"
    fi
    wait_proc coordinator 60 "the coordinator on $COORDINATOR (logs: $LAB/logs/coordinator.log)" \
        tcp_open pm-inet 198.51.100.2 443
    if insecure; then
        pm context add lab --coordinator "$COORDINATOR" --insecure >/dev/null
    else
        wait_for 20 "the coordinator's admin credentials in $LAB/coordinator/admin" \
            test -s "$LAB/coordinator/admin/admin.crt" -a -s "$LAB/coordinator/admin/admin.key" -a -s "$LAB/coordinator/admin/ca.crt"
        pm context add lab --coordinator "$COORDINATOR" --admin-dir "$LAB/coordinator/admin" >/dev/null
    fi
    pm context use lab >/dev/null
}

start_agent() {
    local name=$1 site=${1%-*}
    local dir=$LAB/agents/$name
    proc_alive "agent-$name" && return 0
    mkdir -p "$dir"
    local auth=()
    if insecure; then
        auth=(--insecure)
    else
        # A one-time join token: used at the first start; an enrolled agent ignores it and
        # reuses its credentials (so a half-finished enrollment never leaves it stuck).
        local tok
        tok=$(pm token create --site "$site" --name "$name" --labels "role=$site" --ttl 10m --output json) \
            || die "could not create a join token for $name"
        auth=(--token "$(jq -er .token <<<"$tok")" --ca-pin "$(jq -er .caPin <<<"$tok")")
    fi
    start_proc "agent-$name" "pm-$site" "$PROBEMESH" agent --coordinator "$COORDINATOR" --name "$name" \
        --site "$site" --labels "role=$site" --data-dir "$dir" "${auth[@]}" \
        --policy "$HERE/agent-policy.yaml" --trust-ca "$LAB/ca/lab-ca.pem"
}

# Every agent connected and every cell reported (anything but MISSING).
wait_matrix() {
    local deadline=$((SECONDS + WAIT_MATRIX)) m summary last=""
    while :; do
        if m=$(pm matrix --output json 2>/dev/null) && summary=$(jq -r '
                ([.agents[] | select(.connected)] | length) as $c
                | (.cells | length) as $n
                | ([.cells[] | select(.status != "MISSING")] | length) as $r
                | "\($c) \(.agents | length) \($r) \($n) \(.checks | length)"' <<<"$m"); then
            local conn reported cells checks
            read -r conn _ reported cells checks <<<"$summary"
            local line="waiting for the first round: $conn/3 agents connected, $reported/$((3 * checks)) cells reported"
            [[ $line != "$last" ]] && log "lab: $line"
            last=$line
            if ((conn >= 3 && checks > 0 && cells >= 3 * checks && reported == cells)); then
                return 0
            fi
        else
            [[ $last == nomatrix ]] || log "lab: waiting for the coordinator to answer 'matrix'"
            last=nomatrix
        fi
        if ((SECONDS >= deadline)); then
            log "lab: timed out after ${WAIT_MATRIX}s waiting for 3 connected agents and a full matrix"
            log "lab: logs: $LAB/logs/coordinator.log, $LAB/logs/agent-*.log"
            return 1
        fi
        sleep 1
    done
}

start_probemesh() {
    [[ -x $PROBEMESH ]] || die "no probemesh launcher at $PROBEMESH (build it, or run 'lab up --no-probemesh' for the network and servers only)"
    # The launcher builds on first use: do that here, in the foreground, not inside a daemon's
    # bounded start-up wait.
    local rc=0
    pm --help >/dev/null || rc=$?
    ((rc != 10)) || die "building probemesh failed (see above)"
    start_coordinator
    pm checks apply -f "$HERE/checks.yaml" >/dev/null
    local a
    for a in "${AGENTS[@]}"; do start_agent "$a"; done
    wait_matrix
}

# ---------------------------------------------------------------------------------------------
# commands

UP_FRESH=0
up_failed() {
    local rc=$?
    trap - EXIT
    ((rc == 0)) && return 0
    log "lab: up failed (exit $rc)"
    local f
    for f in "$LAB"/logs/*.log; do
        [[ -s $f ]] || continue
        log "----- tail of $f"; tail -n 5 "$f" >&2 || true
    done
    if ((UP_FRESH)) && [[ ${PROBEMESH_LAB_KEEP:-0} != 1 ]]; then
        log "lab: tearing the half-built lab down (PROBEMESH_LAB_KEEP=1 keeps it for debugging)"
        rm -rf "$LAB.failed-logs"
        cp -r "$LAB/logs" "$LAB.failed-logs" 2>/dev/null && log "lab: its logs are kept in $LAB.failed-logs"
        teardown || true
    else
        log "lab: the lab is left as it is: 'lab up' repairs it, 'lab down' removes it"
    fi
    exit "$rc"
}

cmd_up() {
    local with_pm=1
    while (($#)); do
        case $1 in
            --no-probemesh) with_pm=0 ;;
            *) die "up: unknown option $1 (usage: lab up [--no-probemesh])" ;;
        esac
        shift
    done
    require_tools ip iptables ip6tables unbound nsd openssl java javac dig curl jq ping setsid flock
    take_lock
    ns_exists pm-core || UP_FRESH=1
    trap up_failed EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local t0=$SECONDS t0ns; t0ns=$(date +%s%N)
    mkdir -p "$LAB"/{run,logs,faults,edge,agents,coordinator}
    touch "$LAB/edge/waf-clients"
    compile_servers_bg
    setup_network
    make_certs
    write_dns_config
    start_servers
    warm_links
    verify_servers
    local ms=$((($(date +%s%N) - t0ns) / 1000000))
    log "lab: network and servers up in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
    if ((with_pm)); then
        start_probemesh
        log "lab: up in $((SECONDS - t0)) s: 3 agents connected, first round reported; try: $PROBEMESH matrix"
    fi
    trap - EXIT
}

teardown() {
    local ns pid n f
    [[ -n $COMPILE_PID ]] && kill "$COMPILE_PID" 2>/dev/null
    # Processes we started (pidfiles), then anything still running inside a lab namespace.
    # Agents first (they may report their goodbye), then everything else, all at once.
    local pids=()
    for f in "$LAB"/run/agent-*.pid "$LAB"/run/*.pid; do
        [[ -e $f ]] || continue
        n=$(basename "$f" .pid)
        pid=$(proc_pid "$n") && { kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); }
    done
    for ns in "${NAMESPACES[@]}"; do
        ns_exists "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); done
    done
    local i left
    for ((i = 0; i < 50; i++)); do
        left=0
        for pid in "${pids[@]}"; do pid_running "$pid" && { left=1; break; }; done
        ((left)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do pid_running "$pid" && kill -KILL "$pid" 2>/dev/null; done
    rm -f "$LAB"/run/*.pid
    for ns in "${NAMESPACES[@]}"; do
        ns_exists "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do pid_running "$pid" && kill -KILL "$pid" 2>/dev/null; done
    done
    # Deleting a namespace deletes its veths (and their peers) and its iptables rules.
    for ns in "${NAMESPACES[@]}"; do
        ns_exists "$ns" && ip netns del "$ns"
        rm -rf "/etc/netns/$ns"
    done
    ip link del "$HOST_IF" 2>/dev/null || true
    local p
    for p in 198.51.100.0/24 203.0.113.0/24 192.0.2.0/24; do
        ip route del blackhole "$p" metric "$BLACKHOLE_METRIC" 2>/dev/null || true
    done
    ip -6 route del blackhole 2001:db8::/32 metric "$BLACKHOLE_METRIC" 2>/dev/null || true
    rmdir /etc/netns 2>/dev/null || true
    [[ -n $LAB && $LAB != / ]] && rm -rf "$LAB"
}

cmd_down() {
    take_lock
    teardown
    log "lab: down (no pm-* namespaces, no lab routes, $LAB removed)"
}

cmd_status() {
    local ns n pid state
    echo "namespaces:"
    for ns in "${NAMESPACES[@]}"; do
        if ns_exists "$ns"; then
            printf '  %-8s present (%s processes)\n' "$ns" "$(ip netns pids "$ns" 2>/dev/null | wc -l)"
        else
            printf '  %-8s absent\n' "$ns"
        fi
    done
    echo "processes:"
    for n in nsd-root nsd-example nsd-ddns unbound origin edge coordinator agent-idc-1 agent-home-1 agent-vps-1; do
        if pid=$(proc_pid "$n"); then state="alive"
        elif [[ -e $(pidfile "$n") ]]; then read -r pid _ <"$(pidfile "$n")"; state="dead"
        else pid="-"; state="not started"; fi
        printf '  %-14s pid %-8s %s\n' "$n" "$pid" "$state"
    done
    echo "faults:"
    local any=0 f
    for f in "$LAB"/faults/*; do
        [[ -e $f ]] || continue
        any=1
        local b; b=$(basename "$f")
        printf '  %s %s\n' "${b%@*}" "$(cat "$f")"
    done
    ((any)) || echo "  none"
    ns_exists pm-core
}

# ---------------------------------------------------------------------------------------------
# faults: each in a chain of its own, so heal removes exactly what the fault added

ipt_both() { run ip netns exec "$1" iptables "${@:2}"; run ip netns exec "$1" ip6tables "${@:2}"; }

# Removes a fault chain and every jump to it, quietly when absent.
drop_chain() {
    local ns=$1 chain=$2 tool base rule
    for tool in iptables ip6tables; do
        in_ns "$ns" "$tool" -S "$chain" >/dev/null 2>&1 || continue
        for base in FORWARD INPUT OUTPUT; do
            while read -r rule; do
                [[ -n $rule ]] || continue
                # shellcheck disable=SC2086
                run ip netns exec "$ns" "$tool" ${rule/-A /-D }
            done < <(in_ns "$ns" "$tool" -S "$base" 2>/dev/null | grep -e "-j $chain\$" || true)
        done
        run ip netns exec "$ns" "$tool" -F "$chain"
        run ip netns exec "$ns" "$tool" -X "$chain"
    done
}

fault_idc_dns_blocked() {
    local c=PM-FAULT-IDC-DNS
    drop_chain pm-core "$c" >/dev/null
    # A network firewall at the IDC's edge: only TCP 80/443 and replies leave the site.
    ipt_both pm-core -N "$c"
    ipt_both pm-core -A "$c" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
    ipt_both pm-core -A "$c" -p tcp -m multiport --dports 80,443 -j RETURN
    ipt_both pm-core -A "$c" -j DROP
    ipt_both pm-core -I FORWARD -i to-idc -j "$c"
}
heal_idc_dns_blocked() { drop_chain pm-core PM-FAULT-IDC-DNS; }

fault_ddns_down() {
    local c=PM-FAULT-DDNS-DOWN
    drop_chain pm-inet "$c" >/dev/null
    # The DDNS provider's authority goes dark: its packets are dropped (they time out).
    ipt_both pm-inet -N "$c"
    ipt_both pm-inet -A "$c" -j DROP
    run ip netns exec pm-inet iptables -I INPUT -d 198.51.100.20 -j "$c"
    run ip netns exec pm-inet ip6tables -I INPUT -d 2001:db8:53::20 -j "$c"
}
heal_ddns_down() { drop_chain pm-inet PM-FAULT-DDNS-DOWN; }

fault_waf_challenge() {
    local site=$1 f=$LAB/edge/waf-clients
    # The edge challenges this site's addresses (it re-reads the file on every request).
    printf '+ echo %s >> %s\n' "${SITE_V4[$site]}" "$f"
    printf '+ echo %s >> %s\n' "${SITE_V6[$site]}" "$f"
    waf_remove "$site"
    printf '%s\n%s\n' "${SITE_V4[$site]}" "${SITE_V6[$site]}" >>"$f"
}
waf_remove() {
    local site=$1 f=$LAB/edge/waf-clients
    [[ -e $f ]] || return 0
    grep -vxF -e "${SITE_V4[$site]}" -e "${SITE_V6[$site]}" "$f" >"$f.tmp" || true
    mv "$f.tmp" "$f"
}
heal_waf_challenge() {
    local site=$1
    printf "+ sed -i -e '/^%s\$/d' -e '/^%s\$/d' %s\n" "${SITE_V4[$site]}" "${SITE_V6[$site]}" "$LAB/edge/waf-clients"
    waf_remove "$site"
}

fault_home_ipv6_broken() { run ip netns exec pm-home ip -6 route del default || true; }
heal_home_ipv6_broken() { run ip netns exec pm-home ip -6 route replace default via "${SITE_GW6[home]}"; }

fault_vps_egress_443_denied() {
    local c=PM-FAULT-VPS-443
    drop_chain pm-vps "$c" >/dev/null
    # A host firewall (ufw-like) on the VPS: outbound TCP 443 rejected, except to the coordinator.
    # REJECT in OUTPUT answers the local socket with an ICMP error from the host's own address
    # (connect fails at once; the agent reads that ICMP error: LOCAL_FIREWALL).
    ipt_both pm-vps -N "$c"
    run ip netns exec pm-vps iptables -A "$c" -d 198.51.100.2 -j RETURN
    ipt_both pm-vps -A "$c" -j REJECT
    ipt_both pm-vps -I OUTPUT -p tcp --dport 443 -j "$c"
}
heal_vps_egress_443_denied() { drop_chain pm-vps PM-FAULT-VPS-443; }

fault_origin_down() {
    local pid
    if pid=$(proc_pid origin); then
        run kill -TERM "$pid"
        local i
        for ((i = 0; i < 50; i++)); do pid_running "$pid" || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile origin)"
}
heal_origin_down() {
    proc_alive origin && return 0
    compile_servers_bg
    wait_compiled
    printf '+ ip netns exec pm-inet java -cp %s LabOrigin --bind %s --bind %s ...  (deploy/lab/origin/LabOrigin.java)\n' \
        "$CLASSES" "$ORIGIN4" "$ORIGIN6"
    start_origin
    wait_origin
}

fault_known() { local f; for f in "${FAULTS[@]}"; do [[ $f == "$1" ]] && return 0; done; return 1; }
site_known() { [[ -n ${SITE_V4[$1]:-} ]]; }

cmd_fault() {
    (($# >= 1)) || die "usage: lab fault NAME [SITE] (faults: ${FAULTS[*]})"
    local name=$1 site=${2:-}
    fault_known "$name" || die "unknown fault $name (faults: ${FAULTS[*]})"
    take_lock
    ns_exists pm-core || die "the lab is not up (lab up)"
    local marker=$LAB/faults/$name
    if [[ $name == waf-challenge ]]; then
        if [[ -z $site ]] || ! site_known "$site"; then
            die "usage: lab fault waf-challenge SITE (SITE: ${SITES[*]})"
        fi
        marker=$LAB/faults/waf-challenge@$site
    elif [[ -n $site ]]; then
        die "fault $name takes no site"
    fi
    # shellcheck disable=SC2086 # no site: no argument
    "fault_${name//-/_}" $site
    mkdir -p "$LAB/faults"
    echo "$site" >"$marker"
    log "lab: fault $name${site:+ $site} active (undo: lab heal $name)"
}

heal_one() {
    local marker=$1 base name site
    base=$(basename "$marker")
    name=${base%@*}
    site=""
    [[ $base == *@* ]] && site=${base#*@}
    # shellcheck disable=SC2086 # no site: no argument
    "heal_${name//-/_}" $site
    rm -f "$marker"
    log "lab: healed $name${site:+ $site}"
}

cmd_heal() {
    local name=${1:-} site=${2:-} f any=0
    [[ -z $name ]] || fault_known "$name" || die "unknown fault $name (faults: ${FAULTS[*]})"
    take_lock
    ns_exists pm-core || die "the lab is not up (lab up)"
    for f in "$LAB"/faults/*; do
        [[ -e $f ]] || continue
        local base; base=$(basename "$f")
        if [[ -z $name || ${base%@*} == "$name" ]]; then
            [[ -n $site && $base != *@"$site" ]] && continue
            heal_one "$f"
            any=1
        fi
    done
    ((any)) || log "lab: no active fault${name:+ named $name}"
}

usage() {
    cat >&2 <<EOF
usage: lab up [--no-probemesh] | down | status | fault NAME [SITE] | heal [NAME [SITE]]
faults: ${FAULTS[*]}  (waf-challenge takes a SITE: ${SITES[*]})
EOF
    exit 2
}

main() {
    (($# >= 1)) || usage
    local cmd=$1; shift
    case $cmd in
        up) require_root; cmd_up "$@" ;;
        down) require_root; cmd_down ;;
        status) require_root; cmd_status ;;
        fault) require_root; cmd_fault "$@" ;;
        heal) require_root; cmd_heal "$@" ;;
        -h | --help | help) usage ;;
        *) log "lab: unknown command $cmd"; usage ;;
    esac
}

main "$@"
