package dev.probemesh.agent.policy;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * The agent's rate ceilings as token buckets: one per target (default 1 probe/s sustained, burst
 * 5) and one for the whole agent (default 200/s), so a mistaken or compromised coordinator cannot
 * turn the fleet into a flood. Pure: the clock is passed in. A run takes a token from both
 * buckets or from neither. Thread-safe.
 */
public final class RateLimiter {
    /** How many idle per-target buckets are kept before full (idle) ones are dropped. */
    static final int SWEEP_AT = 10_000;

    /** A sustained rate and a burst. */
    public record Rate(double perSecond, int burst) {
        public Rate {
            if (!(perSecond > 0) || burst < 1) {
                throw new IllegalArgumentException("a rate needs per_second > 0 and burst >= 1, got " + perSecond
                        + "/s burst " + burst);
            }
        }

        @Override
        public String toString() {
            return (perSecond == Math.rint(perSecond) ? Long.toString((long) perSecond) : Double.toString(perSecond))
                    + "/s (burst " + burst + ")";
        }
    }

    private static final class Bucket {
        double tokens;
        long at;

        Bucket(double tokens, long at) {
            this.tokens = tokens;
            this.at = at;
        }

        void refill(Rate r, long now) {
            long dt = now - at;
            if (dt > 0) {
                tokens = Math.min(r.burst(), tokens + dt / 1e9 * r.perSecond());
                at = now;
            }
        }
    }

    private final Rate perTarget;
    private final Rate global;
    private final Map<String, Bucket> targets = new HashMap<>();
    private Bucket all;

    public RateLimiter(Rate perTarget, Rate global) {
        this.perTarget = perTarget;
        this.global = global;
    }

    /** True (and a token taken from both buckets) when a probe of {@code targetKey} may run at {@code nowNanos}. */
    public boolean tryAcquire(String targetKey, long nowNanos) {
        return acquire(targetKey, nowNanos).isEmpty();
    }

    /** Empty when allowed (tokens taken); otherwise which ceiling refused, for the result's detail. */
    public synchronized Optional<String> acquire(String targetKey, long nowNanos) {
        if (all == null) {
            all = new Bucket(global.burst(), nowNanos);
        }
        all.refill(global, nowNanos);
        Bucket b = targets.get(targetKey);
        if (b == null) {
            if (targets.size() >= SWEEP_AT) {
                sweep(nowNanos);
            }
            b = new Bucket(perTarget.burst(), nowNanos);
            targets.put(targetKey, b);
        }
        b.refill(perTarget, nowNanos);
        if (b.tokens < 1) {
            return Optional.of("agent rate ceiling: more than " + perTarget + " to target " + targetKey);
        }
        if (all.tokens < 1) {
            return Optional.of("agent rate ceiling: more than " + global + " in total");
        }
        b.tokens -= 1;
        all.tokens -= 1;
        return Optional.empty();
    }

    /** Drops buckets that have refilled completely: forgetting them changes no decision. */
    private void sweep(long now) {
        for (Iterator<Bucket> it = targets.values().iterator(); it.hasNext(); ) {
            Bucket b = it.next();
            b.refill(perTarget, now);
            if (b.tokens >= perTarget.burst()) {
                it.remove();
            }
        }
    }

    /** Per-target buckets currently held (for tests and metrics). */
    synchronized int trackedTargets() {
        return targets.size();
    }

    public Rate perTarget() {
        return perTarget;
    }

    public Rate global() {
        return global;
    }
}
