package dev.probemesh.coordinator.correlate;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A finding with a lifecycle: the verdict of DESIGN.md (mirrors {@code probemesh.v1.Verdict}).
 * {@code closedAt} is null while open; {@code cells} ("agent|checkId") are the red cells it
 * explains (not part of the wire message: a restored verdict has none until its next update).
 */
public record Verdict(String id, FindingKind kind, State state, Instant openedAt, Instant closedAt, String site,
                      List<String> sites, List<String> agents, Component component, List<String> checks,
                      double confidence, String summary, List<Evidence> evidence, String remedy, String target,
                      String undecided, List<String> cells) {

    public enum State { OPEN, CLOSED }

    public Verdict {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(openedAt, "openedAt");
        sites = List.copyOf(sites);
        agents = List.copyOf(agents);
        checks = List.copyOf(checks);
        evidence = List.copyOf(evidence);
        cells = cells == null ? List.of() : List.copyOf(cells);
    }

    /** The identity this verdict keeps while open (same rule as {@link Finding#key()}). */
    public String key() {
        return Finding.key(kind, site, sites, component, target);
    }

    public dev.probemesh.proto.v1.Verdict toProto() {
        var b = dev.probemesh.proto.v1.Verdict.newBuilder()
                .setId(id)
                .setKind(kind.name())
                .setState(state.name())
                .setOpenedAtMs(openedAt.toEpochMilli())
                .setClosedAtMs(closedAt == null ? 0 : closedAt.toEpochMilli())
                .addAllSites(sites)
                .addAllAgents(agents)
                .addAllChecks(checks)
                .setConfidence(confidence);
        if (site != null) {
            b.setSite(site);
        }
        if (component != null) {
            b.setComponent(component.toProto());
        }
        if (summary != null) {
            b.setSummary(summary);
        }
        for (Evidence e : evidence) {
            b.addEvidence(e.toProto());
        }
        if (remedy != null) {
            b.setRemedy(remedy);
        }
        if (target != null) {
            b.setTarget(target);
        }
        if (undecided != null) {
            b.setUndecided(undecided);
        }
        return b.build();
    }

    /** The inverse of {@link #toProto()} (for restoring stored verdicts); cells come back empty. */
    public static Verdict fromProto(dev.probemesh.proto.v1.Verdict p) {
        return new Verdict(p.getId(), FindingKind.valueOf(p.getKind()), State.valueOf(p.getState()),
                Instant.ofEpochMilli(p.getOpenedAtMs()),
                p.getClosedAtMs() == 0 ? null : Instant.ofEpochMilli(p.getClosedAtMs()),
                Component.emptyToNull(p.getSite()), p.getSitesList(), p.getAgentsList(),
                p.hasComponent() ? Component.fromProto(p.getComponent()) : null, p.getChecksList(), p.getConfidence(),
                Component.emptyToNull(p.getSummary()), p.getEvidenceList().stream().map(Evidence::fromProto).toList(),
                Component.emptyToNull(p.getRemedy()), Component.emptyToNull(p.getTarget()),
                Component.emptyToNull(p.getUndecided()), List.of());
    }
}
