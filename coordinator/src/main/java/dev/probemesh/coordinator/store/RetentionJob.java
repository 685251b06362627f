package dev.probemesh.coordinator.store;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the raw results bounded: every {@code interval}, rolls up the completed hours (those
 * that ended at least {@code rollupDelay} ago, so that results still in flight are counted),
 * then purges raw results older than {@code retention}.
 */
public final class RetentionJob implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RetentionJob.class);

    /**
     * @param retention   how long raw results are kept (default 7 days)
     * @param interval    how often the job runs (default 5 minutes)
     * @param rollupDelay how long after an hour ends it is rolled up (default 10 minutes)
     */
    public record Settings(Duration retention, Duration interval, Duration rollupDelay) {
        public static final Settings DEFAULT =
                new Settings(Duration.ofDays(7), Duration.ofMinutes(5), Duration.ofMinutes(10));

        public Settings {
            Objects.requireNonNull(retention, "retention");
            Objects.requireNonNull(interval, "interval");
            Objects.requireNonNull(rollupDelay, "rollupDelay");
            if (retention.compareTo(Duration.ofHours(2)) < 0) {
                throw new IllegalArgumentException("retention " + retention
                        + " is too short: keep raw results at least 2 hours so hours can be rolled up");
            }
            if (interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("interval must be positive, got " + interval);
            }
            if (rollupDelay.isNegative()) {
                throw new IllegalArgumentException("rollupDelay must not be negative, got " + rollupDelay);
            }
        }
    }

    /** What one run did. */
    public record RunResult(int hoursRolledUp, int resultsPurged) {
    }

    private final Store store;
    private final Clock clock;
    private final Settings settings;
    private final ScheduledExecutorService executor;
    private final boolean ownsExecutor;
    private ScheduledFuture<?> future;

    /**
     * Runs on {@code executor}, which the caller owns (and shuts down), keeping raw results for
     * {@code retention} with the default interval and roll-up delay.
     */
    public RetentionJob(Store store, ScheduledExecutorService executor, Duration retention, Clock clock) {
        this(store, clock, new Settings(retention, Settings.DEFAULT.interval(),
                Settings.DEFAULT.rollupDelay()), executor, false);
    }

    /** Runs on {@code executor}, which the caller owns (and shuts down). */
    public RetentionJob(Store store, Clock clock, Settings settings, ScheduledExecutorService executor) {
        this(store, clock, settings, executor, false);
    }

    /** Runs on a daemon thread of its own, stopped by {@link #close()}. */
    public RetentionJob(Store store, Clock clock, Settings settings) {
        this(store, clock, settings, Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "store-retention");
            t.setDaemon(true);
            return t;
        }), true);
    }

    private RetentionJob(Store store, Clock clock, Settings settings,
                         ScheduledExecutorService executor, boolean ownsExecutor) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.ownsExecutor = ownsExecutor;
    }

    /** Schedules the job: a first run soon, then every interval. */
    public synchronized void start() {
        if (future != null) {
            throw new IllegalStateException("already started");
        }
        long period = settings.interval().toMillis();
        future = executor.scheduleWithFixedDelay(this::runSafely, Math.min(period, 10_000), period,
                TimeUnit.MILLISECONDS);
    }

    /** One run, now, on the caller's thread. */
    public RunResult runOnce() {
        Instant now = clock.instant();
        int hours = store.rollUpHoursBefore(now.minus(settings.rollupDelay()));
        int purged = store.purgeResultsBefore(now.minus(settings.retention()));
        if (hours > 0 || purged > 0) {
            log.info("retention hoursRolledUp={} resultsPurged={}", hours, purged);
        }
        return new RunResult(hours, purged);
    }

    private void runSafely() {
        try {
            runOnce();
        } catch (RuntimeException e) {
            // A failed run must not cancel the schedule (the executor would drop it silently).
            log.warn("retention run failed, retrying next interval: {}", e.toString(), e);
        }
    }

    @Override
    public synchronized void close() {
        if (future != null) {
            future.cancel(false);
        }
        if (ownsExecutor) {
            executor.shutdown();
            try {
                if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                    executor.shutdownNow();
                }
            } catch (InterruptedException e) {
                executor.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }
}
