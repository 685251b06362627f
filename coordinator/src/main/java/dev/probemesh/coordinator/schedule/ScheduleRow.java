package dev.probemesh.coordinator.schedule;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One stored schedule; the selector is kept sorted by key. Times are epoch milliseconds; {@code lastRunMs == 0} and an empty
 * {@code lastSweepId} mean it never ran.
 */
public record ScheduleRow(String id, String name, String cron, String timeZone, Map<String, String> selector,
        List<String> checkIds, int timeoutMs, long createdAtMs, long nextRunMs, long lastRunMs, String lastSweepId) {
    public ScheduleRow {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(cron, "cron");
        Objects.requireNonNull(timeZone, "timeZone");
        // Sorted by key: stored, listed and sent in the same order every time (Map.copyOf's order is random).
        selector = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(selector));
        checkIds = List.copyOf(checkIds);
        Objects.requireNonNull(lastSweepId, "lastSweepId");
    }

    ScheduleRow withNextRun(long nextRun) {
        return new ScheduleRow(id, name, cron, timeZone, selector, checkIds, timeoutMs, createdAtMs, nextRun,
                lastRunMs, lastSweepId);
    }

    ScheduleRow withLastRun(long at, String sweepId) {
        return new ScheduleRow(id, name, cron, timeZone, selector, checkIds, timeoutMs, createdAtMs, nextRunMs, at,
                sweepId);
    }
}
