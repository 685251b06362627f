package dev.probemesh.coordinator.correlate;

import java.util.List;
import java.util.Objects;

/**
 * One explanation produced by a correlation run. {@code site} is null for global kinds;
 * {@code cells} lists the red cells ("agent|checkId") this finding explains; {@code intervalMs} is
 * the longest interval of the checks involved (the tracker's unit for "rounds").
 */
public record Finding(FindingKind kind, String site, List<String> sites, List<String> agents, Component component,
                      List<String> checks, String target, double confidence, String summary, List<Evidence> evidence,
                      String remedy, String undecided, List<String> cells, long intervalMs) {
    public Finding {
        Objects.requireNonNull(kind, "kind");
        sites = List.copyOf(sites);
        agents = List.copyOf(agents);
        checks = List.copyOf(checks);
        evidence = List.copyOf(evidence);
        cells = List.copyOf(cells);
        if (confidence < 0 || confidence > 1) {
            throw new IllegalArgumentException("confidence must be within 0..1, got " + confidence);
        }
    }

    /** The identity a verdict keeps while open: kind, site (or the site list), component, target. */
    public String key() {
        return key(kind, site, sites, component, target);
    }

    static String key(FindingKind kind, String site, List<String> sites, Component component, String target) {
        String where = site != null ? site : (kind == FindingKind.LOCAL_PATH_BLOCK || kind == FindingKind.INCONCLUSIVE
                || kind == FindingKind.DEGRADED ? "*" + String.join(",", sites) : "*");
        return kind + "|" + where + "|" + (component == null ? "-" : component.key()) + "|" + (target == null ? "-" : target);
    }
}
