package dev.probemesh.coordinator.correlate;

import java.time.Instant;
import java.util.List;

/**
 * The output of one correlation run: findings in a stable order (kind, site, key).
 * {@code windowFrom}/{@code windowTo} span the observations that were read (both {@code now}
 * when the window was empty).
 */
public record CorrelationResult(Instant generatedAt, Instant windowFrom, Instant windowTo, List<Finding> findings) {
    public CorrelationResult {
        findings = List.copyOf(findings);
    }
}
