package dev.probemesh.coordinator.correlate;

import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.HttpParams;
import dev.probemesh.proto.v1.TcpParams;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Benchmark (not a test): one full correlation over a synthetic fleet of 1,000 agents (100 sites
 * of 10) x 200 checks, 3 rounds per cell (600,000 observations), with faults: 5 sites with DNS
 * blocked, one target down everywhere, one site with IPv6 broken, loss at one site.
 * Prints {@code diagnose_ms=<median>}. Run: java -cp <test classpath> ...CorrelateBench [runs] [rounds]
 */
public final class CorrelateBench {
    private static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
    private static final long IV = 10_000;

    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        List<AgentView> agents = new ArrayList<>();
        for (int a = 0; a < 1000; a++) {
            agents.add(new AgentView("agent-" + a, "site-" + (a / 10), Map.of(), true, NOW, true, true));
        }
        List<CheckView> checks = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int t = i / 4;
            String ip = "203.0.113." + (t + 1);
            String name = "svc" + t + ".example.test";
            Check c = switch (i % 4) {
                case 0 -> Check.newBuilder().setId("icmp-" + t).setKind("icmp").setTarget(ip)
                        .setFamily(Family.FAMILY_IPV4).build();
                case 1 -> Check.newBuilder().setId("tcp-" + t).setKind("tcp").setTarget(ip)
                        .setTcp(TcpParams.newBuilder().setPort(443)).setFamily(Family.FAMILY_IPV4).build();
                case 2 -> Check.newBuilder().setId("dns-" + t).setKind("dns").setTarget(name)
                        .setDns(DnsParams.newBuilder().setResolver("198.51.100.53").addExpectAddresses(ip))
                        .setFamily(Family.FAMILY_IPV4).build();
                default -> Check.newBuilder().setId("https-" + t).setKind("https").setTarget("https://" + name + "/")
                        .setHttp(HttpParams.newBuilder()).setFamily(t % 2 == 0 ? Family.FAMILY_IPV4
                                : Family.FAMILY_IPV6).build();
            };
            checks.add(CheckView.from(c.toBuilder().setIntervalMs((int) IV).build()));
        }
        List<Observation> obs = new ArrayList<>(1000 * 200 * rounds);
        for (AgentView a : agents) {
            int site = Integer.parseInt(a.site().substring(5));
            for (CheckView c : checks) {
                ProbeStatus st = ProbeStatus.OK;
                String code = null;
                Map<String, String> attrs = Map.of();
                if (site < 5 && (c.kind().equals("dns") || c.kind().equals("https"))) {
                    st = ProbeStatus.FAIL;
                    code = "DNS_TIMEOUT";
                } else if (c.target().equals("203.0.113.8") && c.kind().equals("tcp")) {
                    st = ProbeStatus.FAIL;
                    code = "REFUSED";
                } else if (site == 7 && c.family().equals("ipv6")) {
                    st = ProbeStatus.FAIL;
                    code = "NET_UNREACHABLE";
                } else if (site == 9 && c.kind().equals("icmp")) {
                    st = ProbeStatus.DEGRADED;
                    code = "PACKET_LOSS";
                    attrs = Map.of("loss_pct", "20");
                }
                for (int r = 0; r < rounds; r++) {
                    obs.add(new Observation(a.name(), c.id(), st, st == ProbeStatus.OK ? null : code, null, attrs,
                            NOW.minusMillis(r * IV)));
                }
            }
        }
        Correlator correlator = new Correlator();
        CorrelationConfig cfg = CorrelationConfig.defaults();
        CorrelationResult last = null;
        for (int i = 0; i < 5; i++) {
            last = correlator.correlate(agents, checks, obs, NOW, cfg);
        }
        // wall time is what the integrator waits; CPU time of this thread is reported too because
        // the build machine is shared and wall time there includes waiting for a core
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long[] ms = new long[runs];
        long[] cpu = new long[runs];
        for (int i = 0; i < runs; i++) {
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            last = correlator.correlate(agents, checks, obs, NOW, cfg);
            ms[i] = (System.nanoTime() - t0) / 1_000_000;
            cpu[i] = (mx.getCurrentThreadCpuTime() - c0) / 1_000_000;
        }
        Arrays.sort(ms);
        Arrays.sort(cpu);
        System.out.println("agents=" + agents.size() + " checks=" + checks.size() + " observations=" + obs.size()
                + " findings=" + last.findings().size() + " runs=" + runs);
        last.findings().stream().map(f -> f.kind() + " " + f.site() + " " + f.component() + " " + f.target())
                .distinct().limit(12).forEach(System.out::println);
        System.out.println("cpu_ms=" + cpu[runs / 2] + " min_ms=" + ms[0]);
        System.out.println("diagnose_ms=" + ms[runs / 2]);
    }
}
