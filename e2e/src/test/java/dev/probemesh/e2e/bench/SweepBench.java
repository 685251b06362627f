package dev.probemesh.e2e.bench;

import dev.probemesh.coordinator.Coordinator;
import dev.probemesh.coordinator.Diagnosis;
import dev.probemesh.coordinator.Security;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.StartSweepRequest;
import dev.probemesh.proto.v1.SweepStatus;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.WatchSweepRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code sweep_1000x50_s} (issue 7): a sweep of 1,000 simulated agents x 50 checks on loopback,
 * from StartSweep to the final status of WatchSweep, over real gRPC against a coordinator with a
 * real store (every answer is committed before it counts). No budget stretch: each check has its
 * own target and a per-check target rate high enough that 1,000 probes start within the budget's
 * unstretched second. The simulated agents answer each check as soon as its budget delay has
 * passed (they do not probe), so the figure is the coordinator's and the protocol's overhead.
 *
 * <p>Usage: {@code SweepBench PORT [AGENTS] [CHECKS] [PROBE_TIMEOUT_MS] [RUNS]}.
 */
public final class SweepBench {
    private SweepBench() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int agents = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int checks = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        int timeoutMs = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        int runs = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        Path dir = Files.createTempDirectory("pm-sweep-bench");
        Coordinator coordinator = Coordinator.start(Store.openH2(dir.resolve("store")), Security.insecure(),
                new Coordinator.Options(new InetSocketAddress("127.0.0.1", port), Duration.ofDays(7),
                        Diagnosis.Config.defaults()), Clock.systemUTC());
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create())
                .maxInboundMessageSize(64 << 20).build();
        // Twice the fleet per second: 1,000 starts spread over half a second, inside the unstretched second.
        double rate = agents * 2.0;
        StartSweepRequest.Builder req = StartSweepRequest.newBuilder();
        for (int c = 0; c < checks; c++) {
            req.addChecks(Check.newBuilder().setId(String.format("sweep-%02d", c)).setKind("tcp")
                    .setTarget("127.0.0." + (c + 2)).setTcp(TcpParams.newBuilder().setPort(443))
                    .setFamily(Family.FAMILY_IPV4).setIntervalMs(60_000).setTimeoutMs(timeoutMs)
                    .setTargetRatePerS(rate));
        }
        int failures = 0;
        try (SimAgents fleet = new SimAgents(new SimAgents.Options("127.0.0.1", port, agents, Math.max(1, agents / 10),
                4, 2, checks, 500, 10_000, "sw"))) {
            fleet.connect();
            if (!fleet.awaitWelcomed(60_000)) {
                throw new IllegalStateException("only " + fleet.welcomedCount() + " agents welcomed; "
                        + fleet.lastError());
            }
            var admin = AdminServiceGrpc.newBlockingStub(ch);
            // Sweep 0 is cold: the JIT is cold and every (agent, check) series is new to the store.
            // It is reported on its own; the figure is the median of the warm sweeps after it.
            double[] secs = new double[runs];
            double cold = 0;
            for (int i = -1; i < runs; i++) {
                // Bounded: the previous sweep's late answers are committed before the next starts.
                fleet.awaitAcked(fleet.sweepAnswers(), 60_000);
                long t0 = System.nanoTime();
                SweepStatus started = admin.withDeadlineAfter(30, TimeUnit.SECONDS).startSweep(req.build());
                if (Boolean.getBoolean("sweep.trace")) {
                    Thread tr = new Thread(() -> {
                        for (int k = 0; k < 40; k++) {
                            System.out.printf("# trace %.2f s: run-nows %d, answers %d, acked %d%n",
                                    (System.nanoTime() - t0) / 1e9, fleet.runNowsReceived(), fleet.sweepAnswers(),
                                    fleet.ackedResults());
                            try {
                                Thread.sleep(250);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    });
                    tr.setDaemon(true);
                    tr.start();
                }
                SweepStatus last = started;
                var it = admin.withDeadlineAfter(120, TimeUnit.SECONDS)
                        .watchSweep(WatchSweepRequest.newBuilder().setId(started.getId()).build());
                while (it.hasNext()) {
                    last = it.next();
                }
                double took = (System.nanoTime() - t0) / 1e9;
                if (i < 0) {
                    cold = took;
                } else {
                    secs[i] = took;
                }
                long missing = last.getCellsList().stream().filter(c -> c.getStatus().equals("MISSING")).count();
                System.out.printf("# sweep %s: %s, %d/%d cells, %d missing, window %d ms%s, %.2f s from StartSweep "
                        + "to the final status (coordinator: %d ms)%n", last.getId(), last.getState(),
                        last.getCellsDone(), last.getCellsTotal(), missing, last.getWindowMs(),
                        last.getStretched() ? " STRETCHED" : " (not stretched)", took,
                        last.getFinishedAtMs() - last.getStartedAtMs());
                System.out.printf("#   fleet: %d run-nows received, %d sweep answers queued, %d results acked, %d broken "
                        + "streams %s%n", fleet.runNowsReceived(), fleet.sweepAnswers(), fleet.ackedResults(),
                        fleet.brokenStreams(), fleet.lastError());
                if (i >= 0 && (!last.getState().equals("DONE") || last.getStretched())) {
                    failures++;
                }
            }
            java.util.Arrays.sort(secs);
            System.out.printf("# %d simulated agents (insecure mode: hello names, no mTLS) x %d ad-hoc tcp checks, "
                    + "each its own target at %.0f probes/s (raised out of the budget's way); median of %d after a cold one%n",
                    agents, checks, rate, runs);
            System.out.printf("sweep_1000x50_s=%.2f%n", secs[runs / 2]);
            System.out.printf("sweep_1000x50_cold_s=%.2f%n", cold);
            System.out.printf("sweep_probe_timeout_s=%.1f%n", timeoutMs / 1000.0);
            System.out.printf("sweep_goal_s=%.1f%n", timeoutMs / 1000.0 + 2);
        } finally {
            ch.shutdownNow();
            coordinator.close();
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        if (failures > 0) {
            System.err.println("SweepBench: " + failures + " sweep(s) did not finish DONE unstretched");
            System.exit(1);
        }
    }
}
