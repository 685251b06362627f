package dev.probemesh.agent.link;

import dev.probemesh.agent.report.ResultBuffer;
import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.Heartbeat;
import dev.probemesh.proto.v1.Hello;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.RenewRequest;
import dev.probemesh.proto.v1.ResultBatch;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's one outbound stream to the coordinator. It dials out (agents listen on nothing),
 * says hello, replays every unacked result, streams new ones as they come (respecting gRPC flow
 * control), and reconnects with jittered exponential backoff when the stream breaks. Results
 * leave the buffer only when the coordinator acks them, which it does after commit.
 */
public final class CoordinatorLink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CoordinatorLink.class);
    static final long BACKOFF_MIN_MS = 500;
    static final long BACKOFF_MAX_MS = 30_000;

    /** What the link delivers to the rest of the agent. */
    public interface Handler {
        void onWelcome(dev.probemesh.proto.v1.Welcome welcome);

        void onAssignment(dev.probemesh.proto.v1.Assignment assignment);

        void onRunNow(dev.probemesh.proto.v1.RunNow runNow);

        /** The coordinator refuses this agent for good (revoked); the agent must stop. */
        void onGoodbye(String reason);
    }

    /** Certificate renewal over the live stream; empty when not due. */
    public interface Renewal {
        Optional<byte[]> csrIfDue();

        void store(String certificatePem);

        static Renewal none() {
            return new Renewal() {
                @Override
                public Optional<byte[]> csrIfDue() {
                    return Optional.empty();
                }

                @Override
                public void store(String pem) {
                }
            };
        }
    }

    /** Identity claims for the hello: trusted by the coordinator only in --insecure mode. */
    public record Identity(String name, String site, Map<String, String> labels, String version) {
        public Identity {
            Objects.requireNonNull(name);
            site = site == null ? "" : site;
            labels = Map.copyOf(labels);
        }
    }

    private final Supplier<ManagedChannel> channels;
    private final ResultBuffer buffer;
    private final Identity identity;
    private final Supplier<Capabilities> capabilities;
    private final Handler handler;
    private final Renewal renewal;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final long heartbeatMs;

    private ManagedChannel channel;
    private ClientCallStreamObserver<AgentMessage> stream;
    private boolean welcomed;
    private long sentUpTo;
    private int maxBatch = 500;
    private int failures;
    private boolean closed;
    private boolean connected;
    private Capabilities lastCapabilities;
    private ScheduledFuture<?> heartbeat;
    private ScheduledFuture<?> reconnect;

    public CoordinatorLink(Supplier<ManagedChannel> channels, ResultBuffer buffer, Identity identity,
            Supplier<Capabilities> capabilities, Handler handler, Renewal renewal,
            ScheduledExecutorService scheduler, Clock clock, long heartbeatMs) {
        this.channels = channels;
        this.buffer = buffer;
        this.identity = identity;
        this.capabilities = capabilities;
        this.handler = handler;
        this.renewal = renewal;
        this.scheduler = scheduler;
        this.clock = clock;
        this.heartbeatMs = heartbeatMs;
        buffer.onAppend(this::pump);
    }

    public synchronized void start() {
        connect();
        heartbeat = scheduler.scheduleAtFixedRate(this::tick, heartbeatMs, heartbeatMs, TimeUnit.MILLISECONDS);
    }

    public synchronized boolean connected() {
        return connected && welcomed;
    }

    private synchronized void connect() {
        if (closed) {
            return;
        }
        if (channel == null) {
            channel = channels.get();
        } else {
            // This link paces its own reconnects (jittered backoff); without the reset, the channel's
            // own connect backoff (up to 2 min) keeps failing each new stream at once long after the
            // coordinator is back: 72 s after a 2-minute coordinator restart, measured.
            channel.resetConnectBackoff();
        }
        welcomed = false;
        ClientResponseObserver<AgentMessage, CoordinatorMessage> observer = new ClientResponseObserver<>() {
            private ClientCallStreamObserver<AgentMessage> own;

            @Override
            public void beforeStart(ClientCallStreamObserver<AgentMessage> requestStream) {
                own = requestStream;
                requestStream.setOnReadyHandler(CoordinatorLink.this::pump);
            }

            @Override
            public void onNext(CoordinatorMessage m) {
                receive(own, m);
            }

            @Override
            public void onError(Throwable t) {
                broken(own, Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                broken(own, Status.UNAVAILABLE.withDescription("coordinator closed the stream"));
            }
        };
        stream = (ClientCallStreamObserver<AgentMessage>) AgentServiceGrpc.newStub(channel).connect(observer);
        lastCapabilities = capabilities.get();
        stream.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder()
                .setAgentName(identity.name())
                .setSite(identity.site())
                .putAllLabels(identity.labels())
                .setVersion(identity.version())
                .setIncarnation(buffer.incarnation())
                .setCapabilities(lastCapabilities)
                .setAgentTimeMs(clock.millis())
                .setOldestUnackedSeq(buffer.oldestUnackedSeq())).build());
        connected = true;
    }

    private void receive(ClientCallStreamObserver<AgentMessage> from, CoordinatorMessage m) {
        synchronized (this) {
            if (from != stream) {
                return;
            }
        }
        switch (m.getMsgCase()) {
            case WELCOME -> {
                var w = m.getWelcome();
                synchronized (this) {
                    buffer.ack(w.getAckedSeq());
                    sentUpTo = Math.max(w.getAckedSeq(), buffer.ackedUpTo());
                    if (w.getMaxBatch() > 0) {
                        maxBatch = w.getMaxBatch();
                    }
                    welcomed = true;
                    failures = 0;
                }
                log.info("connected to coordinator as {} (site {}); {} results to replay", w.getAgentName(),
                        w.getSite(), buffer.size());
                handler.onWelcome(w);
                pump();
            }
            case ASSIGNMENT -> handler.onAssignment(m.getAssignment());
            case RUN_NOW -> handler.onRunNow(m.getRunNow());
            case ACK -> {
                var a = m.getAck();
                if (a.getIncarnation().equals(buffer.incarnation())) {
                    buffer.ack(a.getUpToSeq());
                }
                a.getRejectedList().forEach(r -> log.warn("coordinator rejected result seq {}: {}", r.getSeq(),
                        r.getReason()));
            }
            case CONFIG -> {
                synchronized (this) {
                    if (m.getConfig().getMaxBatch() > 0) {
                        maxBatch = m.getConfig().getMaxBatch();
                    }
                }
            }
            case RENEWED -> {
                if (!m.getRenewed().getError().isEmpty()) {
                    log.error("certificate renewal refused: {}", m.getRenewed().getError());
                } else {
                    renewal.store(m.getRenewed().getCertificatePem());
                    log.info("certificate renewed; the next connection uses it");
                }
            }
            case GOODBYE -> {
                log.error("coordinator refused this agent: {}", m.getGoodbye().getReason());
                synchronized (this) {
                    closed = true;
                }
                handler.onGoodbye(m.getGoodbye().getReason());
            }
            default -> log.debug("ignoring message {}", m.getMsgCase());
        }
    }

    /** Sends buffered results past {@link #sentUpTo} while the stream can take them. */
    private void pump() {
        synchronized (this) {
            if (stream == null || !welcomed || closed) {
                return;
            }
            while (stream.isReady()) {
                List<ProbeResult> batch = buffer.after(sentUpTo, maxBatch);
                if (batch.isEmpty()) {
                    return;
                }
                stream.onNext(AgentMessage.newBuilder().setResults(ResultBatch.newBuilder()
                        .setIncarnation(buffer.incarnation()).addAllResults(batch)).build());
                sentUpTo = batch.get(batch.size() - 1).getSeq();
            }
        }
    }

    private void broken(ClientCallStreamObserver<AgentMessage> from, Status status) {
        long delay;
        synchronized (this) {
            if (from != stream) {
                return;
            }
            stream = null;
            connected = false;
            welcomed = false;
            if (closed) {
                return;
            }
            if (status.getCode() == Status.Code.UNAUTHENTICATED || status.getCode() == Status.Code.PERMISSION_DENIED) {
                log.error("coordinator refused the connection: {} {}", status.getCode(), status.getDescription());
            } else {
                log.warn("stream to coordinator broken: {} {}", status.getCode(),
                        status.getDescription() == null ? "" : status.getDescription());
            }
            failures++;
            delay = backoffMs(failures, ThreadLocalRandom.current().nextDouble());
            reconnect = scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
        }
        log.info("reconnecting in {} ms ({} unacked results kept)", delay, buffer.size());
    }

    /** Full-jitter exponential backoff: uniform in [min, min(max, min * 2^failures)]. */
    static long backoffMs(int failures, double random) {
        long cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS << Math.min(failures, 16));
        return BACKOFF_MIN_MS + (long) (random * (cap - BACKOFF_MIN_MS));
    }

    private void tick() {
        ClientCallStreamObserver<AgentMessage> s;
        synchronized (this) {
            s = welcomed ? stream : null;
        }
        if (s == null) {
            return;
        }
        try {
            Capabilities now = capabilities.get();
            synchronized (this) {
                if (s != stream) {
                    return;
                }
                if (!now.equals(lastCapabilities)) {
                    lastCapabilities = now;
                    log.info("capabilities changed: {}", now.toString().replace('\n', ' '));
                    s.onNext(AgentMessage.newBuilder().setCapabilities(now).build());
                }
                s.onNext(AgentMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder()
                        .setAgentTimeMs(clock.millis()).setUnacked(buffer.size())).build());
                Optional<byte[]> csr = renewal.csrIfDue();
                csr.ifPresent(der -> s.onNext(AgentMessage.newBuilder().setRenew(RenewRequest.newBuilder()
                        .setCsrDer(com.google.protobuf.ByteString.copyFrom(der))).build()));
            }
        } catch (RuntimeException e) {
            log.warn("heartbeat failed", e);
        }
    }

    /** Drops the current channel so the next connection builds a new one (e.g. with a renewed certificate). */
    public synchronized void renewChannel() {
        if (channel != null) {
            channel.shutdown();
            channel = null;
        }
    }

    @Override
    public void close() {
        ManagedChannel ch;
        synchronized (this) {
            closed = true;
            if (heartbeat != null) {
                heartbeat.cancel(false);
            }
            if (reconnect != null) {
                reconnect.cancel(false);
            }
            if (stream != null) {
                try {
                    stream.onCompleted();
                } catch (RuntimeException ignored) {
                    // the stream may already be gone
                }
                stream = null;
            }
            ch = channel;
            channel = null;
        }
        if (ch != null) {
            ch.shutdown();
            try {
                if (!ch.awaitTermination(2, TimeUnit.SECONDS)) {
                    ch.shutdownNow();
                }
            } catch (InterruptedException e) {
                ch.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }
}
