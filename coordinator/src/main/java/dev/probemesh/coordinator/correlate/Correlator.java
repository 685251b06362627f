package dev.probemesh.coordinator.correlate;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Turns a window of observations into findings: a pure function (no I/O, no clock, no state).
 *
 * <p>Model (after Kompella et al., "IP fault localization via risk modeling", NSDI 2005): every
 * observation depends on risk groups: the site's egress for a protocol/port/family, its route per
 * family, its resolver, the target endpoint, each zone's authority in the name's chain, a CDN
 * edge, the agent itself. A check failing from (nearly) every site implicates a global group (the
 * target, a zone's authority, an edge); the rest is explained per site by a greedy set cover over
 * the site's risk groups that never contradicts a success at that site, choosing the group that
 * explains the most failures and, on ties, the narrowest one. Details in {@link CorrelationRun}.
 */
public final class Correlator {

    public CorrelationResult correlate(List<AgentView> agents, List<CheckView> checks, List<Observation> window,
                                       Instant now, CorrelationConfig cfg) {
        Objects.requireNonNull(agents, "agents");
        Objects.requireNonNull(checks, "checks");
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(cfg, "cfg");
        return new CorrelationRun(agents, checks, window, now, cfg).run();
    }
}
