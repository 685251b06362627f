package dev.probemesh.coordinator.store;

import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.Status;
import dev.probemesh.proto.v1.Timings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Ingest throughput on the embedded H2 store, the way the coordinator drives it: many agents'
 * batches group-committed through one writer ({@link Store#ingestMany}). Not a test: a bounded
 * main that prints {@code store_ingest_results_per_s=N}.
 *
 * <p>Arguments (all optional): agents (1000), checks per agent (200), results per batch (50),
 * batches per commit (256, as the coordinator's ingest writer groups at most), total results
 * (1,000,000). Run with: {@code java -cp <test-classes:classes:deps>
 * dev.probemesh.coordinator.store.StoreIngestBench}.
 */
public final class StoreIngestBench {
    public static void main(String[] args) throws Exception {
        int agents = arg(args, 0, 1000);
        int checks = arg(args, 1, 200);
        int perBatch = arg(args, 2, 50);
        int batchesPerCommit = arg(args, 3, 256);
        long total = arg(args, 4, 1_000_000);
        // Measure the steady state: every (agent, check) series exists (as after the first
        // round of a running fleet) and the JIT has warmed up.
        long warmup = Math.min(Math.max(100_000L, (long) agents * checks), total / 2);

        Path dir = Files.createTempDirectory("pm-store-bench");
        long[] seqs = new long[agents];
        int[] nextCheck = new int[agents];
        long t0 = Instant.parse("2026-11-22T00:00:00Z").toEpochMilli();
        // -Dstore.url=... overrides the URL (e.g. to compare H2 settings); ${dir} is the data dir.
        String url = System.getProperty("store.url");
        try (Store store = url == null ? Store.openH2(dir)
                : Store.open(url.replace("${dir}", dir.toString()), "sa", "")) {
            long ingested = 0;
            long measured = 0;
            long nanos = 0;
            long cpuStart = 0;
            int agent = 0;
            while (ingested < total) {
                List<IngestBatch> group = new ArrayList<>(batchesPerCommit);
                for (int b = 0; b < batchesPerCommit; b++) {
                    List<ProbeResult> results = new ArrayList<>(perBatch);
                    for (int i = 0; i < perBatch; i++) {
                        long seq = ++seqs[agent];
                        int check = nextCheck[agent]++ % checks;
                        results.add(result(seq, check, t0 + seq * 50));
                    }
                    group.add(new IngestBatch("agent-" + agent, "inc-" + agent, results,
                            Instant.ofEpochMilli(t0 + seqs[agent] * 50 + 20), 3));
                    agent = (agent + 1) % agents;
                }
                long start = System.nanoTime();
                List<IngestOutcome> out = store.ingestMany(group);
                long took = System.nanoTime() - start;
                int n = out.stream().mapToInt(IngestOutcome::inserted).sum();
                if (n != batchesPerCommit * perBatch) {
                    throw new IllegalStateException("inserted " + n);
                }
                ingested += n;
                if (ingested > warmup) {
                    if (measured == 0) {
                        cpuStart = processCpuNanos();
                    }
                    measured += n;
                    nanos += took;
                }
            }
            long cpu = processCpuNanos() - cpuStart;
            long rows = store.countResults();
            double perS = measured / (nanos / 1e9);
            System.out.printf("agents=%d checks=%d results_per_batch=%d batches_per_commit=%d "
                    + "rows=%d measured=%d seconds=%.2f%n", agents, checks, perBatch,
                    batchesPerCommit, rows, measured, nanos / 1e9);
            // The machine may be shared: results per CPU-second of this process (every thread,
            // H2's included) tells the store's cost apart from the neighbours' load.
            System.out.println("store_ingest_results_per_cpu_s=" + Math.round(measured / (cpu / 1e9)));
            System.out.println("store_ingest_results_per_s=" + Math.round(perS));
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static ProbeResult result(long seq, int check, long observedAt) {
        boolean ok = seq % 10 != 0;
        ProbeResult.Builder b = ProbeResult.newBuilder()
                .setSeq(seq)
                .setCheckId("check-" + check)
                .setCheckRevision(1)
                .setObservedAtMs(observedAt)
                .setStatus(ok ? Status.STATUS_OK : Status.STATUS_FAIL)
                .setTimings(Timings.newBuilder().setTotalUs(1_000 + seq % 5_000).build())
                .setAddress("203.0.113.10")
                .setFamily(Family.FAMILY_IPV4)
                .putAttributes("rtt_ms", "1.2")
                .putAttributes("rcode", "NOERROR")
                .setCheckIntervalMs(10_000);
        if (!ok) {
            b.setFailure("TIMEOUT").setDetail("connect timed out after 2000 ms");
        }
        return b.build();
    }

    private static int arg(String[] args, int i, int dflt) {
        return args.length > i ? Integer.parseInt(args[i]) : dflt;
    }
}
