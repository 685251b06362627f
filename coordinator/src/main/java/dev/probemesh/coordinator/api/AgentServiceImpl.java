package dev.probemesh.coordinator.api;

import dev.probemesh.coordinator.ingest.Ingestor;
import dev.probemesh.coordinator.session.Session;
import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.IngestBatch;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.Ack;
import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.Hello;
import dev.probemesh.proto.v1.Rejection;
import dev.probemesh.proto.v1.RenewResponse;
import dev.probemesh.proto.v1.Welcome;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's side of an agent's stream: authenticate, welcome (with the high-water mark
 * already committed for the agent's incarnation, so it replays only what is missing), ingest
 * result batches through the single writer, ack after commit. A stream keeps at most
 * {@link #MAX_IN_FLIGHT} batches uncommitted and asks for its next message only below that:
 * backpressure all the way to the agent, without making an agent that sends many small
 * batches (a sweep's answers) wait one group commit per batch.
 */
public final class AgentServiceImpl extends AgentServiceGrpc.AgentServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(AgentServiceImpl.class);
    public static final int MAX_BATCH = 500;
    /** Batches of one stream queued for the writer at once; the writer commits them in order. */
    public static final int MAX_IN_FLIGHT = 4;

    /** Signs a renewal CSR for an authenticated agent; returns the PEM or throws with the reason. */
    @FunctionalInterface
    public interface Renewer {
        String renew(AgentAuthenticator.AgentIdentity agent, byte[] csrDer) throws StatusException;
    }

    private final AgentAuthenticator auth;
    private final SessionRegistry sessions;
    private final Store store;
    private final Ingestor ingestor;
    private final Renewer renewer;
    private final Clock clock;
    private final boolean discardResults;

    public AgentServiceImpl(AgentAuthenticator auth, SessionRegistry sessions, Store store, Ingestor ingestor,
            Renewer renewer, Clock clock) {
        this(auth, sessions, store, ingestor, renewer, clock, false);
    }

    /**
     * With {@code discardResults} (the coordinator's {@code --bench-discard-results}), result batches
     * are validated and acked at once but never stored: agent-throughput benchmarks then measure the
     * agent (probing, encoding, streaming), not the store. The stream still reads one message at a
     * time, asking for the next only after the ack is sent.
     */
    public AgentServiceImpl(AgentAuthenticator auth, SessionRegistry sessions, Store store, Ingestor ingestor,
            Renewer renewer, Clock clock, boolean discardResults) {
        this.discardResults = discardResults;
        this.auth = auth;
        this.sessions = sessions;
        this.store = store;
        this.ingestor = ingestor;
        this.renewer = renewer;
        this.clock = clock;
    }

    @Override
    public StreamObserver<AgentMessage> connect(StreamObserver<CoordinatorMessage> responses) {
        ServerCallStreamObserver<CoordinatorMessage> out = (ServerCallStreamObserver<CoordinatorMessage>) responses;
        out.disableAutoRequest();
        Stream stream = new Stream(out);
        out.setOnCancelHandler(stream::closed);
        out.request(1);
        return stream;
    }

    private final class Stream implements StreamObserver<AgentMessage> {
        private final ServerCallStreamObserver<CoordinatorMessage> out;
        private Session session;
        private AgentAuthenticator.AgentIdentity identity;
        /** Batches submitted and not yet committed, and whether a request(1) is owed for them; guarded by this. */
        private int inFlight;
        private boolean requestOwed;

        Stream(ServerCallStreamObserver<CoordinatorMessage> out) {
            this.out = out;
        }

        @Override
        public void onNext(AgentMessage m) {
            try {
                if (session == null) {
                    if (m.getMsgCase() != AgentMessage.MsgCase.HELLO) {
                        throw Status.FAILED_PRECONDITION.withDescription("the first message must be a hello").asException();
                    }
                    hello(m.getHello());
                    out.request(1);
                    return;
                }
                Instant now = clock.instant();
                session.seen(now);
                switch (m.getMsgCase()) {
                    case RESULTS -> {
                        results(m.getResults(), now);
                        return; // results() requests the next message, at once or after a commit
                    }
                    case HEARTBEAT -> {
                        // In memory only: the coordinator writes every session's last-seen time
                        // in one transaction every few seconds (Coordinator), not one commit each.
                        session.observeClock(m.getHeartbeat().getAgentTimeMs(), now);
                    }
                    case CAPABILITIES -> {
                        session.capabilities(m.getCapabilities());
                        saveAgent(session, now);
                    }
                    case RENEW -> renew(m.getRenew().getCsrDer().toByteArray());
                    case HELLO -> throw Status.FAILED_PRECONDITION.withDescription("hello sent twice").asException();
                    default -> log.debug("agent {} sent {}", session.agent(), m.getMsgCase());
                }
                out.request(1);
            } catch (StatusException e) {
                fail(e.getStatus());
            } catch (RuntimeException e) {
                log.error("agent stream {} failed", session == null ? "?" : session.agent(), e);
                fail(Status.INTERNAL.withDescription("coordinator error: " + e.getMessage()));
            }
        }

        private void hello(Hello h) throws StatusException {
            identity = auth.authenticate(h);
            if (h.getIncarnation().isBlank()) {
                throw Status.INVALID_ARGUMENT.withDescription("hello without incarnation").asException();
            }
            Instant now = clock.instant();
            Map<String, String> labels = new HashMap<>(h.getLabelsMap());
            labels.putAll(identity.labels()); // the certificate's labels win over the hello's claims
            long skew = h.getAgentTimeMs() == 0 ? 0 : h.getAgentTimeMs() - now.toEpochMilli();
            session = new Session(identity.name(), identity.site(), labels, h.getIncarnation(), h.getVersion(),
                    h.getCapabilities(), skew, now, out);
            saveAgent(session, now);
            long hwm = store.highWaterMark(identity.name(), h.getIncarnation());
            session.send(CoordinatorMessage.newBuilder().setWelcome(Welcome.newBuilder()
                    .setAgentName(identity.name()).setSite(identity.site()).putAllLabels(labels)
                    .setCoordinatorTimeMs(now.toEpochMilli()).setAckedSeq(hwm).setMaxBatch(MAX_BATCH)).build());
            sessions.register(session);
            log.info("agent {} (site {}) connected, incarnation {}, skew {} ms, resumes after seq {}",
                    identity.name(), identity.site(), h.getIncarnation(), skew, hwm);
        }

        private void saveAgent(Session s, Instant now) {
            var existing = store.agent(s.agent());
            store.upsertAgent(new AgentRow(s.agent(), s.site(), s.labels(), s.version(),
                    s.capabilities().toByteArray(), existing.map(AgentRow::firstSeen).orElse(now), now,
                    s.clockSkewMs()));
        }

        private void results(dev.probemesh.proto.v1.ResultBatch batch, Instant now) throws StatusException {
            if (!batch.getIncarnation().equals(session.incarnation())) {
                throw Status.INVALID_ARGUMENT.withDescription("result batch for incarnation " + batch.getIncarnation()
                        + " on a stream of incarnation " + session.incarnation()).asException();
            }
            if (batch.getResultsCount() > MAX_BATCH) {
                throw Status.RESOURCE_EXHAUSTED.withDescription("batch of " + batch.getResultsCount()
                        + " results; at most " + MAX_BATCH).asException();
            }
            Session s = session;
            if (discardResults) {
                discard(s, batch);
                return;
            }
            boolean requestNow;
            synchronized (this) {
                inFlight++;
                requestNow = inFlight < MAX_IN_FLIGHT;
                requestOwed = !requestNow;
            }
            if (requestNow) {
                out.request(1);
            }
            ingestor.submit(new IngestBatch(s.agent(), batch.getIncarnation(), batch.getResultsList(), now,
                    s.clockSkewMs()), (outcome, err) -> {
                        if (err != null) {
                            // Not acked: the agent keeps the results and replays them on reconnect.
                            s.terminate(Status.UNAVAILABLE.withDescription("store unavailable: " + err.getMessage()));
                            return;
                        }
                        Ack.Builder ack = Ack.newBuilder().setIncarnation(batch.getIncarnation())
                                .setUpToSeq(outcome.ackedUpTo());
                        outcome.rejected().forEach(r -> ack.addRejected(Rejection.newBuilder().setSeq(r.seq())
                                .setReason(r.reason())));
                        if (!outcome.rejected().isEmpty()) {
                            log.warn("agent {}: rejected {} malformed results", s.agent(), outcome.rejected().size());
                        }
                        s.send(CoordinatorMessage.newBuilder().setAck(ack).build());
                        boolean owed;
                        synchronized (this) {
                            inFlight--;
                            owed = requestOwed;
                            requestOwed = false;
                        }
                        if (owed && s.isOpen()) {
                            out.request(1);
                        }
                    });
        }

        /** Bench mode: ack the batch's last seq without storing anything, then read the next message. */
        private void discard(Session s, dev.probemesh.proto.v1.ResultBatch batch) {
            long upTo = 0;
            for (var r : batch.getResultsList()) {
                upTo = Math.max(upTo, r.getSeq());
            }
            s.send(CoordinatorMessage.newBuilder().setAck(Ack.newBuilder().setIncarnation(batch.getIncarnation())
                    .setUpToSeq(upTo)).build());
            if (s.isOpen()) {
                out.request(1);
            }
        }

        private void renew(byte[] csr) {
            RenewResponse.Builder r = RenewResponse.newBuilder();
            try {
                r.setCertificatePem(renewer.renew(identity, csr));
                log.info("agent {}: certificate renewed", identity.name());
            } catch (StatusException e) {
                r.setError(e.getStatus().getCode() + ": " + e.getStatus().getDescription());
            }
            session.send(CoordinatorMessage.newBuilder().setRenewed(r).build());
        }

        private void fail(Status status) {
            if (session != null) {
                session.terminate(status);
                closed();
            } else {
                try {
                    out.onError(status.asRuntimeException());
                } catch (RuntimeException ignored) {
                    // cancelled
                }
            }
        }

        private boolean ended;

        private synchronized void closed() {
            if (ended) {
                return;
            }
            ended = true;
            if (session != null) {
                sessions.unregister(session);
                store.touchAgent(session.agent(), clock.instant(), session.clockSkewMs());
                log.info("agent {} disconnected", session.agent());
            }
        }

        @Override
        public void onError(Throwable t) {
            closed();
        }

        @Override
        public void onCompleted() {
            closed();
            if (session != null) {
                session.terminate(Status.OK);
            }
        }
    }
}
