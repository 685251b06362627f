package dev.probemesh.e2e.bench;

import dev.probemesh.coordinator.Coordinator;
import dev.probemesh.coordinator.Diagnosis;
import dev.probemesh.coordinator.Security;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.IngestBatch;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.MatrixRequest;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.Status;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.Timings;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code matrix_query_ms} and {@code diagnose_rpc_ms}: the admin API's GetMatrix (streamed, every
 * cell) and Diagnose over real gRPC on loopback, against a coordinator whose store holds 1,000
 * agents x 200 checks (two rounds of results, one site failing one check so verdicts exist).
 * Also {@code diagnose_tick_ms}: one full correlation run of that coordinator's window
 * ({@code Diagnosis.tick}, what produces the verdicts Diagnose returns). Medians of N.
 * {@code matrix_query_cpu_ms} is the process's CPU per matrix query: server and client are
 * this one JVM, so it is both sides' cost (plus GC and whatever else the coordinator runs).
 *
 * <p>Usage: {@code MatrixBench PORT [RUNS] [AGENTS] [CHECKS]}.
 */
public final class MatrixBench {
    private MatrixBench() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        int agents = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        int checks = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        // -Dmatrix.keep=DIR keeps the filled store there (to inspect query plans); default a temp dir, removed.
        String keep = System.getProperty("matrix.keep");
        Path dir = keep != null ? Files.createDirectories(Path.of(keep)) : Files.createTempDirectory("pm-matrix-bench");
        try {
            run(dir, port, runs, agents, checks);
        } finally {
            if (keep != null) {
                return;
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void run(Path dir, int port, int runs, int agents, int checks) throws Exception {
        Clock clock = Clock.systemUTC();
        Store store = Store.openH2(dir.resolve("store"));
        List<Check> defs = new ArrayList<>();
        for (int c = 0; c < checks; c++) {
            defs.add(Check.newBuilder().setId(String.format("chk-%03d", c)).setKind("tcp")
                    .setTarget("192.0.2." + (c % 250 + 1)).setTcp(TcpParams.newBuilder().setPort(443))
                    .setFamily(Family.FAMILY_IPV4).setIntervalMs(60_000).setTimeoutMs(2_000).build());
        }
        store.applyChecks(defs, false);
        Instant now = clock.instant();
        byte[] caps = Capabilities.newBuilder().setIpv4(true).setIpv6(true).setIcmp(true).build().toByteArray();
        for (int a = 0; a < agents; a++) {
            store.upsertAgent(new AgentRow(name(a), "site-" + (a / 10), Map.of("role", "sim"), "bench", caps, now,
                    now, 0));
        }
        long t0 = System.nanoTime();
        long seqBase = 0;
        for (int round = 1; round >= 0; round--) {
            // A 60 s interval: the fill (tens of seconds here) must not make the fleet look silent.
            long observed = now.toEpochMilli() - round * 60_000L - 1_000;
            List<IngestBatch> group = new ArrayList<>();
            for (int a = 0; a < agents; a++) {
                List<ProbeResult> rs = new ArrayList<>(checks);
                for (int c = 0; c < checks; c++) {
                    // Site 0 cannot reach chk-000's target: a local path block to explain.
                    boolean fail = a < 10 && c == 0;
                    ProbeResult.Builder r = ProbeResult.newBuilder().setSeq(seqBase + c + 1)
                            .setCheckId(defs.get(c).getId()).setCheckRevision(1).setObservedAtMs(observed)
                            .setStatus(fail ? Status.STATUS_FAIL : Status.STATUS_OK)
                            .setTimings(Timings.newBuilder().setTotalUs(900 + c)).setAddress(defs.get(c).getTarget())
                            .setFamily(Family.FAMILY_IPV4).setCheckIntervalMs(60_000);
                    if (fail) {
                        r.setFailure("TIMEOUT").setDetail("connect timed out after 2000 ms");
                    }
                    rs.add(r.build());
                }
                group.add(new IngestBatch(name(a), "inc-" + a, rs, Instant.ofEpochMilli(observed + 5), 0));
                if (group.size() == 64) {
                    store.ingestMany(group);
                    group.clear();
                }
            }
            store.ingestMany(group);
            seqBase += checks;
        }
        System.out.printf("# store filled: %d agents x %d checks x 2 rounds in %d ms%n", agents, checks,
                (System.nanoTime() - t0) / 1_000_000);

        // Seen just now, as a connected fleet would be: the fill may take longer than the silence grace.
        Instant seen = clock.instant();
        List<Store.Touch> touches = new ArrayList<>();
        for (int a = 0; a < agents; a++) {
            touches.add(new Store.Touch(name(a), seen, 0));
        }
        store.touchAgents(touches);
        Coordinator coordinator = Coordinator.start(store, Security.insecure(), new Coordinator.Options(
                new InetSocketAddress("127.0.0.1", port), Duration.ofDays(7), Diagnosis.Config.defaults()), clock);
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create())
                .maxInboundMessageSize(16 << 20).build();
        try {
            var admin = AdminServiceGrpc.newBlockingStub(ch);
            var mx = ManagementFactory.getThreadMXBean();
            // Diagnosis.tick: the correlation run over the coordinator's window, timed in process.
            long[] tick = new long[runs];
            long[] tickCpu = new long[runs];
            for (int i = 0; i < runs + 3; i++) {
                long c0 = mx.getCurrentThreadCpuTime();
                long s = System.nanoTime();
                coordinator.diagnosis().tick();
                if (i >= 3) {
                    tick[i - 3] = (System.nanoTime() - s) / 1_000_000;
                    tickCpu[i - 3] = (mx.getCurrentThreadCpuTime() - c0) / 1_000_000;
                }
            }
            long[] matrix = new long[runs];
            long[] matrixCpu = new long[runs];
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cells = 0;
            for (int i = 0; i < runs + 3; i++) {
                long c0 = os.getProcessCpuTime();
                long s = System.nanoTime();
                long n = 0;
                var it = admin.withDeadlineAfter(60, TimeUnit.SECONDS).getMatrix(MatrixRequest.getDefaultInstance());
                while (it.hasNext()) {
                    n += it.next().getCellsCount();
                }
                if (i >= 3) {
                    matrix[i - 3] = (System.nanoTime() - s) / 1_000_000;
                    matrixCpu[i - 3] = (os.getProcessCpuTime() - c0) / 1_000_000;
                }
                cells = n;
            }
            long[] diag = new long[runs];
            DiagnoseResponse last = null;
            for (int i = 0; i < runs + 3; i++) {
                long s = System.nanoTime();
                last = admin.withDeadlineAfter(60, TimeUnit.SECONDS).diagnose(DiagnoseRequest.getDefaultInstance());
                if (i >= 3) {
                    diag[i - 3] = (System.nanoTime() - s) / 1_000;
                }
            }
            Arrays.sort(tick);
            Arrays.sort(tickCpu);
            Arrays.sort(matrix);
            Arrays.sort(matrixCpu);
            Arrays.sort(diag);
            System.out.printf("# matrix: %d cells streamed per query; diagnose: %d open verdicts; runs=%d "
                    + "(after 3 warmups)%n", cells, last.getVerdictsCount(), runs);
            last.getVerdictsList().stream().limit(3).forEach(v -> System.out.println("#   verdict " + v.getKind()
                    + " " + v.getSite() + " " + v.getChecksList()));
            System.out.println("matrix_cells=" + cells);
            System.out.println("matrix_query_ms=" + matrix[runs / 2]);
            System.out.println("matrix_query_cpu_ms=" + matrixCpu[runs / 2]);
            System.out.printf("diagnose_rpc_ms=%.2f%n", diag[runs / 2] / 1000.0);
            System.out.println("diagnose_tick_ms=" + tick[runs / 2]);
            System.out.println("diagnose_tick_cpu_ms=" + tickCpu[runs / 2]);
            if (cells != (long) agents * checks) {
                System.err.println("MatrixBench: expected " + (long) agents * checks + " cells, got " + cells);
                System.exit(1);
            }
        } finally {
            ch.shutdownNow();
            coordinator.close();
        }
    }

    private static String name(int a) {
        return String.format("sim-%04d", a);
    }
}
