package dev.probemesh.coordinator.store;

import java.util.Objects;

/** A malformed result that was skipped (and is acked: the agent must not retry it). */
public record Rejected(long seq, String reason) {
    public Rejected {
        Objects.requireNonNull(reason, "reason");
    }
}
