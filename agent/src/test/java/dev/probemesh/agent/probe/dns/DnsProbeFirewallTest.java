package dev.probemesh.agent.probe.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.agent.probe.net.DnsjavaAddressResolver;
import dev.probemesh.agent.testing.TestDnsServer;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How the dns probe reports a resolver path blocked by this host's own firewall or rejected on
 * the way: a rule in the host's OUTPUT chain, scoped to loopback, the test server's port and a
 * comment naming this test, removed afterwards even when the test fails.
 */
@Timeout(30)
class DnsProbeFirewallTest {
    private static ScheduledExecutorService scheduler;
    private static ExecutorService callbacks;
    private static DnsTransport transport;

    @BeforeAll
    static void start() {
        RootLab.require();
        scheduler = Executors.newSingleThreadScheduledExecutor();
        callbacks = Executors.newFixedThreadPool(2);
        transport = new DnsTransport(scheduler, callbacks);
    }

    @AfterAll
    static void stop() {
        if (transport != null) {
            transport.close();
            callbacks.shutdownNow();
            scheduler.shutdownNow();
        }
    }

    /**
     * Only UDP gets EPERM from a dropping OUTPUT rule at once; Linux ignores the error of a
     * TCP SYN's transmission and keeps retrying, so the connect times out (DNS_TIMEOUT).
     */
    @ParameterizedTest(name = "{0} with OUTPUT {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "udp | -j DROP | LOCAL_FIREWALL",
        "tcp | -j DROP | DNS_TIMEOUT",
        "tcp | -j REJECT --reject-with tcp-reset | REFUSED",
    })
    void reportsThisHostsFirewallOnTheWayToTheResolver(String via, String target, FailureCode expected) throws Exception {
        try (TestDnsServer dns = TestDnsServer.start()) {
            dns.a("origin.example.test", "203.0.113.10");
            String comment = "pmt-dns-" + UUID.randomUUID().toString().substring(0, 8);
            List<String> rule = new ArrayList<>(List.of("OUTPUT", "-o", "lo", "-d", "127.0.0.1", "-p", via,
                    "--dport", Integer.toString(dns.port()), "-m", "comment", "--comment", comment));
            rule.addAll(List.of(target.trim().split("\\s+")));
            iptables("-A", rule);
            try {
                DnsProbe probe = new DnsProbe(new ProbeEnv(scheduler, DnsjavaAddressResolver.system(transport, () -> false),
                        DestinationPolicy.allowAll(), List.of()), transport, List::of);
                Check check = Check.newBuilder().setId("fw").setKind("dns").setTarget("origin.example.test")
                        .setFamily(Family.FAMILY_IPV4)
                        .setDns(DnsParams.newBuilder().setResolver(dns.hostPort()).setTransport(via).setRecursionDesired(true))
                        .build();

                ProbeResult r = probe.run(check, System.nanoTime() + TimeUnit.SECONDS.toNanos(2))
                        .toCompletableFuture().get(10, TimeUnit.SECONDS);

                assertThat(r.failure()).as(r.detail()).isEqualTo(expected);
                assertThat(r.detail()).contains(dns.hostPort());
                assertThat(dns.queries()).isEmpty();
            } finally {
                iptables("-D", rule);
            }
        }
    }

    private static void iptables(String op, List<String> rule) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "5", op));
        cmd.addAll(rule);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    }
}
