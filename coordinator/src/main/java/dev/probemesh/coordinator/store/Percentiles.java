package dev.probemesh.coordinator.store;

import java.util.Arrays;

/** Exact nearest-rank percentiles over latency samples (microseconds). */
final class Percentiles {
    private Percentiles() {
    }

    /**
     * The nearest-rank percentile: the smallest sample such that at least p % of the samples are
     * less than or equal to it. {@code sorted} must be sorted ascending and non-empty.
     */
    static long nearestRank(long[] sorted, int n, double p) {
        if (n <= 0) {
            throw new IllegalArgumentException("no samples");
        }
        int rank = (int) Math.ceil(p / 100.0 * n);
        return sorted[Math.min(Math.max(rank, 1), n) - 1];
    }

    /** A growable array of samples. */
    static final class Samples {
        private long[] values = new long[8];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        int size() {
            return size;
        }

        /** Sorts in place and returns the backing array (valid up to {@link #size()}). */
        long[] sorted() {
            Arrays.sort(values, 0, size);
            return values;
        }
    }
}
