package dev.probemesh.e2e.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.dns.DnsProbe;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.agent.probe.net.DnsjavaAddressResolver;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.HostCapabilities;
import dev.probemesh.agent.probe.net.TcpConnector;
import dev.probemesh.agent.probe.tcp.TcpProbe;
import dev.probemesh.agent.probe.tcp.TlsHandshaker;
import dev.probemesh.agent.probe.tls.TlsProbe;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.TcpParams;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark (not a test): the agent's real DNS and TCP probes, built the way {@code Agent} builds
 * them (one scheduler thread, the shared {@link DnsTransport} and {@link TcpConnector}), driven
 * with a fixed number of runs in flight against a loopback target for a bounded time and count.
 * The probes are called directly, so the agent's rate ceilings and politeness budget (enforced by
 * its runner and gate, above the probes) are out of the way: this measures the probes' own
 * throughput. Prints {@code agent_<kind>_probes_per_s} and {@code agent_<kind>_cpu_ms_per_1k}
 * (process CPU time, all threads). Run by {@code bench/run}:
 * {@code java -cp <e2e test classpath> dev.probemesh.e2e.bench.ProbeBench dns|tcp HOST:PORT SECONDS [IN_FLIGHT] [MAX_COUNT]}.
 */
public final class ProbeBench {
    private static final int WARMUP_MIN_S = 3;
    private static final int WARMUP_MAX_S = 20;
    private static final long JIT_QUIET_MS = 50;

