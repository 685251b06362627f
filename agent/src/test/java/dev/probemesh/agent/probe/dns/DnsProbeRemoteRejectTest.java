package dev.probemesh.agent.probe.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.agent.probe.net.DnsjavaAddressResolver;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.testing.RootLab;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A resolver address inside a namespace this test creates (pmt-dns-*, 203.0.113.254 over a veth
 * from 203.0.113.253), with no DNS server and rules on the namespace's INPUT chain: the errors
 * come back from a remote kernel as ICMP, as they do from a real resolver or router.
 */
@Timeout(60)
class DnsProbeRemoteRejectTest {
    private static final String RESOLVER = "203.0.113.254";
    private static final String suffix = UUID.randomUUID().toString().substring(0, 6);
    private static final String NS = "pmt-dns-" + suffix;
    private static final String HOST_IF = "pmtd" + suffix + "h";
    private static final String NS_IF = "pmtd" + suffix + "n";
    private static ScheduledExecutorService scheduler;
    private static ExecutorService callbacks;
    private static DnsTransport transport;
    private static boolean created;

    @BeforeAll
    static void createNamespace() throws Exception {
        RootLab.require();
        created = true;
        sh("ip", "netns", "add", NS);
        sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF);
        sh("ip", "link", "set", NS_IF, "netns", NS);
        sh("ip", "addr", "add", "203.0.113.253/30", "dev", HOST_IF);
        sh("ip", "link", "set", HOST_IF, "up");
        sh("ip", "netns", "exec", NS, "ip", "addr", "add", RESOLVER + "/30", "dev", NS_IF);
        sh("ip", "netns", "exec", NS, "ip", "link", "set", NS_IF, "up");
        sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up");
        scheduler = Executors.newSingleThreadScheduledExecutor();
        callbacks = Executors.newFixedThreadPool(2);
        transport = new DnsTransport(scheduler, callbacks);
    }

    @AfterAll
    static void deleteNamespace() throws Exception {
        if (transport != null) {
            transport.close();
            callbacks.shutdownNow();
            scheduler.shutdownNow();
        }
        if (created) {
            run("ip", "netns", "del", NS); // takes the veth pair with it
            run("ip", "link", "del", HOST_IF);
        }
    }

    @AfterEach
    void flushRules() throws Exception {
        run("ip", "netns", "exec", NS, "iptables", "-w", "5", "-F", "INPUT");
    }

    /**
     * Linux reports only "hard" ICMP errors to a connected UDP socket (port unreachable,
     * admin-prohibited as EHOSTUNREACH); host and net unreachable are soft errors it keeps to
     * itself without IP_RECVERR (which Java cannot set), so over UDP they read as a timeout.
     */
    @ParameterizedTest(name = "{0} with INPUT ''{1}'' -> {2}")
    @CsvSource(delimiter = '|', value = {
        "udp | | REFUSED",
        "tcp | | REFUSED",
        "udp | -j REJECT --reject-with icmp-host-unreachable | DNS_TIMEOUT",
        "udp | -j REJECT --reject-with icmp-admin-prohibited | HOST_UNREACHABLE",
        "udp | -j DROP | DNS_TIMEOUT",
        "tcp | -j DROP | DNS_TIMEOUT",
    })
    void reportsWhatTheResolversHostSaid(String via, String target, FailureCode expected) throws Exception {
        if (target != null && !target.isBlank()) {
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS, "iptables", "-w", "5", "-A", "INPUT",
                    "-p", via, "--dport", "53"));
            cmd.addAll(List.of(target.trim().split("\\s+")));
            sh(cmd.toArray(String[]::new));
        }
        ProbeResult r = probe(via);

        assertThat(r.failure()).as(r.detail()).isEqualTo(expected);
        assertThat(r.attributes()).containsEntry("resolver", RESOLVER + ":53");
    }

    /** The UDP sockets to a resolver outlive one run; a route that disappears later must still show. */
    @ParameterizedTest
    @ValueSource(strings = {"udp", "tcp"})
    void reportsNoRouteWhenTheRouteToTheResolverGoes(String via) throws Exception {
        assertThat(probe(via).failure()).isEqualTo(FailureCode.REFUSED); // sockets made, route present
        sh("ip", "route", "add", "unreachable", RESOLVER + "/32");
        try {
            ProbeResult r = probe(via);

            assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.NO_ROUTE);
        } finally {
            run("ip", "route", "del", "unreachable", RESOLVER + "/32");
        }
    }

    private static ProbeResult probe(String via) throws Exception {
        DnsProbe probe = new DnsProbe(new ProbeEnv(scheduler, DnsjavaAddressResolver.system(transport, () -> false),
                DestinationPolicy.allowAll(), List.of()), transport, List::of);
        Check check = Check.newBuilder().setId("remote").setKind("dns").setTarget("origin.example.test")
                .setFamily(Family.FAMILY_IPV4)
                .setDns(DnsParams.newBuilder().setResolver(RESOLVER).setTransport(via).setRecursionDesired(true))
                .build();
        return probe.run(check, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static void sh(String... cmd) throws Exception {
        String out = run(cmd);
        if (out != null) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    /** Null on success, else the output. */
    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? null : out;
    }
}
