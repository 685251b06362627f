package dev.probemesh.agent.probe.icmp;

import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.Addresses;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.ResolveException;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import java.io.IOException;
import java.io.InputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code icmp} probe: echo requests through the system's iputils {@code ping}, run as a child
 * process without a blocked thread per probe ({@link Process#onExit()}), at most
 * {@code maxConcurrent} at once (the rest wait in a queue, not on a thread). Names are resolved
 * through the agent's resolver first and the address is pinged, after the policy allowed it
 * ({@link FamilyDialer}: family rules, fallback, policy). Never {@code InetAddress.isReachable}.
 *
 * <p>Outcomes: every reply OK; some lost {@code DEGRADED PACKET_LOSS} (attributes sent, received,
 * loss_pct, rtt_avg_ms); none {@code FAIL} with TIMEOUT, or the ICMP error a router sent
 * (ADMIN_PROHIBITED for "Packet filtered"/prohibited, HOST_UNREACHABLE, NET_UNREACHABLE, with
 * {@code rejected_by}), or LOCAL_FIREWALL (sendmsg EPERM), or NO_ROUTE ("connect: Network is
 * unreachable": this host's own table). No ping binary: UNSUPPORTED.
 */
public final class IcmpProbe implements Probe {
    static final int DEFAULT_COUNT = 3;
    static final int DEFAULT_INTERVAL_MS = 200;
    /** iputils refuses shorter intervals to non-root users; keep every agent polite and portable. */
    static final int MIN_INTERVAL_MS = 200;

    private final ProbeEnv env;
    private final FamilyDialer dialer;
    private final Optional<Path> ping;
    private final int maxConcurrent;
    private final AtomicInteger running = new AtomicInteger();
    private final Queue<Runnable> waiting = new ConcurrentLinkedQueue<>();

    /**
     * @param ping the ping executable (e.g. {@code HostCapabilities.pingBinary()}); empty makes every run UNSUPPORTED
     * @param maxConcurrent ping processes allowed at once
     */
    public IcmpProbe(ProbeEnv env, FamilyDialer dialer, Optional<Path> ping, int maxConcurrent) {
        this.env = Objects.requireNonNull(env, "env");
        this.dialer = Objects.requireNonNull(dialer, "dialer");
        this.ping = Objects.requireNonNull(ping, "ping");
        if (maxConcurrent < 1) {
            throw new IllegalArgumentException("maxConcurrent must be at least 1, was " + maxConcurrent);
        }
        this.maxConcurrent = maxConcurrent;
    }

    @Override
    public CompletionStage<ProbeResult> run(Check check, long deadlineNanos) {
        long t0 = System.nanoTime();
        if (ping.isEmpty() || !Files.isExecutable(ping.get())) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.UNSUPPORTED,
                    FailureCode.UNSUPPORTED, "no ping binary on this host (install iputils-ping)"));
        }
        String host = check.getTarget().trim();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int count = check.getIcmp().getCount() == 0 ? DEFAULT_COUNT : check.getIcmp().getCount();
        int intervalMs = Math.max(MIN_INTERVAL_MS,
                check.getIcmp().getIntervalMs() == 0 ? DEFAULT_INTERVAL_MS : check.getIcmp().getIntervalMs());
        CompletionStage<List<InetAddress>> resolved;
        try {
            resolved = env.resolver().resolve(host, check.getFamily(), deadlineNanos);
        } catch (RuntimeException e) {
            resolved = CompletableFuture.failedFuture(e);
        }
        return resolved.handle((addrs, err) -> err != null
                        ? CompletableFuture.completedFuture(resolveFailed(err, t0, check))
                        : dialer.<PingOutput>dial(addrs, check.getFamily(), deadlineNanos,
                                (a, d) -> pingOnce(a, count, intervalMs, d))
                                .thenApply(o -> result(o, micros(t0), t0)))
                .thenCompose(stage -> stage)
                .exceptionally(e -> ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                        "icmp probe failed internally: " + e));
    }

    private static ProbeResult result(FamilyDialer.Outcome<PingOutput> o, long resolveUs, long t0) {
        PhaseTimings t = new PhaseTimings(resolveUs, 0, 0, 0, micros(t0));
        if (!o.connected()) {
            return o.toResult(t, "");
        }
        PingOutput p = o.value();
        Map<String, String> attrs = new LinkedHashMap<>(o.attributes());
        attrs.putAll(p.attributes());
        String addr = Addresses.text(o.address());
        if (o.status() == ProbeStatus.DEGRADED) {
            return new ProbeResult(ProbeStatus.DEGRADED, o.failure(), o.detail(), t, addr, o.family(), attrs);
        }
        String summary = p.received() + "/" + p.transmitted() + " replies from " + addr + ", rtt avg " + attrs.get("rtt_avg_ms") + " ms";
        if (p.partialLoss()) {
            return new ProbeResult(ProbeStatus.DEGRADED, FailureCode.PACKET_LOSS,
                    attrs.get("loss_pct") + "% packet loss: " + summary, t, addr, o.family(), attrs);
        }
        return ProbeResult.ok(summary, t, addr, o.family(), attrs);
    }

    /** One ping run against one address, queued behind the concurrency bound. */
    private CompletionStage<FamilyDialer.Attempt<PingOutput>> pingOnce(InetAddress a, int count, int intervalMs,
            long deadlineNanos) {
        CompletableFuture<FamilyDialer.Attempt<PingOutput>> out = new CompletableFuture<>();
        Runnable start = () -> {
            if (System.nanoTime() - deadlineNanos >= 0) {
                out.complete(new FamilyDialer.Attempt.Failure<>(FailureCode.INTERNAL,
                        "deadline passed while waiting for a free ping slot (" + maxConcurrent + " in flight)", Map.of()));
                release();
                return;
            }
            spawn(a, count, intervalMs, deadlineNanos).whenComplete((r, e) -> {
                release();
                out.complete(r != null ? r : new FamilyDialer.Attempt.Failure<>(FailureCode.INTERNAL,
                        "ping failed: " + e, Map.of()));
            });
        };
        if (running.incrementAndGet() <= maxConcurrent) {
            start.run();
        } else {
            running.decrementAndGet();
            waiting.add(start);
            drain();
        }
        return out;
    }

    private void release() {
        running.decrementAndGet();
        drain();
    }

    private void drain() {
        while (!waiting.isEmpty()) {
            if (running.incrementAndGet() > maxConcurrent) {
                running.decrementAndGet();
                return;
            }
            Runnable next = waiting.poll();
            if (next == null) {
                running.decrementAndGet();
                return;
            }
            next.run();
        }
    }

    private CompletionStage<FamilyDialer.Attempt<PingOutput>> spawn(InetAddress a, int count, int intervalMs,
            long deadlineNanos) {
        List<String> cmd = command(ping.get(), a, count, intervalMs, deadlineNanos - System.nanoTime());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return CompletableFuture.completedFuture(new FamilyDialer.Attempt.Failure<>(FailureCode.UNSUPPORTED,
                    "cannot run " + cmd.get(0) + ": " + e.getMessage(), Map.of()));
        }
        try {
            p.getOutputStream().close();
        } catch (IOException e) {
            // ping reads nothing from stdin; a failed close changes nothing
        }
        // The process's own -W/-w bound it; this is the safety net for a ping that hangs anyway.
        var killer = env.scheduler().schedule(p::destroyForcibly,
                Math.max(1, deadlineNanos - System.nanoTime()) + TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.NANOSECONDS);
        return p.onExit().thenApplyAsync(done -> {
            killer.cancel(false);
            PingOutput out = PingOutput.parse(read(done.getInputStream()));
            if (out.received() > 0) {
                return new FamilyDialer.Attempt.Success<>(out, Map.of());
            }
            FailureCode code = out.failure() == null ? FailureCode.TIMEOUT : out.failure();
            return new FamilyDialer.Attempt.Failure<PingOutput>(code, out.failureDetail() + " pinging " + Addresses.text(a),
                    out.attributes());
        }, env.scheduler());
    }

    /**
     * {@code ping -4|-6 -n -c COUNT -i INTERVAL -W WAIT ADDR}, WAIT fitted into the time left after
     * sending. No {@code -w}: with it, iputils keeps sending past COUNT while replies are missing,
     * which would skew the loss figures.
     */
    static List<String> command(Path ping, InetAddress a, int count, int intervalMs, long remainingNanos) {
        double remaining = Math.max(0.2, remainingNanos / 1e9);
        double sendTime = (count - 1) * intervalMs / 1000.0;
        double wait = Math.max(0.2, remaining - sendTime - 0.05);
        List<String> cmd = new ArrayList<>(List.of(ping.toString(), a instanceof Inet6Address ? "-6" : "-4", "-n",
                "-c", Integer.toString(count), "-i", seconds(intervalMs / 1000.0), "-W", seconds(wait)));
        cmd.add(Addresses.text(a));
        return cmd;
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.3f", s);
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static ProbeResult resolveFailed(Throwable err, long t0, Check check) {
        Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        PhaseTimings t = new PhaseTimings(micros(t0), 0, 0, 0, micros(t0));
        if (e instanceof ResolveException re) {
            return new ProbeResult(ProbeStatus.FAIL, re.code(), re.getMessage(), t, "", check.getFamily(), Map.of());
        }
        return new ProbeResult(ProbeStatus.ERROR, FailureCode.INTERNAL, "resolving failed: " + e, t, "",
                check.getFamily(), Map.of());
    }

    private static long micros(long start) {
        return TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
    }
}
