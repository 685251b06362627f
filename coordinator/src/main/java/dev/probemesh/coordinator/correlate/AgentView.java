package dev.probemesh.coordinator.correlate;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * What correlation needs to know about one agent. {@code lastSeen} may be null for an agent that
 * never reported; labels are the agent's enrolment labels (site-level facts such as provider).
 */
public record AgentView(String name, String site, Map<String, String> labels, boolean connected,
                        Instant lastSeen, boolean ipv6Capable, boolean icmpCapable) {
    public AgentView {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(site, "site");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
}
