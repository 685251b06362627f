package dev.probemesh.e2e.bench;

import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.Heartbeat;
import dev.probemesh.proto.v1.Hello;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.ResultBatch;
import dev.probemesh.proto.v1.RunNow;
import dev.probemesh.proto.v1.Status;
import dev.probemesh.proto.v1.Timings;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NegotiationType;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A load generator that speaks the real agent protocol over real gRPC: many simulated agents
 * multiplexed on a few channels and event-loop threads, each with its own {@code Connect} stream.
 * Like the real agent ({@code CoordinatorLink}) each sends a hello with its incarnation, waits
 * for the welcome (and its max batch), sends result batches in seq order while the stream is
 * ready (transport flow control), trims what each ack covers, sends heartbeats, and answers a
 * {@code RunNow} with one synthetic result per check carrying the sweep id, all in one batch
 * once the latest of its politeness-budget delays has passed.
 *
 * <p>Identity: the hello's name and site, which a coordinator believes only in {@code --insecure}
 * mode. mTLS would add one handshake per agent at connect time and symmetric encryption on the
 * stream; the benchmarks say which mode they ran.
 */
public final class SimAgents implements AutoCloseable {
    /** How the fleet is made: {@code agents} spread over {@code sites} and {@code channels}. */
    public record Options(String host, int port, int agents, int sites, int channels, int eventLoopThreads,
                          int checksPerAgent, int maxBatch, long heartbeatMs, String prefix) {
        public Options {
            if (agents < 1 || channels < 1 || eventLoopThreads < 1 || checksPerAgent < 1 || maxBatch < 1
                    || sites < 1) {
                throw new IllegalArgumentException("agents, sites, channels, threads, checks and batch must be >= 1");
            }
        }
    }

    private final Options options;
    private final EventLoopGroup group;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<Agent> agents = new ArrayList<>();
    private final ScheduledExecutorService timer;
    private final AtomicInteger welcomed = new AtomicInteger();
    private final AtomicInteger broken = new AtomicInteger();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong sweepAnswers = new AtomicLong();
    private final AtomicLong runNows = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile String lastError = "";