    private ProbeBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ProbeBench dns|tcp HOST:PORT SECONDS [IN_FLIGHT] [MAX_COUNT]");
            System.exit(2);
        }
        String kind = args[0];
        String target = args[1];
        long seconds = Long.parseLong(args[2]);
        int inFlight = args.length > 3 ? Integer.parseInt(args[3]) : 256;
        long maxCount = args.length > 4 ? Long.parseLong(args[4]) : 20_000_000L;

        ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "bench-scheduler");
            t.setDaemon(true);
            return t;
        });
        DnsTransport dns = new DnsTransport(scheduler, scheduler);
        TcpConnector connector = new TcpConnector(scheduler);
        EventLoopGroup netty = TlsProbe.newGroup("bench-netty");
        // Loopback only: the bench's targets are local, and nothing else may be reached.
        DestinationPolicy loopbackOnly = a -> a.isLoopbackAddress() ? Optional.empty()
                : Optional.of("deny " + a.getHostAddress() + " (bench: loopback only)");
        HostCapabilities caps = HostCapabilities.detect();
        ProbeEnv env = new ProbeEnv(scheduler, DnsjavaAddressResolver.system(dns, () -> false), loopbackOnly, List.of());
        Probe probe;
        Check check;
        if (kind.equals("dns")) {
            int colon = target.lastIndexOf(':');
            probe = DnsProbe.withSystemResolver(env, dns);
            check = Check.newBuilder().setId("bench-dns").setKind("dns").setTarget("bench.test")
                    .setFamily(Family.FAMILY_IPV4).setTimeoutMs(2000)
                    .setDns(DnsParams.newBuilder().setResolver(target.substring(0, colon))
                            .setPort(Integer.parseInt(target.substring(colon + 1))).setTransport("udp")
                            .setRecursionDesired(true).addExpectAddresses("127.0.0.1"))
                    .build();
        } else if (kind.equals("tcp")) {
            probe = new TcpProbe(env, connector, new FamilyDialer(loopbackOnly, () -> caps),
                    new TlsHandshaker(netty, List.of()));
            check = Check.newBuilder().setId("bench-tcp").setKind("tcp").setTarget(target)
                    .setFamily(Family.FAMILY_IPV4).setTimeoutMs(2000).setTcp(TcpParams.getDefaultInstance()).build();
        } else {
            throw new IllegalArgumentException("kind must be dns or tcp: " + kind);
        }
        try {
            // Warm up the JIT and the transport's sockets, then measure.
            // Warm up until the JIT compilers go quiet (an agent runs for days: its steady state is
            // compiled code), at least 3 s and at most 20 s: on a busy 2-core machine C2 can still
            // be compiling long after a fixed short warmup, and its CPU would count per probe.
            var jit = ManagementFactory.getCompilationMXBean();
            long warmRuns = 0;
            long warmOk = 0;
            int warmSecs = 0;
            long quietFor = 0;
            while (warmSecs < WARMUP_MAX_S && warmRuns < maxCount / 4) {
                long j0 = jit.getTotalCompilationTime();
                Run warm = drive(probe, check, scheduler, inFlight, 1, maxCount / 4);
                warmRuns += warm.done;
                warmOk += warm.ok;
                warmSecs++;
                quietFor = jit.getTotalCompilationTime() - j0 < JIT_QUIET_MS ? quietFor + 1 : 0;
                if (warmSecs >= WARMUP_MIN_S && quietFor >= 2) {
                    break;
                }
            }
            System.out.println("# warmup " + kind + ": " + warmRuns + " runs, " + warmOk + " ok, " + warmSecs
                    + " s (until the JIT compiled less than " + JIT_QUIET_MS + " ms a second, 2 s running; max "
                    + WARMUP_MAX_S + " s)");
            OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long[] ticks0 = userSysTicks();
            long jit0 = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
            Run r = drive(probe, check, scheduler, inFlight, seconds, maxCount);
            long cpuNanos = os.getProcessCpuTime() - cpu0;
            long[] ticks1 = userSysTicks();
            long jitMs = ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jit0;
            double perS = r.done / (r.nanos / 1e9);
            System.out.println("# " + kind + " target=" + target + " in_flight=" + inFlight + " runs=" + r.done
                    + " ok=" + r.ok + " not_ok=" + (r.done - r.ok) + " statuses=" + r.statuses
                    + " elapsed_s=" + String.format("%.2f", r.nanos / 1e9) + " cpu_s=" + String.format("%.2f", cpuNanos / 1e9));
            if (ticks0 != null && ticks1 != null && r.done > 0) {
                // The kernel's share: on loopback most of a TCP connect's cost is the kernel's.
                System.out.println("# " + kind + " cpu split (/proc/self/stat): user_ms_per_1k="
                        + String.format("%.1f", (ticks1[0] - ticks0[0]) * 10.0 / (r.done / 1000.0))
                        + " sys_ms_per_1k=" + String.format("%.1f", (ticks1[1] - ticks0[1]) * 10.0 / (r.done / 1000.0))
                        + " jit_compiler_ms=" + jitMs);
            }
            if (r.firstNotOk != null) {
                System.out.println("# first not-ok " + kind + ": " + r.firstNotOk);
            }
            System.out.println("agent_" + kind + "_probes_per_s=" + Math.round(perS));
            System.out.println("agent_" + kind + "_ok_probes_per_s=" + Math.round(r.ok / (r.nanos / 1e9)));
            System.out.println("agent_" + kind + "_cpu_ms_per_1k="
                    + String.format("%.1f", r.done == 0 ? 0.0 : cpuNanos / 1e6 / (r.done / 1000.0)));
        } finally {
            dns.close();
            connector.close();
            netty.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            scheduler.shutdownNow();
        }
    }

    private record Run(long done, long ok, long nanos, ConcurrentHashMap<ProbeStatus, AtomicLong> statuses,
            String firstNotOk) {
    }

    /** utime and stime of this process in clock ticks (USER_HZ, 100 on Linux), or null off Linux. */
    private static long[] userSysTicks() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the command name (which may hold spaces) start after the last ')'.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Keeps {@code inFlight} runs outstanding until {@code seconds} pass or {@code maxCount} runs
     * were started, then waits (bounded) for the outstanding ones. Runs start on the scheduler
     * thread, as the agent's check scheduler starts them: each finished run queues the start of
     * the next one there (no extra thread, no per-run wakeup of a driving thread).
     */
    private static Run drive(Probe probe, Check check, ScheduledExecutorService scheduler, int inFlight,
            long seconds, long maxCount) throws InterruptedException {
        Driver d = new Driver(probe, check, scheduler, System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds),
                maxCount, inFlight);
        long start = System.nanoTime();
        scheduler.execute(() -> {
            for (int i = 0; i < inFlight; i++) {
                d.startOne();
            }
        });
        // Every run has a 2 s deadline: the last ones finish within seconds + 2 (bounded wait).
        if (!d.finished.await(seconds + 10, TimeUnit.SECONDS)) {
            System.out.println("# " + d.outstanding.get() + " runs still in flight after the bounded wait");
        }
        long nanos = System.nanoTime() - start;
        return new Run(d.done.get(), d.ok.get(), nanos, d.statuses, d.firstNotOk);
    }

    /** The driving loop's state; {@code startOne} runs on the scheduler thread only. */
    private static final class Driver {
        final Probe probe;
        final Check check;
        final ScheduledExecutorService scheduler;
        final long end;
        final long maxCount;
        final AtomicLong outstanding;
        final AtomicLong done = new AtomicLong();
        final AtomicLong ok = new AtomicLong();
        final ConcurrentHashMap<ProbeStatus, AtomicLong> statuses = new ConcurrentHashMap<>();
        final CountDownLatch finished = new CountDownLatch(1);
        long started;
        volatile String firstNotOk;

        Driver(Probe probe, Check check, ScheduledExecutorService scheduler, long end, long maxCount, int inFlight) {
            this.probe = probe;
            this.check = check;
            this.scheduler = scheduler;
            this.end = end;
            this.maxCount = maxCount;
            this.outstanding = new AtomicLong(inFlight);
        }

        void startOne() {
            if (started >= maxCount || System.nanoTime() - end >= 0) {
                if (outstanding.decrementAndGet() == 0) {
                    finished.countDown();
                }
                return;
            }
            started++;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(check.getTimeoutMs());
            CompletionStage<ProbeResult> stage;
            try {
                stage = probe.run(check, deadline);
            } catch (RuntimeException e) {
                stage = CompletableFuture.failedFuture(e);
            }
            stage.whenComplete((ProbeResult res, Throwable err) -> {
                if (err == null && res.status() == ProbeStatus.OK) {
                    ok.incrementAndGet();
                } else if (firstNotOk == null) {
                    firstNotOk = err != null ? err.toString() : res.status() + " " + res.failure() + " " + res.detail();
                }
                if (res != null) {
                    statuses.computeIfAbsent(res.status(), s -> new AtomicLong()).incrementAndGet();
                }
                done.incrementAndGet();
                try {
                    scheduler.execute(this::startOne);
                } catch (RejectedExecutionException e) {
                    if (outstanding.decrementAndGet() == 0) {
                        finished.countDown();
                    }
                }
            });
        }
    }
}
