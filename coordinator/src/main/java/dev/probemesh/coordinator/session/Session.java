package dev.probemesh.coordinator.session;

import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.CoordinatorMessage;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Instant;
import java.util.Map;

/**
 * One connected agent's stream. Name, site and labels come from its certificate (or, only in
 * --insecure mode, from its hello). Sends are serialized: gRPC stream observers are not
 * thread-safe.
 */
public final class Session {
    private final String agent;
    private final String site;
    private final Map<String, String> labels;
    private final String incarnation;
    private final String version;
    private final Instant connectedAt;
    private final ServerCallStreamObserver<CoordinatorMessage> out;
    private volatile Capabilities capabilities;
    private volatile long clockSkewMs;
    private volatile Instant lastSeen;
    private volatile boolean open = true;

    public Session(String agent, String site, Map<String, String> labels, String incarnation, String version,
            Capabilities capabilities, long clockSkewMs, Instant connectedAt,
            ServerCallStreamObserver<CoordinatorMessage> out) {
        this.agent = agent;
        this.site = site;
        this.labels = Map.copyOf(labels);
        this.incarnation = incarnation;
        this.version = version;
        this.capabilities = capabilities;
        this.clockSkewMs = clockSkewMs;
        this.connectedAt = connectedAt;
        this.lastSeen = connectedAt;
        this.out = out;
    }

    public String agent() {
        return agent;
    }

    public String site() {
        return site;
    }

    public Map<String, String> labels() {
        return labels;
    }

    public String incarnation() {
        return incarnation;
    }

    public String version() {
        return version;
    }

    public Instant connectedAt() {
        return connectedAt;
    }

    public Capabilities capabilities() {
        return capabilities;
    }

    public void capabilities(Capabilities c) {
        this.capabilities = c;
    }

    public long clockSkewMs() {
        return clockSkewMs;
    }

    /**
     * Updates the skew estimate from an agent timestamp seen at {@code now}. A sample includes the
     * transit delay, so the estimate moves slowly (EWMA) and never trusts one outlier.
     */
    public void observeClock(long agentTimeMs, Instant now) {
        long sample = agentTimeMs - now.toEpochMilli();
        clockSkewMs = clockSkewMs + (sample - clockSkewMs) / 4;
        lastSeen = now;
    }

    public void seen(Instant now) {
        lastSeen = now;
    }

    public Instant lastSeen() {
        return lastSeen;
    }

    public boolean isOpen() {
        return open;
    }

    /** Sends one message; false when the stream is gone. */
    public synchronized boolean send(CoordinatorMessage m) {
        if (!open) {
            return false;
        }
        try {
            out.onNext(m);
            return true;
        } catch (RuntimeException e) {
            open = false;
            return false;
        }
    }

    /** Ends the stream with an error status (e.g. revoked) and marks it closed. */
    public synchronized void terminate(io.grpc.Status status) {
        if (!open) {
            return;
        }
        open = false;
        try {
            if (status.isOk()) {
                out.onCompleted();
            } else {
                out.onError(status.asRuntimeException());
            }
        } catch (RuntimeException ignored) {
            // already cancelled by the peer
        }
    }

    synchronized void markClosed() {
        open = false;
    }
}
