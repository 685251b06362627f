package dev.probemesh.coordinator.store;

import dev.probemesh.common.failure.ProbeStatus;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One stored raw result.
 *
 * @param failure the failure code, null when none
 * @param sweepId the sweep that requested the run, null for scheduled runs
 * @param address the address actually dialled or queried ("" when none)
 * @param family  the family actually used: ipv4, ipv6 or any
 */
public record ResultRow(String agent, String checkId, int revision, ProbeStatus status,
                        String failure, String detail, double latencyMs, Instant observedAt,
                        Instant correctedAt, Instant receivedAt, Map<String, String> attributes,
                        String sweepId, String incarnation, long seq, String address,
                        String family) {
    public ResultRow {
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(checkId, "checkId");
        Objects.requireNonNull(status, "status");
        detail = detail == null ? "" : detail;
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
        address = address == null ? "" : address;
        family = family == null ? "any" : family;
    }
}
