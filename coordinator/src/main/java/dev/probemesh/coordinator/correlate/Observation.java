package dev.probemesh.coordinator.correlate;

import dev.probemesh.common.failure.ProbeStatus;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One probe result as correlation sees it. {@code at} is the coordinator-corrected time.
 * {@code failure} is a {@link dev.probemesh.common.failure.FailureCode} name or null.
 *
 * <p>Attributes read by correlation (the probes' contract): dns {@code rcode, resolver, transport};
 * dns-trace {@code zone, chain, zones}; http {@code http_status, cf_error}; icmp {@code loss_pct};
 * tcp {@code rejected_by}. Two more the integrator should copy from {@code ProbeResult}:
 * {@code address} (the address actually dialled; links a name to its IPs) and {@code family}
 * (ipv4/ipv6 actually used, for family-any checks).
 */
public record Observation(String agent, String checkId, ProbeStatus status, String failure, String detail,
                          Map<String, String> attributes, Instant at) {
    public Observation {
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(checkId, "checkId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(at, "at");
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
        if (failure != null && failure.isEmpty()) {
            failure = null;
        }
    }

    String attr(String name) {
        return attributes.get(name);
    }
}
