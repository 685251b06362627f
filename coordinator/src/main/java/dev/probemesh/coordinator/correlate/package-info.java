/**
 * Correlation: from a matrix of observations to verdicts an operator trusts.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * Correlator correlator = new Correlator();                 // stateless, pure
 * VerdictTracker tracker = VerdictTracker.restore(stored, cfg); // or new VerdictTracker(cfg)
 * // on every new batch (or every few seconds):
 * CorrelationResult r = correlator.correlate(agentViews, checkViews, window, now, cfg);
 * List<Verdict> changed = tracker.update(r, now);            // store + notify these
 * tracker.open(); tracker.recentlyClosed(since); tracker.cellVerdicts();
 * }</pre>
 * The window should hold, per (agent, check), at least the last {@code confirmRounds} + 2 results
 * (fewer still works, but onset holds are then bounded only by the other checks settling; more is
 * fine; the cost is linear in the window's size). Observation times are
 * coordinator-corrected. Copy {@code ProbeResult.address} into attribute {@code address} and the
 * family actually used into {@code family}: they link a name to its addresses and let family-any
 * checks be attributed to a family.
 *
 * <h2>Rules worth knowing</h2>
 * <ul>
 * <li>A cell counts when its last {@code confirmRounds} results agree (FAIL/ERROR = failing);
 * one red round opens nothing.</li>
 * <li>A silent agent (disconnected, or every cell older than {@code silentAfterIntervals}
 * intervals) is AGENT_SILENT and nothing else: its absence is never read as a failure.</li>
 * <li>Global: a check failing at {@code >= minSitesForGlobal} sites and {@code >= outageQuorum}
 * of the sites that rated it. Otherwise it is local to the failing sites.</li>
 * <li>Zone presumption: while exactly one zone's authority is proven down by a trace, any other
 * name failing to resolve everywhere (SERVFAIL, DNS timeout, CDN 530/1016) and not proven
 * independent by a succeeding trace joins that SHARED_DEPENDENCY_OUTAGE; the verdict names the
 * presumed names and says which trace check would prove it.</li>
 * <li>An edge reporting its origin down joins the outage of that origin (linked by address,
 * or the only endpoint down).</li>
 * <li>Local: greedy set cover over the site's risk groups (egress per protocol/port/family,
 * route per family, resolver, one destination), never contradicting a success at the site; most
 * failures explained first, the narrowest group on ties. A block is LOCAL_PATH_BLOCK when another
 * agent succeeds on one of its checks, or the agent's own host refused (LOCAL_FIREWALL); else
 * INCONCLUSIVE with what would decide it. While another agent's cell on those checks has just
 * turned red (newest result failed, not yet confirmed) nothing is said until the next round: an
 * outage reaches confirmation at one site a moment before the others, and a local block that
 * opens and closes again would be noise.</li>
 * <li>Onset: checks of one incident confirm a tick or a round apart. A name failing to resolve
 * everywhere waits while a trace could still decide it (a trace of the name not confirmed yet or
 * not run since the failure began, any trace turning red); an edge's "origin down" waits while
 * the origin's own checks turn red; a site's local cover waits while more of its cells turn red.
 * Each wait ends at most 2 rounds after confirmation, then the run decides with what is there.</li>
 * <li>The tracker never keeps two open verdicts over one red cell: a verdict whose cells a present
 * finding explains is closed at once ("superseded by v-..."), and a finding inside a wider open
 * verdict opens nothing.</li>
 * <li>ICMP filtering next to another block at the same site is folded into it (summary and
 * remedy say so); alone it is its own LOCAL_PATH_BLOCK {layer network, protocol icmp}.</li>
 * <li>Sites with the same block sharing a label no succeeding site carries are one block
 * (site null, sites listed, the label in the summary).</li>
 * <li>UNSUPPORTED, POLICY_DENIED and INTERNAL, and what a host reports it cannot do (IPv6,
 * ICMP), are neither failures nor successes.</li>
 * </ul>
 */
package dev.probemesh.coordinator.correlate;
