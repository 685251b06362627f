package dev.probemesh.coordinator.store;

import dev.probemesh.common.failure.ProbeStatus;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * The newest result (by corrected time) of one check on one agent: one matrix cell.
 *
 * @param failure the failure code, null when none
 */
public record LatestRow(String agent, String checkId, int checkRevision, ProbeStatus status,
                        String failure, String detail, double latencyMs, Instant correctedAt,
                        Instant receivedAt, Map<String, String> attributes) {
    public LatestRow {
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(checkId, "checkId");
        Objects.requireNonNull(status, "status");
        detail = detail == null ? "" : detail;
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }
}
