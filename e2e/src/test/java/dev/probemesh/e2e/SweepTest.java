package dev.probemesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.probemesh.agent.Agent;
import dev.probemesh.common.check.CheckFile;
import dev.probemesh.proto.v1.ApplyChecksRequest;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.ListSweepsRequest;
import dev.probemesh.proto.v1.MatrixCell;
import dev.probemesh.proto.v1.StartSweepRequest;
import dev.probemesh.proto.v1.SweepStatus;
import dev.probemesh.proto.v1.WatchSweepRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Fleet-wide sweeps end to end: a real coordinator, 51 real agents in this JVM (25 in site a, 25
 * in site b, one in site c that leaves), and a real loopback TCP listener that counts the
 * connections it accepts, so the politeness budget is measured where a target would feel it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class SweepTest {
    static final int PER_SITE = 25;
    /** The default fleet-wide rate per target (SweepBudget.DEFAULT_RATE_PER_S). */
    static final int RATE = 20;

    Path dir;
    Mesh mesh;
    ServerSocket listener;
    Thread acceptor;
    final ConcurrentLinkedQueue<Long> accepts = new ConcurrentLinkedQueue<>();

    @BeforeAll
    void setUp() throws Exception {
        dir = Files.createTempDirectory("pmt-sweep");
        listener = new ServerSocket(0, 500, InetAddress.getLoopbackAddress());
        listener.setSoTimeout(200);
        acceptor = new Thread(() -> {
            while (!listener.isClosed()) {
                try (Socket s = listener.accept()) {
                    accepts.add(System.nanoTime());
                } catch (SocketTimeoutException e) {
                    // poll the closed flag
                } catch (java.io.IOException e) {
                    return;
                }
            }
        }, "sweep-test-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
        mesh = new Mesh(dir).startCoordinator();
        // A stored check that no agent runs on its own schedule (its selector matches no site):
        // only sweeps naming it make it run, so the listener sees sweep traffic only.
        mesh.admin().applyChecks(ApplyChecksRequest.newBuilder()
                .addChecks(tcpCheck("stored-tcp").toBuilder().putSelector("site", "nowhere")).build());
        for (int i = 0; i < PER_SITE; i++) {
            mesh.startAgent(String.format("a-%02d", i), "a");
            mesh.startAgent(String.format("b-%02d", i), "b");
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> mesh.coordinator.sessions().all().size() == 2 * PER_SITE);
    }

    @AfterAll
    void tearDown() throws Exception {
        // 51 agents closed one after another take long; they are independent, so close them together.
        mesh.agents.parallelStream().forEach(Agent::close);
        mesh.agents.clear();
        mesh.close();
        listener.close();
        acceptor.join(2_000);
    }

    Check tcpCheck(String id) throws Exception {
        return CheckFile.parse("sweep.yaml", """
                checks:
                  - id: %s
                    kind: tcp
                    target: 127.0.0.1:%d
                    interval: 60s
                    timeout: 1s
                """.formatted(id, listener.getLocalPort())).get(0);
    }

    /** Starts a sweep and follows it to its final status. */
    SweepStatus sweep(StartSweepRequest req) {
        SweepStatus started = mesh.admin().startSweep(req);
        assertThat(started.getState()).isEqualTo("RUNNING");
        SweepStatus last = started;
        Iterator<SweepStatus> it = mesh.admin().withDeadlineAfter(60, TimeUnit.SECONDS)
                .watchSweep(WatchSweepRequest.newBuilder().setId(started.getId()).build());
        while (it.hasNext()) {
            last = it.next();
        }
        return last;
    }

    /** The most connections accepted within any one second (sliding window). */
    int maxAcceptsPerSecond() {
        List<Long> t = new ArrayList<>(accepts);
        t.sort(Long::compare);
        int max = 0;
        for (int i = 0, j = 0; i < t.size(); i++) {
            while (j < t.size() && t.get(j) - t.get(i) < TimeUnit.SECONDS.toNanos(1)) {
                j++;
            }
            max = Math.max(max, j - i);
        }
        return max;
    }

    @Test
    void everySelectedAgentAnswersAndTheTargetSeesAtMostTheBudgetPerSecond() throws Exception {
        accepts.clear();
        long t0 = System.nanoTime();
        SweepStatus done = sweep(StartSweepRequest.newBuilder().addCheckIds("stored-tcp").build());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertThat(done.getState()).isEqualTo("DONE");
        assertThat(done.getCellsTotal()).isEqualTo(2 * PER_SITE);
        assertThat(done.getCellsDone()).isEqualTo(2 * PER_SITE);
        assertThat(done.getAgentsPendingList()).isEmpty();
        assertThat(done.getCellsList()).hasSize(2 * PER_SITE).allSatisfy(c -> assertThat(c.getStatus()).isEqualTo("OK"));
        // 50 probes at 20/s: a 2.5 s window, so the budget stretched the sweep.
        assertThat(done.getStretched()).isTrue();
        assertThat(done.getWindowMs()).isEqualTo(2_500);
        assertThat(accepts).hasSize(2 * PER_SITE);
        // ceil(rate) + 1 by construction; +3 for agent threads starting a little late and bunching.
        assertThat(maxAcceptsPerSecond()).isLessThanOrEqualTo(RATE + 1 + 3);
        System.out.printf("sweep of %d agents at %d/s per target: done in %d ms, max %d accepts/s%n",
                2 * PER_SITE, RATE, ms, maxAcceptsPerSecond());
    }

    @Test
    void aSiteSelectorSelectsOnlyThatSitesAgents() throws Exception {
        Check adHoc = tcpCheck("adhoc-tcp").toBuilder().setTargetRatePerS(1_000).build();
        SweepStatus done = sweep(StartSweepRequest.newBuilder().putSelector("site", "b").addChecks(adHoc).build());

        assertThat(done.getState()).isEqualTo("DONE");
        assertThat(done.getStretched()).isFalse();
        assertThat(done.getCellsList()).hasSize(PER_SITE)
                .allSatisfy(c -> assertThat(c.getAgent()).startsWith("b-"))
                .allSatisfy(c -> assertThat(c.getCheckId()).isEqualTo("adhoc-tcp"))
                .allSatisfy(c -> assertThat(c.getStatus()).isEqualTo("OK"));
        assertThat(mesh.admin().listSweeps(ListSweepsRequest.getDefaultInstance()).getSweepsList())
                .extracting(SweepStatus::getId).contains(done.getId());
    }

    @Test
    void anAgentThatLeavesMidSweepIsReportedMissingByTheDeadline() throws Exception {
        Agent leaver = mesh.startAgent("c-leaver", "c");
        await().atMost(Duration.ofSeconds(20)).until(() -> mesh.coordinator.sessions().isConnected("c-leaver"));
        // Two probes of one host at 0.5/s: the second starts 2 to 4 s after the sweep, long after the agent left.
        Check first = tcpCheck("slow-1").toBuilder().setTargetRatePerS(0.5).build();
        Check second = tcpCheck("slow-2").toBuilder().setTargetRatePerS(0.5).build();
        SweepStatus started = mesh.admin().startSweep(StartSweepRequest.newBuilder().putSelector("site", "c")
                .addChecks(first).addChecks(second).setTimeoutMs(3_000).build());
        leaver.close();
        SweepStatus last = started;
        Iterator<SweepStatus> it = mesh.admin().withDeadlineAfter(30, TimeUnit.SECONDS)
                .watchSweep(WatchSweepRequest.newBuilder().setId(started.getId()).build());
        while (it.hasNext()) {
            last = it.next();
        }

        assertThat(last.getState()).isEqualTo("EXPIRED");
        assertThat(last.getCellsTotal()).isEqualTo(2);
        assertThat(last.getCellsList()).hasSize(2);
        assertThat(last.getCellsList()).extracting(MatrixCell::getStatus).contains("MISSING");
        assertThat(last.getAgentsPendingList()).containsExactly("c-leaver");
        assertThat(last.getFinishedAtMs() - last.getStartedAtMs()).isGreaterThanOrEqualTo(3_000);
    }

    @Test
    void anUnknownCheckIdIsNotFoundAndNamesTheId() {
        assertThatThrownBy(() -> mesh.admin().startSweep(StartSweepRequest.newBuilder()
                .addCheckIds("stored-tcp").addCheckIds("no-such-check").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).contains("no-such-check").doesNotContain("stored-tcp");
                });
    }

    @Test
    void aSelectorMatchingNoConnectedAgentIsAFailedPreconditionNamingTheSites() {
        assertThatThrownBy(() -> mesh.admin().startSweep(StartSweepRequest.newBuilder()
                .putSelector("site", "nowhere").addCheckIds("stored-tcp").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("site=nowhere").contains("a, b");
                });
    }

    @Test
    void anUnknownSelectorKeyIsInvalid() {
        assertThatThrownBy(() -> mesh.admin().startSweep(StartSweepRequest.newBuilder()
                .putAllSelector(Map.of("colour", "red")).addCheckIds("stored-tcp").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("colour");
                });
    }
}
