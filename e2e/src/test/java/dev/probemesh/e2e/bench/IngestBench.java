package dev.probemesh.e2e.bench;

import java.lang.management.ManagementFactory;

/**
 * {@code coordinator_ingest_results_per_s}: results per second that a running coordinator
 * commits (acks come only after commit) from 1,000 simulated agents over real gRPC on loopback.
 * The coordinator is another process (bench/run starts it with the launcher, so its RSS and CPU
 * are its own); this JVM is the load generator. A warmup round first sends one result per
 * (agent, check), so the measured phase runs in the steady state (every series known), then
 * each agent queues its share and sends as flow control allows. Bounded in count and time.
 *
 * <p>Usage: {@code IngestBench HOST PORT AGENTS CHECKS BATCH PER_AGENT MAX_SECONDS [CHANNELS]}.
 */
public final class IngestBench {
    private IngestBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 7) {
            System.err.println("usage: IngestBench HOST PORT AGENTS CHECKS BATCH PER_AGENT MAX_SECONDS [CHANNELS]");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int agents = Integer.parseInt(args[2]);
        int checks = Integer.parseInt(args[3]);
        int batch = Integer.parseInt(args[4]);
        long perAgent = Long.parseLong(args[5]);
        long maxSeconds = Long.parseLong(args[6]);
        int channels = args.length > 7 ? Integer.parseInt(args[7]) : 4;
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (SimAgents fleet = new SimAgents(new SimAgents.Options(host, port, agents, Math.max(1, agents / 10),
                channels, 2, checks, batch, 10_000, "sim"))) {
            long t0 = System.nanoTime();
            fleet.connect();
            if (!fleet.awaitWelcomed(60_000)) {
                fail("only " + fleet.welcomedCount() + " of " + agents + " agents were welcomed in 60 s; "
                        + fleet.lastError());
            }
            System.out.printf("# %d simulated agents connected over %d channels in %d ms (insecure mode: hello "
                    + "names, no mTLS)%n", agents, channels, (System.nanoTime() - t0) / 1_000_000);
            long warm = (long) agents * checks;
            fleet.addResults(checks);
            if (!fleet.awaitAcked(warm, maxSeconds * 1000)) {
                fail("warmup: " + fleet.ackedResults() + " of " + warm + " acked in " + maxSeconds + " s; "
                        + fleet.lastError());
            }
            System.out.printf("# warmup: %d results (one per agent x check) acked in %d ms%n", warm,
                    (System.nanoTime() - t0) / 1_000_000);
            long total = warm + perAgent * agents;
            long cpu0 = os.getProcessCpuTime();
            long s0 = System.nanoTime();
            fleet.addResults(perAgent);
            boolean all = fleet.awaitAcked(total, maxSeconds * 1000);
            long s1 = System.nanoTime();
            long cpu1 = os.getProcessCpuTime();
            long measured = fleet.ackedResults() - warm;
            double secs = (s1 - s0) / 1e9;
            System.out.printf("# measured: %d results from %d agents, %d per batch at most, in %.2f s%s; "
                    + "rejected %d; broken streams %d%n", measured, agents, batch, secs,
                    all ? "" : " (time bound hit: partial)", fleet.rejectedResults(), fleet.brokenStreams());
            System.out.printf("# load generator CPU: %.1f s over the phase%n", (cpu1 - cpu0) / 1e9);
            System.out.println("ingest_results=" + measured);
            System.out.printf("ingest_seconds=%.2f%n", secs);
            System.out.printf("ingest_generator_cpu_s=%.2f%n", (cpu1 - cpu0) / 1e9);
            System.out.printf("coordinator_ingest_results_per_s=%d%n", (long) (measured / secs));
            if (fleet.brokenStreams() > 0) {
                fail("broken streams: " + fleet.lastError());
            }
        }
    }

    private static void fail(String why) {
        System.err.println("IngestBench: " + why);
        System.exit(1);
    }
}
