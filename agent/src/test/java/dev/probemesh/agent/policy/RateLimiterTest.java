package dev.probemesh.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Token buckets with a fake clock: nanoTime values passed in. */
class RateLimiterTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void allowsTheBurstThenOnePerSecondPerTarget() {
        RateLimiter r = new RateLimiter(new RateLimiter.Rate(1, 5), new RateLimiter.Rate(200, 200));
        long t = 1_000 * SECOND;
        for (int i = 0; i < 5; i++) {
            assertThat(r.tryAcquire("a", t)).isTrue();
        }
        assertThat(r.tryAcquire("a", t)).isFalse();
        assertThat(r.tryAcquire("a", t + SECOND / 2)).isFalse();
        assertThat(r.tryAcquire("a", t + SECOND)).isTrue();
        assertThat(r.tryAcquire("a", t + SECOND)).isFalse();
    }

    @Test
    void targetsHaveSeparateBuckets() {
        RateLimiter r = new RateLimiter(new RateLimiter.Rate(1, 1), new RateLimiter.Rate(200, 200));
        assertThat(r.tryAcquire("a", 0)).isTrue();
        assertThat(r.tryAcquire("a", 0)).isFalse();
        assertThat(r.tryAcquire("b", 0)).isTrue();
    }

    @Test
    void globalCeilingCapsAllTargetsTogether() {
        RateLimiter r = new RateLimiter(new RateLimiter.Rate(10, 10), new RateLimiter.Rate(2, 3));
        assertThat(r.tryAcquire("a", 0)).isTrue();
        assertThat(r.tryAcquire("b", 0)).isTrue();
        assertThat(r.tryAcquire("c", 0)).isTrue();
        assertThat(r.acquire("d", 0)).hasValue("agent rate ceiling: more than 2/s (burst 3) in total");
        assertThat(r.tryAcquire("d", SECOND / 2)).isTrue();
    }

    @Test
    void aRefusedRunCostsNoToken() {
        RateLimiter r = new RateLimiter(new RateLimiter.Rate(1, 1), new RateLimiter.Rate(1, 1));
        assertThat(r.tryAcquire("a", 0)).isTrue();
        // "b" is refused by the global bucket: its own bucket must stay full.
        assertThat(r.tryAcquire("b", 0)).isFalse();
        assertThat(r.tryAcquire("b", SECOND)).isTrue();
    }

    @Test
    void bucketsNeverHoldMoreThanTheBurst() {
        RateLimiter r = new RateLimiter(new RateLimiter.Rate(1, 2), new RateLimiter.Rate(200, 200));
        long later = 3_600 * SECOND;
        assertThat(r.tryAcquire("a", 0)).isTrue();
        assertThat(r.tryAcquire("a", later)).isTrue();
        assertThat(r.tryAcquire("a", later)).isTrue();
        assertThat(r.tryAcquire("a", later)).isFalse();
    }

    @Test
    void forgetsIdleTargetsSoMemoryStaysBounded() {
        RateLimiter r = new RateLimiter(new RateLimiter.Rate(1, 1), new RateLimiter.Rate(1e9, 1_000_000));
        for (int i = 0; i < RateLimiter.SWEEP_AT; i++) {
            r.tryAcquire("t" + i, 0);
        }
        assertThat(r.trackedTargets()).isEqualTo(RateLimiter.SWEEP_AT);
        r.tryAcquire("fresh", 10 * SECOND);
        assertThat(r.trackedTargets()).isEqualTo(1);
    }

    @Test
    void toleratesAClockThatStartsNegative() {
        RateLimiter r = new RateLimiter(new RateLimiter.Rate(1, 1), new RateLimiter.Rate(200, 200));
        assertThat(r.tryAcquire("a", Long.MIN_VALUE + 5)).isTrue();
        assertThat(r.tryAcquire("a", Long.MIN_VALUE + 5 + SECOND)).isTrue();
    }
}
