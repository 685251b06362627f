package dev.probemesh.agent.report;

import dev.probemesh.proto.v1.ProbeResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The agent's bounded buffer of unacked results. Every result gets the next sequence number of
 * this incarnation; results stay until the coordinator acks them (it acks only after commit),
 * and are replayed after a reconnect. When full, the oldest are dropped and counted: the agent
 * must keep probing through a long outage without growing without bound.
 */
public final class ResultBuffer {
    private final String incarnation;
    private final int capacity;
    private final Deque<ProbeResult> unacked = new ArrayDeque<>();
    private long nextSeq = 1;
    private long ackedUpTo;
    private long dropped;
    private Runnable listener = () -> { };

    public ResultBuffer(String incarnation, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.incarnation = incarnation;
        this.capacity = capacity;
    }

    public String incarnation() {
        return incarnation;
    }

    /** Called (outside the lock) whenever a result is appended. */
    public synchronized void onAppend(Runnable listener) {
        this.listener = listener;
    }

    /** Assigns the next seq and buffers the result; returns the stamped result. */
    public ProbeResult append(ProbeResult.Builder result) {
        ProbeResult stamped;
        Runnable l;
        synchronized (this) {
            stamped = result.setSeq(nextSeq++).build();
            unacked.addLast(stamped);
            while (unacked.size() > capacity) {
                unacked.removeFirst();
                dropped++;
            }
            l = listener;
        }
        l.run();
        return stamped;
    }

    /** Drops everything up to and including {@code seq}. */
    public synchronized void ack(long seq) {
        if (seq > ackedUpTo) {
            ackedUpTo = seq;
        }
        while (!unacked.isEmpty() && unacked.peekFirst().getSeq() <= seq) {
            unacked.removeFirst();
        }
    }

    /** Up to {@code max} unacked results with seq greater than {@code afterSeq}, in seq order. */
    public synchronized List<ProbeResult> after(long afterSeq, int max) {
        List<ProbeResult> out = new ArrayList<>(Math.min(max, unacked.size()));
        for (ProbeResult r : unacked) {
            if (r.getSeq() > afterSeq) {
                out.add(r);
                if (out.size() == max) {
                    break;
                }
            }
        }
        return out;
    }

    public synchronized int size() {
        return unacked.size();
    }

    public synchronized long oldestUnackedSeq() {
        return unacked.isEmpty() ? 0 : unacked.peekFirst().getSeq();
    }

    public synchronized long ackedUpTo() {
        return ackedUpTo;
    }

    public synchronized long lastSeq() {
        return nextSeq - 1;
    }

    /** Results dropped because the buffer was full. */
    public synchronized long dropped() {
        return dropped;
    }
}
