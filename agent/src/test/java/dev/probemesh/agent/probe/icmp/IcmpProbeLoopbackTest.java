package dev.probemesh.agent.probe.icmp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.HostCapabilities;
import dev.probemesh.agent.probe.net.TestResolvers;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.IcmpParams;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The icmp probe with the real ping binary against loopback. */
@Timeout(30)
class IcmpProbeLoopbackTest {
    private static final HostCapabilities DUAL = new HostCapabilities(true, true, true, "iputils ping", Optional.empty());
    private static ScheduledExecutorService scheduler;
    private static HostCapabilities host;

    @BeforeAll
    static void start() {
        scheduler = Executors.newScheduledThreadPool(2);
        host = HostCapabilities.detect();
    }

    @AfterAll
    static void stop() {
        scheduler.shutdownNow();
    }

    private static IcmpProbe probe(DestinationPolicy policy, Optional<Path> ping, int maxConcurrent) {
        ProbeEnv env = new ProbeEnv(scheduler, TestResolvers.literalsOnly(), policy, List.of());
        return new IcmpProbe(env, new FamilyDialer(policy, () -> DUAL), ping, maxConcurrent);
    }

    private static CompletableFuture<ProbeResult> run(IcmpProbe p, String target) {
        Check c = Check.newBuilder().setId("p").setKind("icmp").setTarget(target).setFamily(Family.FAMILY_ANY)
                .setTimeoutMs(3000).setIcmp(IcmpParams.newBuilder().setCount(2)).build();
        return p.run(c, System.nanoTime() + TimeUnit.SECONDS.toNanos(3)).toCompletableFuture();
    }

    @Test
    void reportsOkWithRoundTripsWhenLoopbackAnswers() {
        dev.probemesh.testing.RootLab.requireThat(host.icmp(), "no working ping on this machine (apt-get install iputils-ping)");
        ProbeResult r = run(probe(DestinationPolicy.allowAll(), host.pingBinary(), 4), "127.0.0.1").join();
        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.address()).isEqualTo("127.0.0.1");
        assertThat(r.attributes()).containsEntry("sent", "2").containsEntry("received", "2")
                .containsEntry("loss_pct", "0").containsKey("rtt_avg_ms");
    }

    @Test
    void queuesBeyondTheConcurrencyBoundInsteadOfFailing() {
        dev.probemesh.testing.RootLab.requireThat(host.icmp(), "no working ping on this machine (apt-get install iputils-ping)");
        IcmpProbe p = probe(DestinationPolicy.allowAll(), host.pingBinary(), 1);
        List<CompletableFuture<ProbeResult>> runs = List.of(run(p, "127.0.0.1"), run(p, "127.0.0.2"), run(p, "127.0.0.3"));
        for (CompletableFuture<ProbeResult> r : runs) {
            assertThat(r.join().status()).as(r.join().detail()).isEqualTo(ProbeStatus.OK);
        }
    }

    @Test
    void isUnsupportedWithoutAPingBinary() {
        ProbeResult r = run(probe(DestinationPolicy.allowAll(), Optional.of(Path.of("/nonexistent/ping")), 4),
                "127.0.0.1").join();
        assertThat(r.status()).isEqualTo(ProbeStatus.UNSUPPORTED);
        assertThat(r.failure()).isEqualTo(FailureCode.UNSUPPORTED);
    }

    @Test
    void neverPingsADeniedAddress() {
        DestinationPolicy deny = a -> Optional.of("denied by rule 127.0.0.0/8 (loopback)");
        ProbeResult r = run(probe(deny, host.pingBinary().or(() -> Optional.of(Path.of("/usr/bin/ping"))), 4),
                "127.0.0.1").join();
        assertThat(r.failure()).isEqualTo(FailureCode.POLICY_DENIED);
        assertThat(r.detail()).contains("127.0.0.0/8");
    }

    @Test
    void buildsAPingCommandThatFitsTheDeadline() throws Exception {
        List<String> cmd = IcmpProbe.command(Path.of("/usr/bin/ping"), InetAddress.getByName("2001:db8::1"), 3, 200,
                TimeUnit.SECONDS.toNanos(2));
        assertThat(cmd).containsExactly("/usr/bin/ping", "-6", "-n", "-c", "3", "-i", "0.200", "-W", "1.550",
                "2001:db8::1");
    }
}
