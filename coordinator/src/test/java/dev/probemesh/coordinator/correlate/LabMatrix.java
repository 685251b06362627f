package dev.probemesh.coordinator.correlate;

import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.DnsTraceParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.HttpParams;
import dev.probemesh.proto.v1.TcpParams;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A synthetic matrix builder over the lab of DESIGN.md: sites idc, home, vps with agents idc-1,
 * home-1, vps-1 and the 13 default checks. Every cell starts green for {@link #ROUNDS} rounds of
 * 5 s ending at {@code now}; faults overwrite cells the way the lab's probes would report them.
 */
final class LabMatrix {
    static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
    static final int ROUNDS = 3;
    static final long INTERVAL_MS = 5_000;
    static final List<String> AGENTS = List.of("idc-1", "home-1", "vps-1");

    record Cell(List<ProbeStatus> statuses, String failure, Map<String, String> attrs, String detail) { }

    private final Instant now;
    private final Map<String, AgentView> agents = new LinkedHashMap<>();
    private final List<CheckView> checks = new ArrayList<>();
    private final Map<String, Cell> cells = new LinkedHashMap<>();

    private LabMatrix(Instant now) {
        this.now = now;
    }

    static LabMatrix healthy() {
        return healthy(NOW);
    }

    static LabMatrix healthy(Instant now) {
        LabMatrix m = new LabMatrix(now);
        for (String a : AGENTS) {
            m.agent(a, a.substring(0, a.indexOf('-')), Map.of());
        }
        labChecks().forEach(c -> m.checks.add(CheckView.from(c)));
        for (String a : AGENTS) {
            for (CheckView c : m.checks) {
                m.ok(a, c.id());
            }
        }
        return m;
    }

    static List<Check> labChecks() {
        List<Check> l = new ArrayList<>();
        l.add(base("icmp-resolver-v4", "icmp", "198.51.100.53", Family.FAMILY_IPV4).build());
        l.add(base("icmp-origin-v6", "icmp", "2001:db8:113::10", Family.FAMILY_IPV6).build());
        l.add(dns("dns-origin-udp", "origin.example.test", "198.51.100.53", "udp", "A", Family.FAMILY_IPV4,
                "203.0.113.10"));
        l.add(dns("dns-origin-tcp", "origin.example.test", "198.51.100.53", "tcp", "A", Family.FAMILY_IPV4,
                "203.0.113.10"));
        l.add(dns("dns-origin-v6", "origin.example.test", "2001:db8:53::53", "udp", "AAAA", Family.FAMILY_IPV6,
                "2001:db8:113::10"));
        l.add(dns("dns-home-udp", "home.example.test", "198.51.100.53", "udp", "A", Family.FAMILY_IPV4, null));
        l.add(dns("dns-nas-udp", "nas.example.test", "198.51.100.53", "udp", "A", Family.FAMILY_IPV4, null));
        l.add(base("trace-home", "dns-trace", "home.example.test", Family.FAMILY_IPV4)
                .setDnsTrace(DnsTraceParams.newBuilder().addRootServers("198.51.100.5")).build());
        l.add(base("tcp-origin-443-v4", "tcp", "203.0.113.10", Family.FAMILY_IPV4)
                .setTcp(TcpParams.newBuilder().setPort(443)).build());
        l.add(base("tcp-origin-443-v6", "tcp", "[2001:db8:113::10]:443", Family.FAMILY_IPV6)
                .setTcp(TcpParams.newBuilder().setPort(443)).build());
        l.add(base("https-origin-v4", "https", "https://origin.example.test/health", Family.FAMILY_IPV4)
                .setHttp(HttpParams.newBuilder()).build());
        l.add(base("https-origin-v6", "https", "https://origin.example.test/health", Family.FAMILY_IPV6)
                .setHttp(HttpParams.newBuilder()).build());
        l.add(base("https-home-edge", "https", "https://home.example.test/", Family.FAMILY_IPV4)
                .setHttp(HttpParams.newBuilder().setConnectTo("203.0.113.80")).build());
        return l;
    }

    private static Check.Builder base(String id, String kind, String target, Family f) {
        return Check.newBuilder().setId(id).setKind(kind).setTarget(target).setFamily(f)
                .setIntervalMs((int) INTERVAL_MS).setTimeoutMs(2000);
    }

    private static Check dns(String id, String name, String resolver, String transport, String qtype, Family f,
                             String expect) {
        DnsParams.Builder d = DnsParams.newBuilder().setResolver(resolver).setTransport(transport).setQtype(qtype);
        if (expect != null) {
            d.addExpectAddresses(expect);
        }
        return base(id, "dns", name, f).setDns(d).build();
    }

    // ------------------------------------------------------------------ shaping

    LabMatrix agent(String name, String site, Map<String, String> labels) {
        agents.put(name, new AgentView(name, site, labels, true, now, true, true));
        return this;
    }

    LabMatrix capabilities(String agent, boolean ipv6, boolean icmp) {
        AgentView a = agents.get(agent);
        agents.put(agent, new AgentView(a.name(), a.site(), a.labels(), a.connected(), a.lastSeen(), ipv6, icmp));
        return this;
    }

    LabMatrix disconnect(String agent) {
        AgentView a = agents.get(agent);
        agents.put(agent, new AgentView(a.name(), a.site(), a.labels(), false, now.minusSeconds(60), true, true));
        return this;
    }

    /** The agent's results stopped arriving some minutes ago (still marked connected). */
    LabMatrix quietSince(String agent, Duration ago) {
        for (CheckView c : checks) {
            Cell cell = cells.get(agent + "|" + c.id());
            if (cell != null) {
                cells.put(agent + "|" + c.id() + "|shift", new Cell(cell.statuses(), cell.failure(), cell.attrs(),
                        String.valueOf(ago.toMillis())));
            }
        }
        return this;
    }

    LabMatrix check(Check c) {
        checks.add(CheckView.from(c));
        return this;
    }

    LabMatrix ok(String agent, String check) {
        return set(agent, check, List.of(ProbeStatus.OK), null, okAttrs(agent, check), null);
    }

    LabMatrix fail(String agent, String check, String failure) {
        return fail(agent, check, failure, Map.of());
    }

    LabMatrix fail(String agent, String check, String failure, Map<String, String> attrs) {
        Map<String, String> all = new LinkedHashMap<>(okAttrs(agent, check));
        all.putAll(attrs);
        return set(agent, check, List.of(ProbeStatus.FAIL), failure, all, failure.toLowerCase());
    }

    LabMatrix failEverywhere(String check, String failure, Map<String, String> attrs) {
        for (String a : agents.keySet()) {
            fail(a, check, failure, attrs);
        }
        return this;
    }

    LabMatrix degraded(String agent, String check, String failure, Map<String, String> attrs) {
        return set(agent, check, List.of(ProbeStatus.DEGRADED), failure, attrs, "degraded");
    }

    /** Explicit rounds, oldest first; missing rounds are not sent. */
    LabMatrix rounds(String agent, String check, List<ProbeStatus> statuses, String failure) {
        return set(agent, check, statuses, failure, okAttrs(agent, check), null);
    }

    LabMatrix set(String agent, String check, List<ProbeStatus> statuses, String failure, Map<String, String> attrs,
                  String detail) {
        cells.put(agent + "|" + check, new Cell(List.copyOf(statuses), failure, Map.copyOf(attrs), detail));
        return this;
    }

    LabMatrix remove(String agent, String check) {
        cells.remove(agent + "|" + check);
        return this;
    }

    private static Map<String, String> okAttrs(String agent, String check) {
        return switch (check) {
            case "https-origin-v4" -> Map.of("address", "203.0.113.10", "http_status", "200");
            case "https-origin-v6" -> Map.of("address", "2001:db8:113::10", "http_status", "200");
            case "trace-home" -> Map.of("chain", "home.example.test,myhome.ddns.test",
                    "zones", "test,example.test,ddns.test");
            default -> Map.of();
        };
    }

    // ------------------------------------------------------------------ reading

    List<AgentView> agents() {
        return List.copyOf(agents.values());
    }

    List<CheckView> checks() {
        return List.copyOf(checks);
    }

    /** One result per round; with one status given, that status for every round. */
    List<Observation> observations() {
        List<Observation> out = new ArrayList<>();
        for (var e : cells.entrySet()) {
            String[] k = e.getKey().split("\\|");
            if (k.length == 3) {
                continue;
            }
            Cell c = e.getValue();
            Cell shift = cells.get(e.getKey() + "|shift");
            long shiftMs = shift == null ? 0 : Long.parseLong(shift.detail());
            List<ProbeStatus> st = c.statuses().size() == 1 ? java.util.Collections.nCopies(ROUNDS, c.statuses().get(0))
                    : c.statuses();
            for (int i = 0; i < st.size(); i++) {
                Instant at = now.minusMillis(shiftMs + (st.size() - 1 - i) * INTERVAL_MS);
                ProbeStatus s = st.get(i);
                String failure = s == ProbeStatus.OK ? null : c.failure();
                out.add(new Observation(k[0], k[1], s, failure, s == ProbeStatus.OK ? "ok" : c.detail(),
                        c.attrs(), at));
            }
        }
        return out;
    }

    CorrelationResult correlate() {
        return correlate(CorrelationConfig.defaults());
    }

    CorrelationResult correlate(CorrelationConfig cfg) {
        return new Correlator().correlate(agents(), checks(), observations(), now, cfg);
    }
}
