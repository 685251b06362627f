package dev.probemesh.coordinator.store;

import dev.probemesh.proto.v1.ProbeResult;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** One agent's result batch, for {@link Store#ingestMany} (group commit of many agents). */
public record IngestBatch(String agent, String incarnation, List<ProbeResult> results,
                          Instant receivedAt, long clockSkewMs) {
    public IngestBatch {
        Objects.requireNonNull(agent, "agent");
        incarnation = incarnation == null ? "" : incarnation;
        results = List.copyOf(results);
        Objects.requireNonNull(receivedAt, "receivedAt");
    }
}
