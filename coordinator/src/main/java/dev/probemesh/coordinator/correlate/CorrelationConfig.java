package dev.probemesh.coordinator.correlate;

import java.time.Duration;

/**
 * Tuning of correlation and of the verdict lifecycle.
 *
 * @param confirmRounds       a cell is failing (or OK) when its last N results all are (default 2)
 * @param silentAfterIntervals a cell is stale, and an agent whose cells are all stale is silent,
 *                             after this many check intervals without a result (default 3)
 * @param outageQuorum        share of the sites that ran a check that must fail it for a global
 *                            verdict (default 0.8: with 3 sites, 2 failing is a local block)
 * @param minSitesForGlobal   fewest failing sites for a global verdict (default 2)
 * @param defaultIntervalMs   interval assumed for checks that carry none (default 10 s)
 * @param closeAfter          a verdict closes when its finding has been absent this long; null =
 *                            {@code closeAfterRounds} x the longest interval of its checks
 * @param closeAfterRounds    see closeAfter (default 2)
 * @param reopenHold          a finding that returns within this time after its verdict closed
 *                            reopens the same verdict (default 2 minutes)
 * @param keepClosed          how long closed verdicts stay listed by recentlyClosed (default 1 hour)
 */
public record CorrelationConfig(int confirmRounds, int silentAfterIntervals, double outageQuorum, int minSitesForGlobal,
                                long defaultIntervalMs, Duration closeAfter, int closeAfterRounds, Duration reopenHold,
                                Duration keepClosed) {
    public CorrelationConfig {
        if (confirmRounds < 1) {
            throw new IllegalArgumentException("confirmRounds must be at least 1, got " + confirmRounds);
        }
        if (silentAfterIntervals < 1) {
            throw new IllegalArgumentException("silentAfterIntervals must be at least 1, got " + silentAfterIntervals);
        }
        if (!(outageQuorum > 0 && outageQuorum <= 1)) {
            throw new IllegalArgumentException("outageQuorum must be in (0, 1], got " + outageQuorum);
        }
        if (minSitesForGlobal < 2) {
            throw new IllegalArgumentException("minSitesForGlobal must be at least 2 (one site cannot tell a"
                    + " local block from an outage), got " + minSitesForGlobal);
        }
        if (defaultIntervalMs <= 0) {
            throw new IllegalArgumentException("defaultIntervalMs must be positive, got " + defaultIntervalMs);
        }
        if (closeAfterRounds < 1) {
            throw new IllegalArgumentException("closeAfterRounds must be at least 1, got " + closeAfterRounds);
        }
        if (closeAfter != null && closeAfter.isNegative()) {
            throw new IllegalArgumentException("closeAfter must not be negative, got " + closeAfter);
        }
        reopenHold = reopenHold == null ? Duration.ofMinutes(2) : reopenHold;
        keepClosed = keepClosed == null ? Duration.ofHours(1) : keepClosed;
    }

    public static CorrelationConfig defaults() {
        return new CorrelationConfig(2, 3, 0.8, 2, 10_000, null, 2, Duration.ofMinutes(2), Duration.ofHours(1));
    }

    public CorrelationConfig withConfirmRounds(int n) {
        return new CorrelationConfig(n, silentAfterIntervals, outageQuorum, minSitesForGlobal, defaultIntervalMs,
                closeAfter, closeAfterRounds, reopenHold, keepClosed);
    }

    public CorrelationConfig withCloseAfter(Duration d) {
        return new CorrelationConfig(confirmRounds, silentAfterIntervals, outageQuorum, minSitesForGlobal,
                defaultIntervalMs, d, closeAfterRounds, reopenHold, keepClosed);
    }

    public CorrelationConfig withReopenHold(Duration d) {
        return new CorrelationConfig(confirmRounds, silentAfterIntervals, outageQuorum, minSitesForGlobal,
                defaultIntervalMs, closeAfter, closeAfterRounds, d, keepClosed);
    }

    /** How long a verdict over checks with this interval waits, absent, before it closes. */
    Duration closeAfterFor(long intervalMs) {
        if (closeAfter != null) {
            return closeAfter;
        }
        long iv = intervalMs > 0 ? intervalMs : defaultIntervalMs;
        return Duration.ofMillis(iv * closeAfterRounds);
    }
}