    public SimAgents(Options options) {
        this.options = options;
        this.group = new NioEventLoopGroup(options.eventLoopThreads());
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sim-agents-timer");
            t.setDaemon(true);
            return t;
        });
        for (int i = 0; i < options.channels(); i++) {
            channels.add(NettyChannelBuilder.forAddress(options.host(), options.port())
                    .eventLoopGroup(group).channelType(NioSocketChannel.class)
                    .negotiationType(NegotiationType.PLAINTEXT)
                    // Callbacks run on the event loop: the agents' work per message is small.
                    .directExecutor()
                    .maxInboundMessageSize(16 << 20)
                    .build());
        }
        List<String> checkIds = new ArrayList<>(options.checksPerAgent());
        for (int c = 0; c < options.checksPerAgent(); c++) {
            checkIds.add(String.format("chk-%03d", c));
        }
        for (int i = 0; i < options.agents(); i++) {
            agents.add(new Agent(String.format("%s-%04d", options.prefix(), i), "site-" + (i % options.sites()),
                    checkIds, channels.get(i % channels.size())));
        }
    }

    /** Opens every agent's stream (hello), and starts heartbeats. */
    public SimAgents connect() {
        agents.forEach(Agent::connect);
        if (options.heartbeatMs() > 0) {
            timer.scheduleAtFixedRate(() -> agents.forEach(Agent::heartbeat), options.heartbeatMs(),
                    options.heartbeatMs(), TimeUnit.MILLISECONDS);
        }
        return this;
    }

    /** Waits (bounded) until every agent was welcomed; false on timeout. */
    public boolean awaitWelcomed(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (welcomed.get() < agents.size() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return welcomed.get() >= agents.size();
    }

    /** Queues {@code perAgent} scheduled-check results on every agent (one per check in turn). */
    public void addResults(long perAgent) {
        agents.forEach(a -> a.add(perAgent));
    }

    /** Waits (bounded) until {@code total} results in all were acked; false on timeout. */
    public boolean awaitAcked(long total, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (acked.get() < total && System.nanoTime() < deadline && broken.get() == 0) {
            Thread.sleep(5);
        }
        return acked.get() >= total;
    }

    public int agentCount() {
        return agents.size();
    }

    public int welcomedCount() {
        return welcomed.get();
    }

    /** Results acked by the coordinator (committed, or discarded in its bench mode). */
    public long ackedResults() {
        return acked.get();
    }

    public long sweepAnswers() {
        return sweepAnswers.get();
    }

    public long runNowsReceived() {
        return runNows.get();
    }

    public long rejectedResults() {
        return rejected.get();
    }

    public int brokenStreams() {
        return broken.get();
    }

    public String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        for (Agent a : agents) {
            a.close();
        }
        channels.forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel ch : channels) {
            try {
                ch.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    }

    /** One simulated agent: its stream, its seqs and what it still has to send. */
    private final class Agent implements ClientResponseObserver<AgentMessage, CoordinatorMessage> {
        private final String name;
        private final String site;
        private final String incarnation = UUID.randomUUID().toString();
        private final List<String> checkIds;
        private final ManagedChannel channel;
        /** Results requested by sweeps, waiting to be sent (ahead of scheduled ones). */
        private final ArrayDeque<ProbeResult.Builder> sweepQueue = new ArrayDeque<>();
        private ClientCallStreamObserver<AgentMessage> out;
        private boolean isWelcomed;
        private boolean closed;
        private int maxBatch;
        /** Scheduled-check results still to generate and send. */
        private long scheduledLeft;
        private long nextCheck;
        private long lastSeq;
        private long ackedUpTo;

        Agent(String name, String site, List<String> checkIds, ManagedChannel channel) {
            this.name = name;
            this.site = site;
            this.checkIds = checkIds;
            this.channel = channel;
            this.maxBatch = options.maxBatch();
        }

        void connect() {
            AgentServiceGrpc.newStub(channel).connect(this);
            synchronized (this) {
                out.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentName(name).setSite(site)
                        .putLabels("role", "sim").setVersion("sim-agents").setIncarnation(incarnation)
                        .setCapabilities(Capabilities.newBuilder().setIpv4(true).setIpv6(true).setIcmp(true)
                                .addProbeKinds("tcp").addProbeKinds("dns"))
                        .setAgentTimeMs(System.currentTimeMillis())).build());
            }
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<AgentMessage> requestStream) {
            out = requestStream;
            requestStream.setOnReadyHandler(this::pump);
        }

        synchronized void add(long n) {
            scheduledLeft += n;
            pumpLocked();
        }

        void pump() {
            synchronized (this) {
                pumpLocked();
            }
        }

        /** Sends what is queued while the transport takes it, as the real agent's pump does. */
        private void pumpLocked() {
            if (!isWelcomed || closed) {
                return;
            }
            long now = System.currentTimeMillis();
            while (out.isReady() && (!sweepQueue.isEmpty() || scheduledLeft > 0)) {
                ResultBatch.Builder b = ResultBatch.newBuilder().setIncarnation(incarnation);
                int n = 0;
                while (n < maxBatch && !sweepQueue.isEmpty()) {
                    b.addResults(sweepQueue.poll().setSeq(++lastSeq).setObservedAtMs(now));
                    n++;
                }
                while (n < maxBatch && scheduledLeft > 0) {
                    String check = checkIds.get((int) (nextCheck++ % checkIds.size()));
                    b.addResults(synthetic(check, "").setSeq(++lastSeq).setObservedAtMs(now));
                    scheduledLeft--;
                    n++;
                }
                out.onNext(AgentMessage.newBuilder().setResults(b).build());
            }
        }

        /** A result as a TCP probe on loopback would report it. */
        private ProbeResult.Builder synthetic(String checkId, String sweepId) {
            return ProbeResult.newBuilder().setCheckId(checkId).setCheckRevision(1).setStatus(Status.STATUS_OK)
                    .setTimings(Timings.newBuilder().setConnectUs(180).setTotalUs(210))
                    .setAddress("127.0.0.1").setFamily(Family.FAMILY_IPV4).setCheckIntervalMs(10_000)
                    .setSweepId(sweepId);
        }

        synchronized void heartbeat() {
            if (isWelcomed && !closed) {
                out.onNext(AgentMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder()
                        .setAgentTimeMs(System.currentTimeMillis()).setUnacked((int) Math.min(Integer.MAX_VALUE,
                                lastSeq - ackedUpTo + scheduledLeft))).build());
            }
        }

        @Override
        public void onNext(CoordinatorMessage m) {
            switch (m.getMsgCase()) {
                case WELCOME -> {
                    synchronized (this) {
                        isWelcomed = true;
                        if (m.getWelcome().getMaxBatch() > 0) {
                            maxBatch = Math.min(options.maxBatch(), m.getWelcome().getMaxBatch());
                        }
                        // A fresh incarnation: nothing was committed before, so the welcome acks 0.
                        ackedUpTo = Math.max(ackedUpTo, m.getWelcome().getAckedSeq());
                        pumpLocked();
                    }
                    welcomed.incrementAndGet();
                }
                case ACK -> {
                    var a = m.getAck();
                    if (a.getIncarnation().equals(incarnation)) {
                        long delta;
                        synchronized (this) {
                            delta = Math.max(0, a.getUpToSeq() - ackedUpTo);
                            ackedUpTo = Math.max(ackedUpTo, a.getUpToSeq());
                        }
                        acked.addAndGet(delta);
                        rejected.addAndGet(a.getRejectedCount());
                    }
                }
                case RUN_NOW -> runNow(m.getRunNow());
                default -> {
                    // assignments, config and renewals: a simulated agent runs no schedule of its own
                }
            }
        }

        /**
         * Answers every check of a run-now in one batch, once the latest of its budget delays has
         * passed: the sweep's window is honoured as a whole, and the answers travel as one message
         * (a real agent's answers finish at different times and travel in fewer, smaller batches).
         */
        private void runNow(RunNow r) {
            runNows.incrementAndGet();
            long delay = r.getDelayMs();
            for (Check c : r.getChecksList()) {
                delay = Math.max(delay, r.getDelayPerCheckMsOrDefault(c.getId(), r.getDelayMs()));
            }
            Runnable answer = () -> {
                synchronized (this) {
                    for (Check c : r.getChecksList()) {
                        sweepQueue.add(synthetic(c.getId(), r.getSweepId()).setCheckRevision(c.getRevision()));
                    }
                    pumpLocked();
                }
                sweepAnswers.addAndGet(r.getChecksCount());
            };
            if (delay <= 0) {
                answer.run();
            } else {
                timer.schedule(answer, delay, TimeUnit.MILLISECONDS);
            }
        }

        @Override
        public void onError(Throwable t) {
            ended(io.grpc.Status.fromThrowable(t).toString());
        }

        @Override
        public void onCompleted() {
            ended("coordinator closed the stream");
        }

        private void ended(String why) {
            boolean wasOpen;
            synchronized (this) {
                wasOpen = !closed;
                closed = true;
            }
            if (wasOpen) {
                broken.incrementAndGet();
                lastError = name + ": " + why;
            }
        }

        void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                try {
                    out.onCompleted();
                } catch (RuntimeException ignored) {
                    // the channel is already gone
                }
            }
        }
    }
}
