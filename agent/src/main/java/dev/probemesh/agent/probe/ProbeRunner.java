package dev.probemesh.agent.probe;

import dev.probemesh.common.check.CheckKind;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.ProbeResult.Builder;
import dev.probemesh.proto.v1.Timings;
import java.time.Clock;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one check: asks the local gate (policy: allowed kinds, rate ceilings) first, dispatches to
 * the probe of its kind, enforces the deadline even on a probe that forgets it, and turns the
 * outcome into a wire result (without its seq, which the buffer assigns).
 */
public final class ProbeRunner {
    private static final Logger log = LoggerFactory.getLogger(ProbeRunner.class);
    /** Grace past the deadline before the runner gives up on a probe that did not complete. */
    private static final long GRACE_MS = 500;

    /** Decides whether a run may start; empty = go, else the rule that refused it. */
    @FunctionalInterface
    public interface Gate {
        Optional<String> refuse(Check check, long nowNanos);

        static Gate open() {
            return (c, n) -> Optional.empty();
        }
    }

    private final Map<CheckKind, Probe> probes;
    private final Gate gate;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;

    public ProbeRunner(Map<CheckKind, Probe> probes, Gate gate, ScheduledExecutorService scheduler, Clock clock) {
        this.probes = new EnumMap<>(probes);
        this.gate = gate;
        this.scheduler = scheduler;
        this.clock = clock;
    }

    /** Runs the check once; the stage always completes (never exceptionally), by the deadline plus a grace. */
    public CompletionStage<Builder> run(Check check, String sweepId) {
        long startMs = clock.millis();
        long now = System.nanoTime();
        Optional<CheckKind> kind = CheckKind.fromWire(check.getKind());
        if (kind.isEmpty()) {
            return done(check, sweepId, startMs, ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "unknown probe kind \"" + check.getKind() + "\" (this agent knows " + CheckKind.allWireNames() + ")"));
        }
        Probe probe = probes.get(kind.get());
        if (probe == null) {
            return done(check, sweepId, startMs, ProbeResult.refused(ProbeStatus.UNSUPPORTED, FailureCode.UNSUPPORTED,
                    "this agent has no " + check.getKind() + " probe"));
        }
        Optional<String> refused = gate.refuse(check, now);
        if (refused.isPresent()) {
            return done(check, sweepId, startMs,
                    ProbeResult.refused(ProbeStatus.FAIL, FailureCode.POLICY_DENIED, refused.get()));
        }
        long deadline = now + TimeUnit.MILLISECONDS.toNanos(check.getTimeoutMs());
        CompletableFuture<ProbeResult> out = new CompletableFuture<>();
        var watchdog = scheduler.schedule(() -> out.complete(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                "probe did not complete within its " + check.getTimeoutMs() + " ms deadline")),
                check.getTimeoutMs() + GRACE_MS, TimeUnit.MILLISECONDS);
        try {
            probe.run(check, deadline).whenComplete((r, err) -> {
                watchdog.cancel(false);
                if (err != null) {
                    log.warn("probe {} failed internally", check.getId(), err);
                    out.complete(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                            "internal error: " + err));
                } else {
                    out.complete(r);
                }
            });
        } catch (RuntimeException e) {
            watchdog.cancel(false);
            log.warn("probe {} threw", check.getId(), e);
            out.complete(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL, "internal error: " + e));
        }
        return out.thenApply(r -> toWire(check, sweepId, startMs, r));
    }

    private static CompletionStage<Builder> done(Check check, String sweepId, long startMs, ProbeResult r) {
        return CompletableFuture.completedFuture(toWire(check, sweepId, startMs, r));
    }

    static Builder toWire(Check check, String sweepId, long startMs, ProbeResult r) {
        PhaseTimings t = r.timings();
        Builder b = dev.probemesh.proto.v1.ProbeResult.newBuilder()
                .setCheckId(check.getId())
                .setCheckRevision(check.getRevision())
                .setObservedAtMs(startMs)
                .setStatus(r.status().toProto())
                .setFailure(r.failure() == null ? "" : r.failure().name())
                .setDetail(r.detail().length() > 512 ? r.detail().substring(0, 512) : r.detail())
                .setTimings(Timings.newBuilder().setResolveUs(t.resolveUs()).setConnectUs(t.connectUs())
                        .setTlsUs(t.tlsUs()).setFirstByteUs(t.firstByteUs()).setTotalUs(t.totalUs()))
                .setAddress(r.address())
                .setFamily(r.family())
                .putAllAttributes(r.attributes())
                .setCheckIntervalMs(check.getIntervalMs());
        if (sweepId != null) {
            b.setSweepId(sweepId);
        }
        return b;
    }
}
