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
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
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
        TcpConnector connector = new TcpConnector();
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
            Run warm = drive(probe, check, inFlight, Math.min(3, Math.max(1, seconds / 5)), maxCount / 4);
            System.out.println("# warmup " + kind + ": " + warm.done + " runs, " + warm.ok + " ok");
            OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            Run r = drive(probe, check, inFlight, seconds, maxCount);
            long cpuNanos = os.getProcessCpuTime() - cpu0;
            double perS = r.done / (r.nanos / 1e9);
            System.out.println("# " + kind + " target=" + target + " in_flight=" + inFlight + " runs=" + r.done
                    + " ok=" + r.ok + " not_ok=" + (r.done - r.ok) + " statuses=" + r.statuses
                    + " elapsed_s=" + String.format("%.2f", r.nanos / 1e9) + " cpu_s=" + String.format("%.2f", cpuNanos / 1e9));
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

    /**
     * Keeps {@code inFlight} runs outstanding until {@code seconds} pass or {@code maxCount} runs
     * were started, then waits (bounded) for the outstanding ones.
     */
    private static Run drive(Probe probe, Check check, int inFlight, long seconds, long maxCount)
            throws InterruptedException {
        Semaphore slots = new Semaphore(inFlight);
        AtomicLong done = new AtomicLong();
        AtomicLong ok = new AtomicLong();
        ConcurrentHashMap<ProbeStatus, AtomicLong> statuses = new ConcurrentHashMap<>();
        String[] firstNotOk = new String[1];
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        long started = 0;
        while (started < maxCount && System.nanoTime() < end) {
            if (!slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                continue;
            }
            started++;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(check.getTimeoutMs());
            probe.run(check, deadline).whenComplete((ProbeResult res, Throwable err) -> {
                if (err == null && res.status() == ProbeStatus.OK) {
                    ok.incrementAndGet();
                } else if (firstNotOk[0] == null) {
                    firstNotOk[0] = err != null ? err.toString() : res.status() + " " + res.failure() + " " + res.detail();
                }
                if (res != null) {
                    statuses.computeIfAbsent(res.status(), s -> new AtomicLong()).incrementAndGet();
                }
                done.incrementAndGet();
                slots.release();
            });
        }
        // Drain the runs still in flight (each has a 2 s deadline), bounded.
        slots.tryAcquire(inFlight, 5, TimeUnit.SECONDS);
        long nanos = System.nanoTime() - start;
        return new Run(done.get(), ok.get(), nanos, statuses, firstNotOk[0]);
    }
}
