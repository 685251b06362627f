package dev.probemesh.agent.probe.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.agent.probe.net.DnsjavaAddressResolver;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The dns probe against a production resolver: Debian's unbound, started by the test on
 * 127.0.0.1 and a free port with a tiny config. It serves example.test from local-data and
 * refuses everything else locally ({@code local-zone: "." refuse}), so nothing leaves loopback.
 */
@Timeout(60)
class DnsProbeUnboundTest {
    private static final Path UNBOUND = Path.of("/usr/sbin/unbound");
    @TempDir
    static Path dir;
    private static Process unbound;
    private static int port;
    private static ScheduledExecutorService scheduler;
    private static ExecutorService callbacks;
    private static DnsTransport transport;
    private static DnsProbe probe;

    @BeforeAll
    static void startUnbound() throws Exception {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        if (!ci) {
            dev.probemesh.testing.RootLab.requireThat(Files.isExecutable(UNBOUND), "unbound is not installed (apt-get install unbound)");
        }
        scheduler = Executors.newSingleThreadScheduledExecutor();
        callbacks = Executors.newFixedThreadPool(2);
        transport = new DnsTransport(scheduler, callbacks);
        probe = new DnsProbe(new ProbeEnv(scheduler, DnsjavaAddressResolver.system(transport, () -> false),
                DestinationPolicy.allowAll(), List.of()), transport, List::of);

        StringBuilder big = new StringBuilder();
        for (int i = 1; i <= 40; i++) {
            big.append("  local-data: \"big.example.test. 5 IN A 203.0.113.").append(i).append("\"\n");
        }
        for (int attempt = 0; attempt < 5 && unbound == null; attempt++) {
            port = freePort();
            Path conf = dir.resolve("unbound.conf");
            Files.writeString(conf, """
                    server:
                      interface: 127.0.0.1
                      port: %d
                      do-daemonize: no
                      username: ""
                      chroot: ""
                      directory: "%s"
                      pidfile: "%s/unbound.pid"
                      use-syslog: no
                      logfile: ""
                      verbosity: 1
                      do-ip6: no
                      num-threads: 1
                      access-control: 127.0.0.0/8 allow
                      module-config: "iterator"
                      local-zone: "." refuse
                      local-zone: "example.test." static
                      local-data: "origin.example.test. 5 IN A 203.0.113.10"
                      local-data: "origin.example.test. 5 IN AAAA 2001:db8:113::10"
                      local-data: 'text.example.test. 5 IN TXT "hello probemesh"'
                    %s
                    remote-control:
                      control-enable: no
                    """.formatted(port, dir, dir, big));
            Process p = new ProcessBuilder(UNBOUND.toString(), "-d", "-c", conf.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("unbound.log").toFile()).start();
            if (ready(p)) {
                unbound = p;
            } else {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        assertThat(unbound).as("unbound did not start: " + Files.readString(dir.resolve("unbound.log"))).isNotNull();
    }

    @AfterAll
    static void stopUnbound() throws Exception {
        if (unbound != null) {
            unbound.destroy();
            if (!unbound.waitFor(5, TimeUnit.SECONDS)) {
                unbound.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (transport != null) {
            transport.close();
            callbacks.shutdownNow();
            scheduler.shutdownNow();
        }
    }

    /** Ready when it answers a query for its own data (bounded: 5 s). */
    private static boolean ready(Process p) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < until && p.isAlive()) {
            ProbeResult r = run(DnsParams.newBuilder(), "origin.example.test", 300);
            if (r.status() == ProbeStatus.OK) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    private static int freePort() throws IOException {
        for (int i = 0; i < 20; i++) {
            try (DatagramSocket u = new DatagramSocket(0, InetAddress.getLoopbackAddress());
                    ServerSocket t = new ServerSocket(u.getLocalPort(), 1, InetAddress.getLoopbackAddress())) {
                return u.getLocalPort();
            } catch (IOException e) {
                // that TCP port is taken: try another
            }
        }
        throw new IOException("no free UDP+TCP port on loopback");
    }

    private static ProbeResult run(DnsParams.Builder p, String name, long timeoutMs) throws Exception {
        Check check = Check.newBuilder().setId("u").setKind("dns").setTarget(name).setFamily(Family.FAMILY_IPV4)
                .setDns(p.setResolver("127.0.0.1:" + port).setRecursionDesired(true)).build();
        return probe.run(check, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "{1} {0} over {2}")
    @CsvSource({
        "origin.example.test, A, udp, 203.0.113.10",
        "origin.example.test, A, tcp, 203.0.113.10",
        "origin.example.test, AAAA, udp, 2001:db8:113::10",
        "origin.example.test, AAAA, tcp, 2001:db8:113::10",
        "text.example.test, TXT, udp, '\"hello probemesh\"'",
    })
    void answersFromARealResolver(String name, String type, String via, String answer) throws Exception {
        ProbeResult r = run(DnsParams.newBuilder().setTransport(via).setQtype(type), name, 2000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("rcode", "NOERROR").containsEntry("transport", via)
                .containsEntry("answers", answer).containsEntry("ttl_min", "5");
    }

    @ParameterizedTest
    @ValueSource(strings = {"udp", "tcp"})
    void reportsNegativeAnswersOfARealResolver(String via) throws Exception {
        ProbeResult nx = run(DnsParams.newBuilder().setTransport(via), "missing.example.test", 2000);
        ProbeResult nodata = run(DnsParams.newBuilder().setTransport(via).setQtype("MX"), "origin.example.test", 2000);
        ProbeResult refused = run(DnsParams.newBuilder().setTransport(via), "elsewhere.org", 2000);

        assertThat(nx.failure()).as(nx.detail()).isEqualTo(FailureCode.DNS_NXDOMAIN);
        assertThat(nodata.failure()).as(nodata.detail()).isEqualTo(FailureCode.DNS_NODATA);
        assertThat(refused.failure()).as(refused.detail()).isEqualTo(FailureCode.DNS_REFUSED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"udp", "tcp"})
    void checksExpectationsAgainstARealResolver(String via) throws Exception {
        ProbeResult match = run(DnsParams.newBuilder().setTransport(via).addExpectAddresses("203.0.113.10"),
                "origin.example.test", 2000);
        ProbeResult mismatch = run(DnsParams.newBuilder().setTransport(via).addExpectAddresses("203.0.113.99"),
                "origin.example.test", 2000);

        assertThat(match.status()).as(match.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(mismatch.failure()).as(mismatch.detail()).isEqualTo(FailureCode.DNS_UNEXPECTED_ANSWER);
    }

    @org.junit.jupiter.api.Test
    void fallsBackToTcpWhenTheRealResolverTruncates() throws Exception {
        ProbeResult r = run(DnsParams.newBuilder().setTransport("udp"), "big.example.test", 2000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("transport", "tcp");
        assertThat(r.attributes().get("answers").split(",")).hasSize(40);
        assertThat(r.detail()).contains("truncated over udp");
    }
}
