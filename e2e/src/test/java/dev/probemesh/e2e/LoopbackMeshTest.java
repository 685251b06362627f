package dev.probemesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.probemesh.agent.Agent;
import dev.probemesh.agent.testing.TestDnsServer;
import dev.probemesh.common.check.CheckFile;
import dev.probemesh.proto.v1.ApplyChecksRequest;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.ListAgentsRequest;
import dev.probemesh.proto.v1.ListChecksRequest;
import dev.probemesh.proto.v1.MatrixCell;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Rcode;

/**
 * A real coordinator and two real agents on loopback, probing a real TCP listener, a closed port
 * and a real DNS responder over UDP and TCP; the matrix must show exactly what each probe saw.
 */
@Timeout(120)
class LoopbackMeshTest {
    @TempDir
    Path dir;

    Mesh mesh;
    TestDnsServer dns;
    ServerSocket listener;
    int closedPort;

    @BeforeEach
    void setUp() throws Exception {
        dns = TestDnsServer.start(InetAddress.getLoopbackAddress())
                .a("origin.example.test", "127.0.0.1")
                .rcode("broken.example.test", Rcode.SERVFAIL);
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        mesh = new Mesh(dir).startCoordinator();
    }

    @AfterEach
    void tearDown() throws Exception {
        mesh.close();
        dns.close();
        listener.close();
    }

    List<Check> checks() throws Exception {
        return CheckFile.parse("test.yaml", """
                defaults: {interval: 1s, timeout: 800ms}
                checks:
                  - id: tcp-open
                    kind: tcp
                    target: 127.0.0.1:%d
                  - id: tcp-closed
                    kind: tcp
                    target: 127.0.0.1:%d
                  - id: dns-udp
                    kind: dns
                    target: origin.example.test
                    dns: {resolver: "127.0.0.1:%d", transport: udp, type: A, expect-addresses: [127.0.0.1]}
                  - id: dns-tcp
                    kind: dns
                    target: origin.example.test
                    dns: {resolver: "127.0.0.1:%d", transport: tcp, type: A}
                  - id: dns-servfail
                    kind: dns
                    target: broken.example.test
                    dns: {resolver: "127.0.0.1:%d"}
                """.formatted(listener.getLocalPort(), closedPort, dns.port(), dns.port(), dns.port()));
    }

    @Test
    void twoAgentsFillTheMatrixWithWhatTheirProbesSaw() throws Exception {
        mesh.startAgent("a-1", "alpha");
        mesh.startAgent("b-1", "beta");
        mesh.admin().applyChecks(ApplyChecksRequest.newBuilder().addAllChecks(checks()).build());

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Map<String, MatrixCell> m = mesh.matrix();
            assertThat(m).hasSize(10);
            assertThat(m.values()).allSatisfy(c -> assertThat(c.getStatus()).isNotEqualTo("MISSING"));
        });
        Map<String, MatrixCell> m = mesh.matrix();
        for (String agent : List.of("a-1", "b-1")) {
            assertThat(m.get(agent + "|tcp-open").getStatus()).isEqualTo("OK");
            assertThat(m.get(agent + "|tcp-closed").getStatus()).isEqualTo("FAIL");
            assertThat(m.get(agent + "|tcp-closed").getFailure()).isEqualTo("REFUSED");
            assertThat(m.get(agent + "|dns-udp").getStatus()).isEqualTo("OK");
            assertThat(m.get(agent + "|dns-tcp").getStatus()).isEqualTo("OK");
            assertThat(m.get(agent + "|dns-servfail").getFailure()).isEqualTo("DNS_SERVFAIL");
        }
        assertThat(dns.count("origin.example.test", "tcp")).isPositive();
        var agents = mesh.admin().listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList();
        assertThat(agents).extracting(a -> a.getName() + "@" + a.getSite() + ":" + a.getConnected())
                .containsExactlyInAnyOrder("a-1@alpha:true", "b-1@beta:true");
    }

    @Test
    void restartedAgentWithoutBufferHasItsNewResultsKept() throws Exception {
        mesh.admin().applyChecks(ApplyChecksRequest.newBuilder().addAllChecks(checks().subList(0, 1)).build());
        Agent first = mesh.startAgent("a-1", "alpha");
        await().atMost(Duration.ofSeconds(20)).until(() -> first.buffer().ackedUpTo() >= 2);
        String firstIncarnation = first.buffer().incarnation();
        first.close();
        mesh.agents.remove(first);
        long before = mesh.coordinator.store().countResults();

        Agent second = mesh.startAgent("a-1", "alpha");
        assertThat(second.buffer().incarnation()).isNotEqualTo(firstIncarnation);
        // The new incarnation starts again at seq 1: those results must be stored, not taken for duplicates.
        await().atMost(Duration.ofSeconds(20)).until(() -> second.buffer().ackedUpTo() >= 2);
        assertThat(mesh.coordinator.store().countResults()).isGreaterThanOrEqualTo(before + 2);
        assertThat(mesh.coordinator.store().highWaterMark("a-1", second.buffer().incarnation())).isGreaterThanOrEqualTo(2);
    }

    @Test
    void coordinatorRestartOnTheSameDataDirKeepsAgentsChecksAndResults() throws Exception {
        mesh.admin().applyChecks(ApplyChecksRequest.newBuilder().addAllChecks(checks()).build());
        Agent a = mesh.startAgent("a-1", "alpha");
        // Every check's first result committed (five acked results need not include tcp-closed's).
        await().atMost(Duration.ofSeconds(20)).until(() -> mesh.matrix().values().stream()
                .filter(c -> !c.getStatus().equals("MISSING")).count() == 5);
        a.close();
        mesh.agents.clear();
        long results = mesh.coordinator.store().countResults();
        mesh.stopCoordinator();

        mesh.startCoordinator();
        assertThat(mesh.admin().listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList())
                .extracting(x -> x.getName() + ":" + x.getConnected()).containsExactly("a-1:false");
        assertThat(mesh.admin().listChecks(ListChecksRequest.getDefaultInstance()).getChecksList())
                .extracting(c -> c.getId() + "@" + c.getRevision())
                .containsExactlyInAnyOrder("tcp-open@1", "tcp-closed@1", "dns-udp@1", "dns-tcp@1", "dns-servfail@1");
        assertThat(mesh.coordinator.store().countResults()).isEqualTo(results);
        // The stored latest result, not the matrix cell: with 1 s intervals a slow restart on a loaded
        // machine makes the cell stale (MISSING, as it should), which says nothing about the store.
        List<String> latest = new java.util.ArrayList<>();
        mesh.coordinator.store().forEachLatest(r -> latest.add(r.agent() + "|" + r.checkId() + "=" + r.failure()));
        assertThat(latest).contains("a-1|tcp-closed=REFUSED");
    }
}
