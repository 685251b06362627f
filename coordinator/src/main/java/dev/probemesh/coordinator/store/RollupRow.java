package dev.probemesh.coordinator.store;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One check on one agent over one UTC hour.
 *
 * @param failuresByCode  non-OK results by failure code (the status name when a result had none)
 * @param latencySamples  how many successful runs (OK, DEGRADED) the percentiles are over; the
 *                        latency fields are 0 when this is 0. Failed runs are left out because
 *                        their "latency" is mostly the probe's deadline, not the network
 */
public record RollupRow(String checkId, String agent, Instant hourStart, long count, long okCount,
                        Map<String, Long> failuresByCode, long latencySamples, double latencyP50Ms,
                        double latencyP90Ms, double latencyP99Ms, double latencyMaxMs) {
    public RollupRow {
        Objects.requireNonNull(checkId, "checkId");
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(hourStart, "hourStart");
        failuresByCode = Map.copyOf(failuresByCode);
    }
}
