package dev.probemesh.coordinator.store;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * An agent as the coordinator knows it.
 *
 * @param capabilities probemesh.v1.Capabilities bytes (empty when unknown)
 * @param clockSkewMs  agent clock minus coordinator clock, estimated from the stream
 */
public record AgentRow(String name, String site, Map<String, String> labels, String version,
                       byte[] capabilities, Instant firstSeen, Instant lastSeen, long clockSkewMs) {
    public AgentRow {
        Objects.requireNonNull(name, "name");
        site = site == null ? "" : site;
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        version = version == null ? "" : version;
        capabilities = capabilities == null ? new byte[0] : capabilities.clone();
        Objects.requireNonNull(firstSeen, "firstSeen");
        Objects.requireNonNull(lastSeen, "lastSeen");
    }

    @Override
    public byte[] capabilities() {
        return capabilities.clone();
    }

    // Records compare arrays by identity; an agent row is a value, so compare the bytes.
    @Override
    public boolean equals(Object o) {
        return o instanceof AgentRow a && name.equals(a.name) && site.equals(a.site)
                && labels.equals(a.labels) && version.equals(a.version)
                && java.util.Arrays.equals(capabilities, a.capabilities)
                && firstSeen.equals(a.firstSeen) && lastSeen.equals(a.lastSeen)
                && clockSkewMs == a.clockSkewMs;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, site, labels, version, java.util.Arrays.hashCode(capabilities),
                firstSeen, lastSeen, clockSkewMs);
    }
}
