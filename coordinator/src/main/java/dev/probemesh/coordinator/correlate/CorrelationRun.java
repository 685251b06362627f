package dev.probemesh.coordinator.correlate;

import dev.probemesh.common.check.Hosts;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * One correlation run. Stages, in order:
 * <ol>
 * <li><b>Cells.</b> Per (agent, check) the last {@code confirmRounds} results, ordered by time
 * (ties broken by content, so input order never matters). All failed (FAIL/ERROR): FAIL; all OK:
 * OK; all DEGRADED: DEGRADED; anything else is pending. A cell whose last result is older than
 * {@code silentAfterIntervals} intervals is stale. UNSUPPORTED, POLICY_DENIED and INTERNAL say
 * something about the agent, not the network: such cells are left out.</li>
 * <li><b>Silence.</b> An agent that is disconnected, or whose cells are all stale, is silent: an
 * AGENT_SILENT finding, and none of its cells is read as anything else.</li>
 * <li><b>Global.</b> A check failing at {@code >= minSitesForGlobal} sites and at least
 * {@code outageQuorum} of the sites that rated it is a global failure. Global failures are
 * grouped: (a) a dns-trace failing everywhere with DNS_AUTHORITY_UNREACHABLE proves a zone's
 * authority down: SHARED_DEPENDENCY_OUTAGE. It takes every global failure that resolves a name of
 * the trace's chain or under the zone, and, <i>by presumption</i>, every other global resolution
 * failure (SERVFAIL, DNS timeout, CDN 530/1016) whose name no successful trace proves independent,
 * provided exactly one zone is down: the same symptom at the same time from every site is far
 * likelier one outage than two (the summary says which names are presumed and how to prove it).
 * (b) Checks dialled at a CDN edge that cannot be reached: SHARED_DEPENDENCY_OUTAGE of the edge.
 * (c) The rest by endpoint (a name and the addresses it resolves to are one endpoint):
 * TARGET_OUTAGE. An edge reporting its origin down (520-526) belongs to the outage of the origin
 * behind it; when that origin cannot be linked by address and exactly one other endpoint is down,
 * to that one.</li>
 * <li><b>Policy.</b> WAF challenges and rate limits mean the target answered: TARGET_POLICY_BLOCK
 * per site (global when the quorum of sites is refused).</li>
 * <li><b>Local.</b> Per site, a greedy set cover of the remaining failures over the site's risk
 * groups; a group is a candidate only while no success at that site depends on it. Each chosen
 * group is a LOCAL_PATH_BLOCK when another site succeeds on one of its checks (or the agent's own
 * host refused the packet), else INCONCLUSIVE. ICMP filtering found next to another block at the
 * same site is folded into it (a whitelist firewall drops ping too; one alert, one table).</li>
 * <li><b>Degraded.</b> Confirmed DEGRADED cells: DEGRADED per site, or global at the quorum.</li>
 * </ol>
 */
final class CorrelationRun {

    enum State { OK, FAIL, DEGRADED, PENDING, EXCLUDED, STALE }

    /** A risk group at one site: a component, optionally toward one destination. */
    record Group(Component comp, String dest) {
        int width() {
            int w = 0;
            if (comp.protocol() == null || comp.protocol().equals("any")) {
                w++;
            }
            if (comp.family().equals("any")) {
                w++;
            }
            if (comp.layer().equals("dns") && comp.port() != null && comp.resolver() == null) {
                w++;
            }
            if (dest == null) {
                w++;
            }
            return w;
        }

        String sortKey() {
            return comp.key() + "|" + (dest == null ? "" : dest);
        }
    }

    static final Comparator<Observation> NEWEST_FIRST = Comparator
            .comparing(Observation::at).reversed()
            .thenComparing(o -> o.status().ordinal())
            .thenComparing(Observation::failure, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(Observation::detail, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(o -> new TreeMap<>(o.attributes()).toString());

    private static final Set<FailureCode> POLICY = Set.of(FailureCode.HTTP_WAF_CHALLENGE,
            FailureCode.HTTP_RATE_LIMITED);
    private static final Set<FailureCode> AGENT_SIDE = Set.of(FailureCode.POLICY_DENIED, FailureCode.INTERNAL,
            FailureCode.UNSUPPORTED);
    private static final Set<FailureCode> DNS_ANSWER = Set.of(FailureCode.DNS_SERVFAIL, FailureCode.DNS_NXDOMAIN,
            FailureCode.DNS_REFUSED, FailureCode.DNS_NODATA, FailureCode.DNS_UNEXPECTED_ANSWER,
            FailureCode.DNS_AUTHORITY_UNREACHABLE);
    private static final Set<FailureCode> RESOLUTION_FAILURE = Set.of(FailureCode.DNS_SERVFAIL,
            FailureCode.DNS_TIMEOUT, FailureCode.DNS_AUTHORITY_UNREACHABLE, FailureCode.HTTP_CDN_ORIGIN_DNS);

    /**
     * Rounds a global verdict may be held back past confirmation while what would decide it (a
     * trace of the name, the origin behind an edge) is still turning: bounded, then it is decided
     * with what is there.
     */
    static final int ONSET_HOLD_ROUNDS = 2;

    /** Rows of evidence per finding, at most. */
    static final int MAX_EVIDENCE = 200;

    private final CorrelationConfig cfg;
    private final Instant now;
    private final List<AgentView> agents;
    private final List<CheckView> checks;
    private final List<Observation> window;
    private final List<String> sites;
    private final int[] agentSite;
    /** Agent indexes per site index: the local stage never scans the whole fleet per site. */
    private final int[][] siteAgents;
    /** Check indexes in the operator's table order (ICMP, TCP, DNS, TLS, HTTP; IP before name...). */
    private final List<Integer> tableOrder;
    /** Per check: live OK cells across the fleet. */
    private int[] okCount;
    private final int nA;
    private final int nC;

    /** Results kept per cell, newest first: confirmRounds, plus enough to measure a hold. */
    private int depth;
    private Observation[] recent;
    private long[] recentMs;
    private int[] recentCount;
    private State[] state;
    private FailureCode[] code;
    private boolean[] silent;
    private final Aliases aliases = new Aliases();
    private final List<Finding> findings = new ArrayList<>();
    /** Failing cells already explained (global, policy); the local stage skips them. */
    private boolean[] explained;
    private boolean[] globalCheck;
    private Instant windowFrom;
    private Instant windowTo;

    CorrelationRun(List<AgentView> agents, List<CheckView> checks, List<Observation> window, Instant now,
                   CorrelationConfig cfg) {
        this.cfg = cfg;
        this.now = now;
        Map<String, AgentView> byName = new TreeMap<>();
        for (AgentView a : agents) {
            byName.merge(a.name(), a, (x, y) -> x.toString().compareTo(y.toString()) <= 0 ? x : y);
        }
        this.agents = List.copyOf(byName.values());
        Map<String, CheckView> byId = new TreeMap<>();
        for (CheckView c : checks) {
            byId.merge(c.id(), c, (x, y) -> x.toString().compareTo(y.toString()) <= 0 ? x : y);
        }
        this.checks = List.copyOf(byId.values());
        this.window = window;
        this.sites = this.agents.stream().map(AgentView::site).distinct().sorted().toList();
        this.nA = this.agents.size();
        this.nC = this.checks.size();
        this.agentSite = new int[nA];
        Map<String, Integer> siteIdx = new HashMap<>();
        for (int s = 0; s < sites.size(); s++) {
            siteIdx.put(sites.get(s), s);
        }
        int[] perSite = new int[sites.size()];
        for (int a = 0; a < nA; a++) {
            agentSite[a] = siteIdx.get(this.agents.get(a).site());
            perSite[agentSite[a]]++;
        }
        this.siteAgents = new int[sites.size()][];
        for (int s = 0; s < sites.size(); s++) {
            siteAgents[s] = new int[perSite[s]];
            perSite[s] = 0;
        }
        for (int a = 0; a < nA; a++) {
            siteAgents[agentSite[a]][perSite[agentSite[a]]++] = a;
        }
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < nC; c++) {
            order.add(c);
        }
        Map<Integer, String> keys = new HashMap<>();
        for (int c = 0; c < nC; c++) {
            keys.put(c, tableKey(this.checks.get(c)));
        }
        order.sort(Comparator.comparing(keys::get));
        this.tableOrder = List.copyOf(order);
    }

    CorrelationResult run() {
        buildCells();
        findSilent();
        okCount = new int[nC];
        for (int a = 0; a < nA; a++) {
            for (int c = 0; c < nC; c++) {
                if (live(a, c) == State.OK) {
                    okCount[c]++;
                }
            }
        }
        buildAliases();
        explained = new boolean[nA * nC];
        globalCheck = new boolean[nC];
        globalStage();
        policyStage();
        localStage();
        mergeLabelGroups();
        degradedStage();
        List<Finding> out = new ArrayList<>(findings);
        out.sort(Comparator.comparing(Finding::kind)
                .thenComparing(f -> f.site() == null ? "" : f.site())
                .thenComparing(Finding::key));
        return new CorrelationResult(now, windowFrom == null ? now : windowFrom, windowTo == null ? now : windowTo,
                out);
    }

    // ---------------------------------------------------------------- cells

    private void buildCells() {
        int n = cfg.confirmRounds();
        depth = n + ONSET_HOLD_ROUNDS;
        Map<String, Integer> agentIdx = new HashMap<>(nA * 2);
        for (int a = 0; a < nA; a++) {
            agentIdx.put(agents.get(a).name(), a);
        }
        Map<String, Integer> checkIdx = new HashMap<>(nC * 2);
        for (int c = 0; c < nC; c++) {
            checkIdx.put(checks.get(c).id(), c);
        }
        // flat arrays, n slots per cell, newest first: a fleet window is ~10^6 observations, so the
        // loop below touches each observation once and never the older ones again
        recent = new Observation[nA * nC * depth];
        recentMs = new long[nA * nC * depth];
        recentCount = new int[nA * nC];
        long fromMs = Long.MAX_VALUE;
        long toMs = Long.MIN_VALUE;
        // windows usually list a cell's results together: remember the last lookups
        String lastAgent = null;
        int lastA = -1;
        String lastCheck = null;
        Integer lastC = null;
        for (Observation o : window) {
            String an = o.agent();
            int a;
            if (an.equals(lastAgent)) {
                a = lastA;
            } else {
                Integer ai = agentIdx.get(an);
                a = ai == null ? -1 : ai;
                lastAgent = an;
                lastA = a;
            }
            Integer ci;
            if (a < 0) {
                ci = null;
            } else if (o.checkId().equals(lastCheck)) {
                ci = lastC;
            } else {
                ci = checkIdx.get(o.checkId());
                lastCheck = o.checkId();
                lastC = ci;
            }
            if (ci == null) {
                continue;
            }
            Instant at = o.at();
            long ms = at.toEpochMilli();
            if (ms < fromMs || (ms == fromMs && at.isBefore(windowFrom))) {
                fromMs = ms;
                windowFrom = at;
            }
            if (ms > toMs || (ms == toMs && at.isAfter(windowTo))) {
                toMs = ms;
                windowTo = at;
            }
            int i = a * nC + ci;
            int base = i * depth;
            int cnt = recentCount[i];
            int pos = cnt;
            while (pos > 0 && (ms > recentMs[base + pos - 1] || (ms == recentMs[base + pos - 1]
                    && NEWEST_FIRST.compare(o, recent[base + pos - 1]) < 0))) {
                pos--;
            }
            if (pos >= depth) {
                continue;
            }
            for (int k = Math.min(cnt, depth - 1); k > pos; k--) {
                recent[base + k] = recent[base + k - 1];
                recentMs[base + k] = recentMs[base + k - 1];
            }
            recent[base + pos] = o;
            recentMs[base + pos] = ms;
            recentCount[i] = Math.min(cnt + 1, depth);
        }
        state = new State[nA * nC];
        code = new FailureCode[nA * nC];
        long nowMs = now.toEpochMilli();
        Map<String, FailureCode> codes = new HashMap<>();
        // what the host cannot do is not a failure (DESIGN.md: only true incapacity is UNSUPPORTED)
        boolean[] v6Check = new boolean[nC];
        boolean[] icmpCheck = new boolean[nC];
        for (int c = 0; c < nC; c++) {
            v6Check[c] = checks.get(c).family().equals("ipv6");
            icmpCheck[c] = checks.get(c).kind().equals("icmp");
        }
        long[] staleMs = new long[nC];
        for (int c = 0; c < nC; c++) {
            staleMs[c] = intervalOf(checks.get(c)) * cfg.silentAfterIntervals();
        }
        for (int i = 0; i < nA * nC; i++) {
            int cnt = recentCount[i];
            if (cnt == 0) {
                continue;
            }
            int base = i * depth;
            if (nowMs - recentMs[base] > staleMs[i % nC]) {
                state[i] = State.STALE;
                continue;
            }
            Observation last = recent[base];
            FailureCode fc = last.failure() == null ? null
                    : codes.computeIfAbsent(last.failure(), f -> FailureCode.parse(f).orElse(null));
            code[i] = fc;
            AgentView av = agents.get(i / nC);
            boolean incapable = (v6Check[i % nC] && !av.ipv6Capable()) || (icmpCheck[i % nC] && !av.icmpCapable());
            if (last.status() == ProbeStatus.UNSUPPORTED || incapable || (fc != null && AGENT_SIDE.contains(fc))) {
                state[i] = State.EXCLUDED;
                continue;
            }
            if (cnt < n) {
                state[i] = State.PENDING;
                continue;
            }
            int ok = 0;
            int fail = 0;
            int deg = 0;
            for (int k = 0; k < n; k++) {
                ProbeStatus st = recent[base + k].status();
                if (st == ProbeStatus.OK) {
                    ok++;
                } else if (st == ProbeStatus.FAIL || st == ProbeStatus.ERROR) {
                    fail++;
                } else if (st == ProbeStatus.DEGRADED) {
                    deg++;
                }
            }
            state[i] = ok == n ? State.OK : fail == n ? State.FAIL : deg == n ? State.DEGRADED : State.PENDING;
        }
    }

    private long intervalOf(CheckView c) {
        return c.intervalMs() > 0 ? c.intervalMs() : cfg.defaultIntervalMs();
    }

    private void findSilent() {
        silent = new boolean[nA];
        for (int a = 0; a < nA; a++) {
            AgentView av = agents.get(a);
            boolean any = false;
            boolean allStale = true;
            long minIv = Long.MAX_VALUE;
            for (int c = 0; c < nC; c++) {
                State s = state[a * nC + c];
                if (s == null) {
                    continue;
                }
                any = true;
                minIv = Math.min(minIv, intervalOf(checks.get(c)));
                if (s != State.STALE) {
                    allStale = false;
                }
            }
            silent[a] = !av.connected() || (any && allStale);
            if (!silent[a]) {
                continue;
            }
            long iv = minIv == Long.MAX_VALUE ? cfg.defaultIntervalMs() : minIv;
            Instant last = lastResult(a);
            // An instant, not "N s ago": the summary must read the same on every tick, or the
            // tracker sees a changed verdict (and logs and stores it) every second.
            String ago = last == null ? "" : last.toString();
            String state;
            if (!av.connected()) {
                state = "is disconnected" + (last != null ? "; last result " + ago
                        : av.lastSeen() != null ? "; last seen " + av.lastSeen() : "");
            } else {
                state = "is connected but has sent no result since " + ago;
            }
            boolean wholeSite = true;
            for (int b = 0; b < nA; b++) {
                if (agentSite[b] == agentSite[a] && b != a && agents.get(b).connected() && !allStaleOrNone(b)) {
                    wholeSite = false;
                }
            }
            String summary = "agent " + av.name() + " (" + av.site() + ") " + state
                    + "; its checks are MISSING, not failures"
                    + (wholeSite ? "; no agent at " + av.site() + " reports: " + av.site()
                    + "'s path to the coordinator may be cut" : "");
            String remedy = "check the agent on " + av.name() + " (systemctl status probemesh-agent) and "
                    + av.site() + "'s outbound path to the coordinator";
            findings.add(new Finding(FindingKind.AGENT_SILENT, av.site(), List.of(av.site()), List.of(av.name()),
                    null, List.of(), av.name(), av.connected() ? 0.9 : 1.0, summary, List.of(), remedy, null, List.of(),
                    iv));
        }
    }

    private boolean allStaleOrNone(int a) {
        for (int c = 0; c < nC; c++) {
            State s = state[a * nC + c];
            if (s != null && s != State.STALE) {
                return false;
            }
        }
        return true;
    }

    private Instant lastResult(int a) {
        Instant last = null;
        for (int c = 0; c < nC; c++) {
            Observation o = lastObs(a, c);
            if (o != null && (last == null || o.at().isAfter(last))) {
                last = o.at();
            }
        }
        return last;
    }

    /** The state of a cell as the rest of the run sees it: null for silent agents and missing cells. */
    private State live(int a, int c) {
        if (silent[a]) {
            return null;
        }
        State s = state[a * nC + c];
        return s == State.STALE ? null : s;
    }

    private Observation lastObs(int a, int c) {
        int i = a * nC + c;
        return recentCount[i] == 0 ? null : recent[i * depth];
    }

    private void buildAliases() {
        for (CheckView c : checks) {
            for (String addr : c.expectAddresses()) {
                aliases.union(c.target(), addr);
            }
        }
        // one reporting agent per site and check is enough to link a name to what it resolves to
        // there (geo-DNS differs by site, rarely by agent), and keeps this off the fleet's hot path
        for (int s = 0; s < sites.size(); s++) {
            for (int c = 0; c < nC; c++) {
                CheckView cv = checks.get(c);
                boolean byName = cv.byName() && !cv.isDns();
                boolean dns = cv.kind().equals("dns");
                boolean trace = cv.kind().equals("dns-trace");
                if (!byName && !dns && !trace) {
                    continue;
                }
                for (int a : siteAgents[s]) {
                    Observation o = silent[a] ? null : lastObs(a, c);
                    if (o == null) {
                        continue;
                    }
                    if (byName) {
                        aliases.union(cv.target(), o.attr("address"));
                    }
                    if (dns && o.attr("addresses") != null) {
                        for (String addr : o.attr("addresses").split(",")) {
                            aliases.union(cv.target(), addr.trim());
                        }
                    }
                    if (trace && o.attr("chain") != null) {
                        for (String name : o.attr("chain").split(",")) {
                            aliases.union(cv.target(), stripDot(name.trim()));
                        }
                    }
                    break;
                }
            }
        }
    }

    // ---------------------------------------------------------------- global

    /** Per check: the sites where it fails (no success there) and the sites where it succeeds. */
    private int[][] siteCounts(int c, boolean policy) {
        int[] failSites = new int[sites.size()];
        int[] okSites = new int[sites.size()];
        for (int a = 0; a < nA; a++) {
            State s = live(a, c);
            if (s == null) {
                continue;
            }
            FailureCode fc = code[a * nC + c];
            boolean isPolicy = fc != null && POLICY.contains(fc);
            if (s == State.FAIL && isPolicy == policy) {
                failSites[agentSite[a]]++;
            } else if (s == State.OK || s == State.DEGRADED) {
                okSites[agentSite[a]]++;
            }
        }
        return new int[][] {failSites, okSites};
    }

    private boolean isGlobal(int failing, int rated) {
        return failing >= cfg.minSitesForGlobal() && failing >= cfg.outageQuorum() * rated;
    }

    private void globalStage() {
        // which checks fail globally
        for (int c = 0; c < nC; c++) {
            int[][] sc = siteCounts(c, false);
            int failing = 0;
            int rated = 0;
            for (int s = 0; s < sites.size(); s++) {
                if (sc[1][s] > 0) {
                    rated++;
                } else if (sc[0][s] > 0) {
                    failing++;
                    rated++;
                }
            }
            globalCheck[c] = isGlobal(failing, rated);
        }
        List<Integer> global = new ArrayList<>();
        for (int c = 0; c < nC; c++) {
            if (globalCheck[c]) {
                global.add(c);
            }
        }
        if (global.isEmpty()) {
            return;
        }
        Set<Integer> taken = new TreeSet<>();

        // (a) zones whose authority a trace proves unreachable from everywhere
        Map<String, List<Integer>> zoneTraces = new TreeMap<>();
        Map<String, Set<String>> zoneNames = new TreeMap<>();
        for (int c : global) {
            CheckView cv = checks.get(c);
            if (!cv.kind().equals("dns-trace") || dominantCode(c) != FailureCode.DNS_AUTHORITY_UNREACHABLE) {
                continue;
            }
            String zone = dominantAttr(c, "zone");
            if (zone == null) {
                continue;
            }
            zone = stripDot(zone);
            zoneTraces.computeIfAbsent(zone, z -> new ArrayList<>()).add(c);
            Set<String> names = zoneNames.computeIfAbsent(zone, z -> new TreeSet<>());
            names.add(cv.target());
            for (int a = 0; a < nA; a++) {
                Observation o = live(a, c) == State.FAIL ? lastObs(a, c) : null;
                if (o != null && o.attr("chain") != null) {
                    for (String n : o.attr("chain").split(",")) {
                        names.add(stripDot(n.trim()));
                    }
                }
            }
            taken.add(c);
        }
        Set<String> provenIndependent = provenByTrace();
        Map<String, List<Integer>> zoneMembers = new TreeMap<>();
        Map<String, List<Integer>> zonePresumed = new TreeMap<>();
        for (String z : zoneTraces.keySet()) {
            zoneMembers.put(z, new ArrayList<>(zoneTraces.get(z)));
            zonePresumed.put(z, new ArrayList<>());
        }
        if (!zoneTraces.isEmpty()) {
            for (int c : global) {
                if (taken.contains(c)) {
                    continue;
                }
                FailureCode dom = dominantCode(c);
                String name = resolvedName(c, dom);
                if (name == null) {
                    continue;
                }
                String zoneHit = null;
                for (var e : zoneNames.entrySet()) {
                    String z = e.getKey();
                    boolean inChain = e.getValue().contains(name) || e.getValue().stream()
                            .anyMatch(n -> aliases.find(n).equals(aliases.find(name)) && !Hosts.isIpLiteral(n));
                    if (inChain || name.equals(z) || name.endsWith("." + z)) {
                        zoneHit = z;
                        break;
                    }
                }
                if (zoneHit != null) {
                    zoneMembers.get(zoneHit).add(c);
                    taken.add(c);
                } else if (zoneTraces.size() == 1 && dom != null && RESOLUTION_FAILURE.contains(dom)
                        && !provenIndependent.contains(name)) {
                    String z = zoneTraces.keySet().iterator().next();
                    zoneMembers.get(z).add(c);
                    zonePresumed.get(z).add(c);
                    taken.add(c);
                }
            }
            for (String z : zoneMembers.keySet()) {
                addZoneFinding(z, zoneMembers.get(z), zonePresumed.get(z), zoneNames.get(z));
            }
        }

        // (b) CDN edges nobody can reach
        Map<String, List<Integer>> edges = new TreeMap<>();
        for (int c : global) {
            CheckView cv = checks.get(c);
            FailureCode dom = dominantCode(c);
            if (taken.contains(c) || cv.dialed() == null || dom == null || !isPathCode(dom)) {
                continue;
            }
            edges.computeIfAbsent(cv.dialed(), e -> new ArrayList<>()).add(c);
            taken.add(c);
        }
        for (var e : edges.entrySet()) {
            addEdgeFinding(e.getKey(), e.getValue());
        }

        // (c) endpoints
        Map<String, List<Integer>> endpoints = new TreeMap<>();
        for (int c : global) {
            if (taken.contains(c)) {
                continue;
            }
            if (awaitsTrace(c, provenIndependent)) {
                // said next round, by the trace: its cells are nobody's yet, not a local block either
                claimFailing(List.of(c), false);
                continue;
            }
            CheckView cv = checks.get(c);
            String host = cv.origin() != null ? cv.origin() : cv.target();
            endpoints.computeIfAbsent(aliases.find(host), h -> new ArrayList<>()).add(c);
        }
        // an edge saying "origin down" whose origin we cannot link joins the one endpoint that is down
        List<String> orphans = new ArrayList<>();
        List<String> real = new ArrayList<>();
        for (var e : endpoints.entrySet()) {
            boolean onlyCdn = e.getValue().stream().allMatch(c -> dominantCode(c) == FailureCode.HTTP_CDN_ORIGIN_DOWN);
            (onlyCdn ? orphans : real).add(e.getKey());
        }
        if (real.size() == 1) {
            for (String o : orphans) {
                endpoints.get(real.get(0)).addAll(endpoints.remove(o));
            }
        } else if (real.isEmpty() && !orphans.isEmpty()) {
            // the edge says its origin is down, and the edge's probe is the quicker to confirm: while
            // other checks are turning red the origin's own outage is a round away; wait for it
            // rather than open an outage of the edge's name that the origin's would replace
            Set<Integer> orphanChecks = new TreeSet<>();
            orphans.forEach(o -> orphanChecks.addAll(endpoints.get(o)));
            boolean spent = orphanChecks.stream().anyMatch(this::holdSpent);
            if (!spent && anyTurningRed(orphanChecks)) {
                for (String o : orphans) {
                    claimFailing(endpoints.remove(o), false);
                }
            }
        }
        for (var e : endpoints.entrySet()) {
            List<Integer> members = new ArrayList<>(new TreeSet<>(e.getValue()));
            addOutageFinding(members);
        }
    }

    // ---------------------------------------------------------------- outage onset

    private static boolean failed(ProbeStatus st) {
        return st == ProbeStatus.FAIL || st == ProbeStatus.ERROR;
    }

    /** Failed results in a row, newest first, as far as the kept history shows. */
    private int failStreak(int a, int c) {
        int i = a * nC + c;
        int k = 0;
        while (k < recentCount[i] && failed(recent[i * depth + k].status())) {
            k++;
        }
        return k;
    }

    /** When a confirmed-failing check began failing: the oldest result of its earliest streak. */
    private Instant onset(int c) {
        Instant first = null;
        for (int a = 0; a < nA; a++) {
            int k = live(a, c) == State.FAIL ? failStreak(a, c) : 0;
            if (k > 0) {
                Instant at = recent[(a * nC + c) * depth + k - 1].at();
                first = first == null || at.isBefore(first) ? at : first;
            }
        }
        return first;
    }

    /** Some cell of the check has failed for confirmRounds + ONSET_HOLD_ROUNDS results: no more waiting. */
    private boolean holdSpent(int c) {
        for (int a = 0; a < nA; a++) {
            if (live(a, c) == State.FAIL && failStreak(a, c) >= depth) {
                return true;
            }
        }
        return false;
    }

    /** A live cell's newest result failed but is not confirmed yet (it is turning red). */
    private boolean turningRed(int a, int c) {
        Observation o = lastObs(a, c);
        return live(a, c) == State.PENDING && o != null && failed(o.status());
    }

    private boolean anyTurningRed(Set<Integer> except) {
        for (int c = 0; c < nC; c++) {
            if (except.contains(c)) {
                continue;
            }
            for (int a = 0; a < nA; a++) {
                if (turningRed(a, c)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * A name failing to resolve everywhere waits (at most ONSET_HOLD_ROUNDS) while a trace could
     * still decide what it is: a trace covering the name (its target, or a name of its chain)
     * whose failure is not confirmed yet, and any trace that has not run since the name began
     * failing or is turning red, unless it proved the name independent (a zone it proves down
     * takes the name by presumption). A trace waits for each
     * authority server to time out, so it confirms a round after the resolver's SERVFAIL: without
     * this an outage of the name opens, and the zone's outage opens next to it a round later.
     */
    private boolean awaitsTrace(int c, Set<String> provenIndependent) {
        CheckView cv = checks.get(c);
        FailureCode dom = dominantCode(c);
        String name = resolvedName(c, dom);
        if (cv.kind().equals("dns-trace") || name == null || !RESOLUTION_FAILURE.contains(dom) || holdSpent(c)) {
            return false;
        }
        Instant onset = onset(c);
        for (int t = 0; t < nC; t++) {
            CheckView tv = checks.get(t);
            if (!tv.kind().equals("dns-trace") || t == c) {
                continue;
            }
            boolean covers = covers(t, name);
            if (!covers && provenIndependent.contains(name)) {
                continue;
            }
            for (int a = 0; a < nA; a++) {
                Observation o = live(a, t) == null || live(a, t) == State.EXCLUDED ? null : lastObs(a, t);
                if (o == null) {
                    continue;
                }
                if (turningRed(a, t) || (onset != null && o.at().isBefore(onset))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The trace's target is the name, or a kept result's chain lists it. */
    private boolean covers(int t, String name) {
        if (stripDot(checks.get(t).target()).equalsIgnoreCase(name)) {
            return true;
        }
        for (int a = 0; a < nA; a++) {
            int i = a * nC + t;
            for (int k = 0; k < recentCount[i]; k++) {
                String chain = recent[i * depth + k].attr("chain");
                if (chain != null && Arrays.stream(chain.split(","))
                        .anyMatch(n -> stripDot(n.trim()).equalsIgnoreCase(name))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Names a successful trace resolved end to end: they cannot depend on a zone that is down. */
    private Set<String> provenByTrace() {
        Set<String> out = new TreeSet<>();
        for (int c = 0; c < nC; c++) {
            CheckView cv = checks.get(c);
            if (!cv.kind().equals("dns-trace")) {
                continue;
            }
            boolean ok = false;
            boolean fail = false;
            for (int a = 0; a < nA; a++) {
                State s = live(a, c);
                ok |= s == State.OK;
                fail |= s == State.FAIL;
            }
            if (ok && !fail) {
                out.add(cv.target());
                for (int a = 0; a < nA; a++) {
                    Observation o = live(a, c) == State.OK ? lastObs(a, c) : null;
                    if (o != null && o.attr("chain") != null) {
                        for (String n : o.attr("chain").split(",")) {
                            out.add(stripDot(n.trim()));
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The name whose resolution failed, when the check's failure is a resolution failure. */
    private String resolvedName(int c, FailureCode dom) {
        CheckView cv = checks.get(c);
        if (dom == null) {
            return null;
        }
        if (cv.kind().equals("dns")) {
            return cv.target();
        }
        if (dom == FailureCode.HTTP_CDN_ORIGIN_DNS) {
            return cv.origin() != null ? cv.origin() : cv.target();
        }
        if (cv.byName() && dom.layer() == FailureCode.Layer.DNS) {
            return cv.target();
        }
        return null;
    }

    private FailureCode dominantCode(int c) {
        Map<FailureCode, Integer> counts = new TreeMap<>();
        for (int a = 0; a < nA; a++) {
            if (live(a, c) == State.FAIL && code[a * nC + c] != null) {
                counts.merge(code[a * nC + c], 1, Integer::sum);
            }
        }
        return counts.entrySet().stream().max(Map.Entry.<FailureCode, Integer>comparingByValue()
                .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder()))).map(Map.Entry::getKey)
                .orElse(null);
    }

    private String dominantAttr(int c, String attr) {
        Map<String, Integer> counts = new TreeMap<>();
        for (int a = 0; a < nA; a++) {
            Observation o = live(a, c) == State.FAIL ? lastObs(a, c) : null;
            if (o != null && o.attr(attr) != null) {
                counts.merge(o.attr(attr), 1, Integer::sum);
            }
        }
        return counts.entrySet().stream().max(Map.Entry.<String, Integer>comparingByValue()
                .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder()))).map(Map.Entry::getKey)
                .orElse(null);
    }

    private static boolean isPathCode(FailureCode fc) {
        return fc.layer() == FailureCode.Layer.NETWORK || fc.layer() == FailureCode.Layer.TRANSPORT
                || fc == FailureCode.LOCAL_FIREWALL;
    }

    /** Failing cells of these checks, marked explained; returns "agent|check" keys. */
    private List<String> claimFailing(List<Integer> checkIdx, boolean policy) {
        List<String> cells = new ArrayList<>();
        for (int c : checkIdx) {
            for (int a = 0; a < nA; a++) {
                if (live(a, c) != State.FAIL) {
                    continue;
                }
                FailureCode fc = code[a * nC + c];
                boolean isPolicy = fc != null && POLICY.contains(fc);
                if (isPolicy != policy) {
                    continue;
                }
                explained[a * nC + c] = true;
                cells.add(agents.get(a).name() + "|" + checks.get(c).id());
            }
        }
        cells.sort(null);
        return cells;
    }

    private List<String> agentsOf(List<String> cells) {
        return cells.stream().map(k -> k.substring(0, k.indexOf('|'))).distinct().sorted().toList();
    }

    private List<String> sitesOf(List<String> agentNames) {
        Set<String> names = new java.util.HashSet<>(agentNames);
        Set<String> set = new TreeSet<>();
        for (AgentView a : agents) {
            if (names.contains(a.name())) {
                set.add(a.site());
            }
        }
        return List.copyOf(set);
    }

    private int ratedSites(List<Integer> checkIdx) {
        Set<Integer> rated = new TreeSet<>();
        for (int c : checkIdx) {
            for (int a = 0; a < nA; a++) {
                State s = live(a, c);
                if (s == State.OK || s == State.FAIL || s == State.DEGRADED) {
                    rated.add(agentSite[a]);
                }
            }
        }
        return rated.size();
    }

    private List<String> ids(List<Integer> checkIdx) {
        return checkIdx.stream().map(c -> checks.get(c).id()).sorted().toList();
    }

    private long maxInterval(List<Integer> checkIdx) {
        return checkIdx.stream().mapToLong(c -> intervalOf(checks.get(c))).max().orElse(cfg.defaultIntervalMs());
    }

    private double globalConfidence(int failingSites, int rated) {
        double frac = rated == 0 ? 0 : (double) failingSites / rated;
        return round(0.5 + 0.45 * frac * Math.min(1.0, failingSites / 3.0));
    }

    private void addZoneFinding(String zone, List<Integer> members, List<Integer> presumed, Set<String> chainNames) {
        members = new ArrayList<>(new TreeSet<>(members));
        List<String> cells = claimFailing(members, false);
        List<String> agentNames = agentsOf(cells);
        List<String> siteList = sitesOf(agentNames);
        int rated = ratedSites(members);
        Set<String> names = new TreeSet<>();
        boolean cdn = false;
        for (int c : members) {
            if (!checks.get(c).kind().equals("dns-trace")) {
                String n = resolvedName(c, dominantCode(c));
                if (n != null) {
                    names.add(n);
                }
            }
            cdn |= dominantCode(c) == FailureCode.HTTP_CDN_ORIGIN_DNS;
        }
        List<String> presumedNames = presumed.stream().map(c -> resolvedName(c, dominantCode(c))).distinct().sorted()
                .toList();
        StringBuilder s = new StringBuilder("the authority of " + zone + " does not answer from any site (" + siteList.size()
                + " of " + rated + " sites)");
        List<String> chain = chainNames.stream().filter(n -> !n.equals(zone)).toList();
        if (!names.isEmpty()) {
            s.append(": ").append(String.join(", ", names)).append(" cannot be resolved");
        }
        if (chain.size() > 1) {
            s.append(" (chain ").append(String.join(" -> ", chainOrder(chain))).append(")");
        }
        if (cdn) {
            s.append("; the CDN answers 530/1016 (origin DNS error)");
        }
        if (!presumedNames.isEmpty()) {
            boolean one = presumedNames.size() == 1;
            s.append("; ").append(String.join(", ", presumedNames))
                    .append(one ? " fails" : " fail").append(" the same way at the same time and ")
                    .append(one ? "is" : "are").append(" presumed to depend on ").append(zone)
                    .append(one ? " (no trace for it)" : " (no trace for them)");
        }
        String undecided = presumedNames.isEmpty() ? null
                : "add a dns-trace check for " + String.join(", ", presumedNames) + " to prove it depends on " + zone;
        String remedy = "the DNS provider of " + zone + " is down: replace the CNAME into " + zone
                + " with an A record, or move DDNS to a provider that answers";
        Component comp = new Component("dns", null, null, "any", zone, null);
        findings.add(new Finding(FindingKind.SHARED_DEPENDENCY_OUTAGE, null, siteList, agentNames, comp, ids(members),
                zone, globalConfidence(siteList.size(), rated), s.toString(), globalEvidence(members, Set.of()),
                remedy, undecided, cells, maxInterval(members)));
    }

    private static List<String> chainOrder(List<String> names) {
        // a chain attribute lists names in order; a set lost it: longest suffix-distinct names first is
        // no better than alphabetical, so keep the given order
        return names;
    }

    private void addEdgeFinding(String edge, List<Integer> members) {
        List<String> cells = claimFailing(members, false);
        List<String> agentNames = agentsOf(cells);
        List<String> siteList = sitesOf(agentNames);
        int rated = ratedSites(members);
        CheckView first = checks.get(members.get(0));
        Component comp = Component.of("transport", "tcp", first.port(), famUnion(members));
        Set<String> origins = members.stream().map(c -> checks.get(c).origin()).filter(Objects::nonNull)
                .collect(Collectors.toCollection(TreeSet::new));
        String summary = "the CDN edge " + edge + " cannot be reached on TCP " + first.port() + " from any site ("
                + siteList.size() + " of " + rated + " sites; " + codeText(dominantCode(members.get(0)))
                + "); every name behind it is unreachable: " + String.join(", ", origins);
        String remedy = "check the CDN edge " + edge + " (status page, DNS pointing at it); the origin is not at fault";
        findings.add(new Finding(FindingKind.SHARED_DEPENDENCY_OUTAGE, null, siteList, agentNames, comp, ids(members),
                edge, globalConfidence(siteList.size(), rated), summary, globalEvidence(members, Set.of()), remedy,
                null, cells, maxInterval(members)));
    }

    private void addOutageFinding(List<Integer> members) {
        List<String> cells = claimFailing(members, false);
        List<String> agentNames = agentsOf(cells);
        List<String> siteList = sitesOf(agentNames);
        int rated = ratedSites(members);
        List<Integer> direct = members.stream()
                .filter(c -> dominantCode(c) != FailureCode.HTTP_CDN_ORIGIN_DOWN).toList();
        List<Integer> basis = direct.isEmpty() ? members : direct;
        // the target names: probed names first, then IPv4, then IPv6 (the CDN's own name stays out)
        Set<String> hosts = new TreeSet<>(Comparator.comparing((String h) -> Hosts.isIpv6Literal(h) ? 2
                : Hosts.isIpv4Literal(h) ? 1 : 0).thenComparing(Comparator.naturalOrder()));
        for (int c : basis) {
            hosts.add(checks.get(c).origin() != null && dominantCode(c) == FailureCode.HTTP_CDN_ORIGIN_DOWN
                    ? checks.get(c).origin() : checks.get(c).target());
        }
        String target = String.join(" / ", hosts);
        String layer = "http";
        for (int c : basis) {
            FailureCode fc = dominantCode(c);
            String l = fc == null ? checks.get(c).layer() : layerOf(fc);
            if (layerRank(l) < layerRank(layer)) {
                layer = l;
            }
        }
        Set<String> protos = basis.stream().map(c -> checks.get(c).protocol()).collect(Collectors.toSet());
        Set<Integer> ports = basis.stream().map(c -> checks.get(c).port()).filter(Objects::nonNull)
                .collect(Collectors.toSet());
        Component comp = Component.of(layer, protos.size() == 1 ? protos.iterator().next() : "any",
                ports.size() == 1 ? ports.iterator().next() : null, famUnion(basis));
        Set<String> root = new TreeSet<>();
        for (int c : members) {
            CheckView cv = checks.get(c);
            root.add(aliases.find(cv.origin() != null ? cv.origin() : cv.target()));
        }
        // related checks that still succeed (ping answers, DNS resolves) tell the operator how down it is
        Set<Integer> related = new TreeSet<>();
        for (int c = 0; c < nC; c++) {
            if (!members.contains(c) && !checks.get(c).isDns()
                    && root.contains(aliases.find(checks.get(c).target()))) {
                related.add(c);
            }
        }
        List<String> works = new ArrayList<>();
        for (int c : related) {
            boolean ok = false;
            for (int a = 0; a < nA; a++) {
                ok |= live(a, c) == State.OK;
            }
            if (ok) {
                works.add(describe(checks.get(c)));
            }
        }
        Map<FailureCode, List<String>> byCode = new TreeMap<>();
        for (int c : members) {
            FailureCode fc = dominantCode(c);
            if (fc != null) {
                byCode.computeIfAbsent(fc, k -> new ArrayList<>()).add(checks.get(c).id());
            }
        }
        String how = byCode.entrySet().stream().map(e -> codeText(e.getKey()) + " (" + String.join(", ", e.getValue())
                + ")").collect(Collectors.joining("; "));
        String summary = target + " fails from every site (" + siteList.size() + " of " + rated + " sites): " + how
                + (works.isEmpty() ? "" : "; still answering: " + String.join(", ", new LinkedHashSet<>(works)));
        String remedy = comp.layer().equals("dns")
                ? hosts.iterator().next() + " does not resolve from any site: check the authoritative servers of"
                + " its zone (a dns-trace check for it names the zone that fails); nothing to change at the sites"
                : "restore " + hosts.iterator().next()
                + (comp.port() != null ? " (" + comp.protocol().toUpperCase() + " " + comp.port() + ")" : "")
                + "; nothing to change at the sites";
        findings.add(new Finding(FindingKind.TARGET_OUTAGE, null, siteList, agentNames, comp, ids(members), target,
                globalConfidence(siteList.size(), rated), summary, globalEvidence(members, related), remedy, null, cells,
                maxInterval(members)));
    }

    private String famUnion(List<Integer> checkIdx) {
        Set<String> f = checkIdx.stream().map(c -> checks.get(c).family()).collect(Collectors.toSet());
        return f.size() == 1 ? f.iterator().next() : "any";
    }

    private List<Evidence> globalEvidence(List<Integer> members, Set<Integer> related) {
        List<Integer> cs = new ArrayList<>(members);
        cs.addAll(related);
        cs.sort(Comparator.comparing(tableOrder::indexOf));
        // one agent per site tells the story; a fleet-wide outage must not ship 5,000 rows
        List<Evidence> out = new ArrayList<>();
        for (int s = 0; s < sites.size() && out.size() < MAX_EVIDENCE; s++) {
            for (int a : siteAgents[s]) {
                List<Evidence> rows = new ArrayList<>();
                for (int c : cs) {
                    Evidence e = evidence(a, c);
                    if (e != null) {
                        rows.add(e);
                    }
                }
                if (!rows.isEmpty()) {
                    out.addAll(rows.subList(0, Math.min(rows.size(), MAX_EVIDENCE - out.size())));
                    break;
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- policy

    private void policyStage() {
        // key: target name -> per-site check lists
        Map<String, List<Integer>> byTarget = new TreeMap<>();
        for (int c = 0; c < nC; c++) {
            int[][] sc = siteCounts(c, true);
            boolean any = Arrays.stream(sc[0]).anyMatch(x -> x > 0);
            if (any) {
                byTarget.computeIfAbsent(checks.get(c).target(), t -> new ArrayList<>()).add(c);
            }
        }
        for (var e : byTarget.entrySet()) {
            List<Integer> members = e.getValue();
            int failing = 0;
            int rated = 0;
            Map<Integer, List<String>> siteCells = new TreeMap<>();
            for (int c : members) {
                for (int a = 0; a < nA; a++) {
                    FailureCode fc = code[a * nC + c];
                    if (live(a, c) == State.FAIL && fc != null && POLICY.contains(fc)) {
                        siteCells.computeIfAbsent(agentSite[a], s -> new ArrayList<>())
                                .add(agents.get(a).name() + "|" + checks.get(c).id());
                    }
                }
            }
            rated = ratedSites(members);
            failing = siteCells.size();
            Component comp = new Component("http", null, null, "any", null, null);
            String target = e.getKey();
            if (isGlobal(failing, rated)) {
                List<String> cells = claimFailing(members, true);
                List<String> agentNames = agentsOf(cells);
                List<String> siteList = sitesOf(agentNames);
                String summary = target + " answers every site with " + policyText(cells) + ": the target refuses"
                        + " the whole fleet";
                findings.add(new Finding(FindingKind.TARGET_POLICY_BLOCK, null, siteList, agentNames, comp,
                        ids(members), target, 0.8, summary, globalEvidence(members, Set.of()),
                        "the edge refuses every site: add a WAF skip rule for the fleet's addresses, and slow retries",
                        null, cells, maxInterval(members)));
                continue;
            }
            for (var sc : siteCells.entrySet()) {
                String site = sites.get(sc.getKey());
                List<String> cells = sc.getValue().stream().sorted().toList();
                for (String k : cells) {
                    int a = agentIndex(k.substring(0, k.indexOf('|')));
                    int c = checkIndex(k.substring(k.indexOf('|') + 1));
                    explained[a * nC + c] = true;
                }
                List<String> agentNames = agentsOf(cells);
                List<String> checkIds = cells.stream().map(k -> k.substring(k.indexOf('|') + 1)).distinct().sorted()
                        .toList();
                boolean othersOk = rated > failing;
                String what = policyText(cells);
                String summary = target + " answers " + site + " with " + what
                        + (othersOk ? " while other sites get through" : "") + ": the target refuses " + site;
                boolean rate = what.contains("429");
                String remedy = rate
                        ? "the target rate-limits " + site + ": slow its requests (back off with jitter) or raise the limit"
                        : "the edge challenges " + site + ": add a WAF skip rule for its address, and slow its retries";
                findings.add(new Finding(FindingKind.TARGET_POLICY_BLOCK, site, List.of(site), agentNames, comp,
                        checkIds, target, othersOk ? 0.9 : 0.7, summary, siteEvidence(sc.getKey(), null), remedy, null,
                        cells, maxInterval(members)));
            }
        }
    }

    private String policyText(List<String> cells) {
        Set<String> t = new TreeSet<>();
        for (String k : cells) {
            int a = agentIndex(k.substring(0, k.indexOf('|')));
            int c = checkIndex(k.substring(k.indexOf('|') + 1));
            FailureCode fc = code[a * nC + c];
            Observation o = lastObs(a, c);
            String st = o == null ? null : o.attr("http_status");
            t.add(fc == FailureCode.HTTP_RATE_LIMITED ? "429 rate limiting"
                    : (st == null ? "403" : st) + " challenge pages (WAF)");
        }
        return String.join(" and ", t);
    }

    private int agentIndex(String name) {
        for (int a = 0; a < nA; a++) {
            if (agents.get(a).name().equals(name)) {
                return a;
            }
        }
        return -1;
    }

    private int checkIndex(String id) {
        for (int c = 0; c < nC; c++) {
            if (checks.get(c).id().equals(id)) {
                return c;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- local

    private void localStage() {
        for (int s = 0; s < sites.size(); s++) {
            List<int[]> failing = new ArrayList<>();
            for (int a : siteAgents[s]) {
                for (int c = 0; c < nC; c++) {
                    if (live(a, c) == State.FAIL && !explained[a * nC + c] && !globalCheck[c]) {
                        failing.add(new int[] {a, c});
                    }
                }
            }
            if (failing.isEmpty() || siteStillTurning(s, failing)) {
                continue;
            }
            List<Chosen> chosen = new ArrayList<>();
            List<int[]> residual = cover(s, -1, failing, chosen);
            if (!residual.isEmpty()) {
                // successes of one agent contradict another's failures: look at each agent alone
                Map<Integer, List<int[]>> perAgent = new TreeMap<>();
                for (int[] cell : residual) {
                    perAgent.computeIfAbsent(cell[0], k -> new ArrayList<>()).add(cell);
                }
                residual = new ArrayList<>();
                List<Chosen> perAgentChosen = new ArrayList<>();
                for (var e : perAgent.entrySet()) {
                    residual.addAll(cover(s, e.getKey(), e.getValue(), perAgentChosen));
                }
                // several agents of the site with the same block are one finding (agent -2: several)
                Map<String, Chosen> merged = new TreeMap<>();
                for (Chosen ch : perAgentChosen) {
                    merged.merge(ch.group().sortKey(), ch, (x, y) -> {
                        List<int[]> cells = new ArrayList<>(x.cells());
                        cells.addAll(y.cells());
                        return new Chosen(x.group(), cells, -2);
                    });
                }
                chosen.addAll(merged.values());
            }
            emitLocal(s, chosen, residual);
        }
    }

    record Chosen(Group group, List<int[]> cells, int agent) { }

    /**
     * The same block at several sites that share a label (provider=x, region=y) no succeeding site
     * carries is one block of that group of sites: one verdict, site null, sites listed.
     */
    private void mergeLabelGroups() {
        Map<String, List<Finding>> same = new TreeMap<>();
        for (Finding f : findings) {
            if (f.kind() == FindingKind.LOCAL_PATH_BLOCK && f.site() != null && f.component() != null) {
                same.computeIfAbsent(f.component().key() + "|" + f.target(), k -> new ArrayList<>()).add(f);
            }
        }
        for (List<Finding> group : same.values()) {
            if (group.size() < 2) {
                continue;
            }
            Set<String> groupSites = group.stream().map(Finding::site).collect(Collectors.toCollection(TreeSet::new));
            Set<Integer> checkIdx = new TreeSet<>();
            group.forEach(f -> f.checks().forEach(id -> checkIdx.add(checkIndex(id))));
            String label = null;
            for (String candidate : new TreeSet<>(siteLabels(group.get(0).site()))) {
                boolean shared = groupSites.stream().allMatch(s -> siteLabels(s).contains(candidate));
                boolean okSiteHasIt = false;
                for (int a = 0; a < nA && shared; a++) {
                    String site = agents.get(a).site();
                    if (groupSites.contains(site)) {
                        continue;
                    }
                    for (int c : checkIdx) {
                        if (live(a, c) == State.OK && siteLabels(site).contains(candidate)) {
                            okSiteHasIt = true;
                        }
                    }
                }
                if (shared && !okSiteHasIt) {
                    label = candidate;
                    break;
                }
            }
            if (label == null) {
                continue;
            }
            findings.removeAll(group);
            Finding first = group.get(0);
            String who = "the sites with " + label + " (" + String.join(", ", groupSites) + ")";
            List<String> agentNames = group.stream().flatMap(f -> f.agents().stream()).distinct().sorted().toList();
            List<String> checkIds = group.stream().flatMap(f -> f.checks().stream()).distinct().sorted().toList();
            List<String> cells = group.stream().flatMap(f -> f.cells().stream()).distinct().sorted().toList();
            List<Evidence> ev = group.stream().flatMap(f -> f.evidence().stream()).toList();
            double conf = group.stream().mapToDouble(Finding::confidence).max().orElse(0.5);
            String summary = who + ": " + first.summary().substring(first.site().length()).replaceFirst("^'s", "its")
                    .trim();
            String remedy = first.remedy() == null ? null : first.remedy().replace(first.site(), who);
            findings.add(new Finding(FindingKind.LOCAL_PATH_BLOCK, null, List.copyOf(groupSites), agentNames,
                    first.component(), checkIds, first.target(), conf, summary, ev, remedy, null, cells,
                    group.stream().mapToLong(Finding::intervalMs).max().orElse(cfg.defaultIntervalMs())));
        }
    }

    /** Labels every agent of the site carries, as "key=value". */
    private Set<String> siteLabels(String site) {
        Set<String> out = null;
        for (AgentView a : agents) {
            if (!a.site().equals(site)) {
                continue;
            }
            Set<String> mine = a.labels().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.toSet());
            if (out == null) {
                out = new TreeSet<>(mine);
            } else {
                out.retainAll(mine);
            }
        }
        return out == null ? Set.of() : out;
    }

    /** Greedy set cover of the failing cells by groups no success (at the site, or of the agent) contradicts. */
    private List<int[]> cover(int site, int onlyAgent, List<int[]> failing, List<Chosen> out) {
        Map<Group, List<int[]>> explains = new HashMap<>();
        for (int[] cell : failing) {
            for (Group g : explainers(cell[0], cell[1])) {
                explains.computeIfAbsent(g, k -> new ArrayList<>()).add(cell);
            }
        }
        for (int a : siteAgents[site]) {
            if (onlyAgent >= 0 && a != onlyAgent) {
                continue;
            }
            for (int c = 0; c < nC; c++) {
                if (live(a, c) == State.OK) {
                    for (Group g : dependencies(a, c)) {
                        explains.remove(g);
                    }
                }
            }
        }
        List<Group> candidates = new ArrayList<>(explains.keySet());
        candidates.sort(Comparator.comparing(Group::sortKey));
        Set<Long> covered = new java.util.HashSet<>();
        while (covered.size() < failing.size()) {
            Group best = null;
            int bestCount = 0;
            for (Group g : candidates) {
                int n = 0;
                for (int[] cell : explains.get(g)) {
                    if (!covered.contains(cellId(cell))) {
                        n++;
                    }
                }
                if (n > bestCount || (n == bestCount && n > 0 && best != null && g.width() < best.width())) {
                    best = g;
                    bestCount = n;
                }
            }
            if (best == null) {
                break;
            }
            List<int[]> cells = new ArrayList<>();
            for (int[] cell : explains.get(best)) {
                if (covered.add(cellId(cell))) {
                    cells.add(cell);
                }
            }
            out.add(new Chosen(best, cells, onlyAgent));
        }
        List<int[]> residual = new ArrayList<>();
        for (int[] cell : failing) {
            if (!covered.contains(cellId(cell))) {
                residual.add(cell);
            }
        }
        return residual;
    }

    private long cellId(int[] cell) {
        return (long) cell[0] * nC + cell[1];
    }

    private String famUsed(int a, int c) {
        CheckView cv = checks.get(c);
        if (!cv.family().equals("any")) {
            return cv.family();
        }
        Observation o = lastObs(a, c);
        String f = o == null ? null : o.attr("family");
        return "ipv4".equals(f) || "ipv6".equals(f) ? f : "any";
    }

    private String dest(String host) {
        return host == null || host.isEmpty() ? null : aliases.find(host);
    }

    private List<Group> explainers(int a, int c) {
        CheckView cv = checks.get(c);
        FailureCode fc = code[a * nC + c];
        List<Group> g = new ArrayList<>();
        boolean dnsCode = fc != null && fc.layer() == FailureCode.Layer.DNS;
        boolean pathCode = fc == null || isPathCode(fc) || fc == FailureCode.PACKET_LOSS;
        if (fc == FailureCode.DNS_TIMEOUT || fc == FailureCode.DNS_TRUNCATED_TCP_FAILED
                || (cv.isDns() && pathCode)) {
            resolutionPath(a, c, g);
            if (!cv.kind().equals("dns-trace")) {
                // one name timing out where others resolve: that name's resolution, not the path
                String r = cv.kind().equals("dns") && !cv.resolver().isEmpty() ? cv.resolver() : "system";
                g.add(new Group(new Component("dns", null, null, "any", null, r), cv.target()));
            }
        } else if (dnsCode) {
            if (cv.kind().equals("dns-trace")) {
                tracePath(cv, g);
                Observation o = lastObs(a, c);
                String zone = o == null ? null : o.attr("zone");
                if (zone != null) {
                    g.add(new Group(Component.of("dns", "any", 53, "any"), "zone " + stripDot(zone)));
                }
            } else {
                answerGroups(cv.kind().equals("dns") ? cv.resolver() : "", cv.target(), g);
            }
        } else if (pathCode) {
            if (cv.kind().equals("icmp")) {
                icmpPath(a, c, g);
            } else {
                transportPath(a, c, g);
            }
        } else if (fc.layer() == FailureCode.Layer.TLS) {
            tlsGroups(a, c, g);
        } else {
            httpGroups(a, c, g);
        }
        return g;
    }

    private List<Group> dependencies(int a, int c) {
        CheckView cv = checks.get(c);
        List<Group> g = new ArrayList<>();
        switch (cv.kind()) {
            case "icmp" -> icmpPath(a, c, g);
            case "dns" -> {
                resolutionPath(a, c, g);
                answerGroups(cv.resolver(), cv.target(), g);
            }
            case "dns-trace" -> tracePath(cv, g);
            default -> {
                if (cv.byName()) {
                    resolutionPath(a, c, g);
                    answerGroups("", cv.target(), g);
                }
                transportPath(a, c, g);
                if (cv.kind().equals("tls") || cv.kind().equals("https")) {
                    tlsGroups(a, c, g);
                }
                if (cv.kind().startsWith("http")) {
                    httpGroups(a, c, g);
                }
            }
        }
        return g;
    }

    private void route(String fam, List<Group> g) {
        if (!fam.equals("any")) {
            g.add(new Group(Component.of("network", null, null, fam), null));
        }
    }

    private void icmpPath(int a, int c, List<Group> g) {
        CheckView cv = checks.get(c);
        String fam = famUsed(a, c);
        g.add(new Group(Component.of("network", "icmp", null, fam), null));
        if (!fam.equals("any")) {
            g.add(new Group(Component.of("network", "icmp", null, "any"), null));
        }
        route(fam, g);
        g.add(new Group(Component.of("network", "icmp", null, fam), dest(cv.dialHost())));
        g.add(new Group(Component.of("network", "any", null, "any"), dest(cv.dialHost())));
    }

    private void transportPath(int a, int c, List<Group> g) {
        CheckView cv = checks.get(c);
        String fam = famUsed(a, c);
        g.add(new Group(Component.of("transport", "tcp", cv.port(), fam), null));
        if (!fam.equals("any")) {
            g.add(new Group(Component.of("transport", "tcp", cv.port(), "any"), null));
        }
        route(fam, g);
        g.add(new Group(Component.of("transport", "tcp", cv.port(), fam), dest(cv.dialHost())));
        g.add(new Group(Component.of("network", "any", null, "any"), dest(cv.dialHost())));
    }

    /** Reaching a DNS server: a dns check's resolver, a trace's authorities, or the system resolver. */
    private void resolutionPath(int a, int c, List<Group> g) {
        CheckView cv = checks.get(c);
        if (cv.kind().equals("dns-trace")) {
            tracePath(cv, g);
            return;
        }
        if (cv.kind().equals("dns")) {
            String r = cv.resolver().isEmpty() ? "system" : cv.resolver();
            int port = cv.port() == null ? 53 : cv.port();
            for (String p : cv.protocol().equals("any") ? List.of("any") : List.of(cv.protocol(), "any")) {
                for (String f : cv.family().equals("any") ? List.of("any") : List.of(cv.family(), "any")) {
                    g.add(new Group(new Component("dns", p, port, f, null, r), null));
                    g.add(new Group(new Component("dns", p, port, f, null, null), null));
                }
            }
            route(cv.family(), g);
            if (!cv.resolver().isEmpty()) {
                g.add(new Group(Component.of("network", "any", null, "any"), dest(cv.resolver())));
            }
            return;
        }
        // a name-based check resolves through the system resolver: UDP first, family unknown
        for (String p : List.of("udp", "any")) {
            g.add(new Group(new Component("dns", p, 53, "any", null, "system"), null));
            g.add(new Group(new Component("dns", p, 53, "any", null, null), null));
        }
    }

    private void tracePath(CheckView cv, List<Group> g) {
        for (String p : List.of("udp", "any")) {
            for (String f : cv.family().equals("any") ? List.of("any") : List.of(cv.family(), "any")) {
                g.add(new Group(new Component("dns", p, 53, f, null, null), null));
            }
        }
        route(cv.family(), g);
    }

    private void answerGroups(String resolver, String name, List<Group> g) {
        String r = resolver == null || resolver.isEmpty() ? "system" : resolver;
        g.add(new Group(new Component("dns", null, null, "any", null, r), null));
        g.add(new Group(new Component("dns", null, null, "any", null, r), name));
    }

    private void tlsGroups(int a, int c, List<Group> g) {
        CheckView cv = checks.get(c);
        g.add(new Group(Component.of("tls", "tcp", cv.port(), "any"), null));
        g.add(new Group(Component.of("tls", "tcp", cv.port(), "any"), dest(cv.dialHost())));
    }

    private void httpGroups(int a, int c, List<Group> g) {
        CheckView cv = checks.get(c);
        g.add(new Group(Component.of("http", "tcp", cv.port(), "any"), null));
        g.add(new Group(Component.of("http", "tcp", cv.port(), "any"), dest(cv.target())));
    }

    private void emitLocal(int s, List<Chosen> chosen, List<int[]> residual) {
        String site = sites.get(s);
        record Draft(Chosen ch, List<int[]> cells, boolean contrast, boolean localProof) { }
        List<Draft> drafts = new ArrayList<>();
        for (Chosen ch : chosen) {
            boolean contrast = false;
            boolean localProof = false;
            Set<Integer> failingAgents = ch.cells().stream().map(cl -> cl[0]).collect(Collectors.toSet());
            for (int[] cell : ch.cells()) {
                contrast |= okByOthers(cell[1], failingAgents);
                localProof |= code[cell[0] * nC + cell[1]] == FailureCode.LOCAL_FIREWALL;
            }
            drafts.add(new Draft(ch, new ArrayList<>(ch.cells()), contrast, localProof));
        }
        // ICMP filtering next to another block at this site: fold it in (one firewall, one alert)
        List<Draft> icmp = drafts.stream().filter(d -> isIcmpOnly(d.ch().group())).toList();
        List<Draft> main = drafts.stream().filter(d -> !isIcmpOnly(d.ch().group())).toList();
        Map<Draft, List<Draft>> folded = new LinkedHashMap<>();
        List<Draft> standalone = new ArrayList<>(main);
        if (!main.isEmpty()) {
            Draft biggest = main.stream().max(Comparator.comparingInt((Draft d) -> d.cells().size())
                    .thenComparing(d -> d.ch().group().sortKey(), Comparator.reverseOrder())).orElseThrow();
            folded.put(biggest, new ArrayList<>(icmp));
        } else {
            standalone.addAll(icmp);
        }
        for (Draft d : standalone) {
            List<Draft> extra = folded.getOrDefault(d, List.of());
            List<int[]> cells = new ArrayList<>(d.cells());
            boolean contrast = d.contrast();
            boolean proof = d.localProof();
            for (Draft x : extra) {
                cells.addAll(x.cells());
            }
            Group g = d.ch().group();
            Component comp = g.comp();
            String target = g.dest();
            List<String> cellKeys = cells.stream().map(cl -> agents.get(cl[0]).name() + "|" + checks.get(cl[1]).id())
                    .sorted().toList();
            List<String> agentNames = agentsOf(cellKeys);
            List<Integer> checkIdx = cells.stream().map(cl -> cl[1]).distinct().sorted().toList();
            String summary = localSummary(s, comp, target, d.cells(), !extra.isEmpty());
            String remedy = localRemedy(site, comp, target, cells, !extra.isEmpty(), proof);
            List<Evidence> ev = siteEvidence(s, d.ch().agent() >= 0 ? Integer.valueOf(d.ch().agent()) : null);
            if (othersTurningRed(checkIdx, cells)) {
                // other agents' cells on these checks just turned red and are not confirmed yet: an
                // outage reaches confirmation at one site a round before the next, so say nothing
                // until that round rather than open a local block that closes again
                continue;
            }
            if (contrast || proof) {
                Set<Integer> failingAgents = cells.stream().map(cl -> cl[0]).collect(Collectors.toSet());
                double conf = round(Math.min(0.97, (proof ? 0.8 : 0.6) + 0.35 * contrastShare(checkIdx, failingAgents)));
                findings.add(new Finding(FindingKind.LOCAL_PATH_BLOCK, site, List.of(site), agentNames, comp,
                        ids(checkIdx), target, conf, summary, ev, remedy, null, cellKeys, maxInterval(checkIdx)));
            } else {
                findings.add(inconclusive(s, comp, target, checkIdx, cellKeys, agentNames, summary, ev));
            }
        }
        if (!residual.isEmpty()) {
            List<String> cellKeys = residual.stream()
                    .map(cl -> agents.get(cl[0]).name() + "|" + checks.get(cl[1]).id()).sorted().toList();
            List<Integer> checkIdx = residual.stream().map(cl -> cl[1]).distinct().sorted().toList();
            String summary = site + ": " + String.join(", ", ids(checkIdx)) + " fail while the same paths succeed"
                    + " for the same agent; no single component explains it";
            findings.add(new Finding(FindingKind.INCONCLUSIVE, site, List.of(site), agentsOf(cellKeys), null,
                    ids(checkIdx), null, 0.3, summary, siteEvidence(s, null), null,
                    "look at the probe details: the agent reports contradicting results for one path", cellKeys,
                    maxInterval(checkIdx)));
        }
    }

    private Finding inconclusive(int s, Component comp, String target, List<Integer> checkIdx, List<String> cellKeys,
                                 List<String> agentNames, String hypothesis, List<Evidence> ev) {
        String site = sites.get(s);
        List<String> silentElsewhere = new ArrayList<>();
        for (int a = 0; a < nA; a++) {
            if (silent[a] && agentSite[a] != s) {
                silentElsewhere.add(agents.get(a).name());
            }
        }
        String summary = "only " + site + " reports " + String.join(", ", ids(checkIdx))
                + ": cannot tell a local block from an outage (" + hypothesis + ")";
        String undecided = "add an agent at another site, or run " + String.join(", ", ids(checkIdx))
                + " from another site: failing there too means an outage, succeeding means " + site
                + "'s path is blocked"
                + (silentElsewhere.isEmpty() ? "" : "; " + String.join(", ", silentElsewhere)
                + " would decide it once they report again");
        return new Finding(FindingKind.INCONCLUSIVE, site, List.of(site), agentNames, comp, ids(checkIdx), target,
                0.3, summary, ev, null, undecided, cellKeys, maxInterval(checkIdx));
    }

    private boolean okElsewhere(int c, int site) {
        for (int a = 0; a < nA; a++) {
            if (agentSite[a] != site && live(a, c) == State.OK) {
                return true;
            }
        }
        return false;
    }

    /** Another agent (at another site, or a neighbour of an agent-scoped block) succeeds on the check. */
    private boolean okByOthers(int c, Set<Integer> failingAgents) {
        int own = 0;
        for (int a : failingAgents) {
            if (live(a, c) == State.OK) {
                own++;
            }
        }
        return okCount[c] > own;
    }

    /**
     * The site's block is still unfolding: all of its failures are young (within
     * ONSET_HOLD_ROUNDS of confirmation) and another of its cells is turning red. Probes of one
     * round confirm at different ticks; covering the half-confirmed picture opens a narrower block
     * (ICMP alone, one resolver family) that the full picture replaces a moment later.
     */
    private boolean siteStillTurning(int s, List<int[]> failing) {
        for (int[] cell : failing) {
            if (failStreak(cell[0], cell[1]) >= depth) {
                return false;
            }
        }
        for (int a : siteAgents[s]) {
            for (int c = 0; c < nC; c++) {
                if (turningRed(a, c)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Another agent's cell on these checks is unconfirmed and its newest result failed. */
    private boolean othersTurningRed(List<Integer> checkIdx, List<int[]> cells) {
        Set<Integer> failingAgents = cells.stream().map(cl -> cl[0]).collect(Collectors.toSet());
        for (int c : checkIdx) {
            for (int a = 0; a < nA; a++) {
                if (!failingAgents.contains(a) && live(a, c) == State.PENDING) {
                    ProbeStatus st = lastObs(a, c).status();
                    if (st == ProbeStatus.FAIL || st == ProbeStatus.ERROR) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private double contrastShare(List<Integer> checkIdx, Set<Integer> failingAgents) {
        long n = checkIdx.stream().filter(c -> okByOthers(c, failingAgents)).count();
        return checkIdx.isEmpty() ? 0 : (double) n / checkIdx.size();
    }

    private static boolean isIcmpOnly(Group g) {
        return g.comp().layer().equals("network") && "icmp".equals(g.comp().protocol());
    }

    private String localSummary(int s, Component comp, String dest, List<int[]> cells, boolean icmpToo) {
        String site = sites.get(s);
        StringBuilder b = new StringBuilder(site);
        String fam = famText(comp.family());
        String to = dest == null ? "" : " to " + destText(dest);
        switch (comp.layer()) {
            case "dns" -> {
                if (comp.port() == null) {
                    b.append("'s resolver ").append(comp.resolver() == null ? "" : comp.resolver() + " ")
                            .append("answers ").append(codesOf(cells)).append(dest == null ? "" : " for " + dest)
                            .append(" while other sites resolve it");
                } else if (dest != null) {
                    b.append(" cannot reach ").append(destText(dest)).append(" (").append(codesOf(cells)).append(")");
                } else {
                    b.append(" cannot reach DNS on ").append(protoText(comp.protocol(), true)).append(" ")
                            .append(comp.port()).append(fam);
                    if (comp.resolver() != null) {
                        b.append(" via ").append(comp.resolver().equals("system") ? "the system resolver"
                                : comp.resolver());
                    }
                    b.append(" (").append(codesOf(cells)).append(")");
                }
            }
            case "network" -> {
                if ("icmp".equals(comp.protocol())) {
                    b.append(" gets no ICMP echo replies").append(fam).append(to).append(" (ICMP filtered)");
                } else if (dest != null) {
                    b.append(" cannot reach ").append(destText(dest)).append(" at all (").append(codesOf(cells))
                            .append(")");
                } else {
                    b.append(" has no working ").append(famName(comp.family())).append(" path: every ")
                            .append(famName(comp.family())).append(" check fails (").append(codesOf(cells)).append(")");
                }
            }
            case "transport" -> b.append(" cannot open ").append(protoText(comp.protocol(), false)).append(" ")
                    .append(comp.port()).append(" connections").append(fam).append(to).append(" (")
                    .append(codesOf(cells)).append(")");
            default -> b.append(": ").append(comp.layer().toUpperCase()).append(to).append(" fails (")
                    .append(codesOf(cells)).append(") while other sites succeed");
        }
        if (comp.layer().equals("dns") && comp.port() != null && everyNameCheckFails(s)) {
            b.append("; every name-based check fails");
        }
        List<String> works = worksAt(s);
        if (!works.isEmpty()) {
            b.append("; ").append(String.join(", ", works)).append(works.size() == 1 ? " works" : " work");
        }
        if (icmpToo) {
            b.append("; ICMP echo is filtered too");
        }
        return b.toString();
    }

    private String localRemedy(String site, Component comp, String dest, List<int[]> cells, boolean icmpToo,
                               boolean hostFirewall) {
        String r;
        switch (comp.layer()) {
            case "dns" -> {
                if (comp.port() == null) {
                    r = "the resolver " + (comp.resolver() == null ? "" : comp.resolver() + " ") + "at " + site
                            + " refuses or filters " + (dest == null ? "these names" : dest)
                            + ": check its filtering (DNS filter, Zero Trust category) or point " + site
                            + " at another resolver";
                } else {
                    Set<String> resolvers = new TreeSet<>(Comparator.comparing((String h) -> Hosts.isIpv6Literal(h)
                            ? 1 : 0).thenComparing(Comparator.naturalOrder()));
                    boolean authorities = false;
                    for (int[] cell : cells) {
                        CheckView cv = checks.get(cell[1]);
                        if (!cv.resolver().isEmpty()) {
                            resolvers.add(cv.resolver());
                        } else if (cv.kind().equals("dns-trace")) {
                            authorities = true;
                        }
                    }
                    if (comp.resolver() != null && !comp.resolver().equals("system")) {
                        resolvers.retainAll(Set.of(comp.resolver()));
                    }
                    String to = resolvers.isEmpty() ? "its resolvers" : String.join(" and ", resolvers);
                    r = "allow outbound " + protoText(comp.protocol(), true).replace("/", " and ") + " "
                            + comp.port() + " from " + site + " to " + to
                            + (authorities && comp.resolver() == null ? " (and to DNS authorities, for traces)" : "");
                }
            }
            case "network" -> {
                if ("icmp".equals(comp.protocol())) {
                    r = "allow ICMP echo from " + site + " if ping matters; other traffic is not affected";
                } else if (dest != null) {
                    r = "check routing and firewalls from " + site + " toward " + destText(dest);
                } else if (comp.family().equals("ipv6")) {
                    r = "prefer IPv4 on " + site + " (gai.conf precedence) or fix its IPv6 route"
                            + " (ip -6 route: is there a default route?)";
                } else {
                    r = "fix " + site + "'s " + famName(comp.family()) + " route (ip route: is there a default route?)";
                }
            }
            case "transport" -> {
                String what = protoText(comp.protocol(), false) + " " + comp.port()
                        + (comp.family().equals("any") ? "" : " over " + famName(comp.family()))
                        + (dest == null ? "" : " to " + destText(dest));
                r = hostFirewall
                        ? "the host firewall on " + site + " rejects outbound " + what
                        + " (e.g. ufw default deny outgoing): allow it"
                        : "allow outbound " + what + " from " + site + " at its network firewall";
            }
            case "tls" -> r = site + " sees a different TLS handshake" + (dest == null ? "" : " for " + destText(dest))
                    + " than other sites: look for TLS interception or a proxy at " + site;
            default -> r = site + " gets HTTP errors" + (dest == null ? "" : " from " + destText(dest))
                    + " that other sites do not: look for a proxy at " + site + " or per-client rules at the target";
        }
        if (icmpToo) {
            r += "; ICMP echo is dropped too (allow it if ping matters)";
        }
        return r;
    }

    private boolean everyNameCheckFails(int s) {
        boolean any = false;
        for (int a : siteAgents[s]) {
            for (int c = 0; c < nC; c++) {
                CheckView cv = checks.get(c);
                if (!(cv.byName() || cv.isDns())) {
                    continue;
                }
                State st = live(a, c);
                if (st == State.OK || st == State.DEGRADED) {
                    return false;
                }
                any |= st == State.FAIL;
            }
        }
        return any;
    }

    private List<String> worksAt(int s) {
        Set<String> out = new LinkedHashSet<>();
        for (int c : tableOrder) {
            for (int a : siteAgents[s]) {
                if (live(a, c) == State.OK) {
                    out.add(describe(checks.get(c)));
                }
            }
        }
        return out.stream().limit(4).toList();
    }

    private String codesOf(List<int[]> cells) {
        Set<String> t = new TreeSet<>();
        for (int[] cell : cells) {
            FailureCode fc = code[cell[0] * nC + cell[1]];
            t.add(fc == null ? "failed" : fc.name());
        }
        return String.join(", ", t);
    }

    // ---------------------------------------------------------------- degraded

    private void degradedStage() {
        Map<String, List<int[]>> perSiteComp = new TreeMap<>();
        Map<String, Component> comps = new TreeMap<>();
        for (int c = 0; c < nC; c++) {
            int[] deg = new int[sites.size()];
            int rated = 0;
            Set<Integer> ratedSites = new TreeSet<>();
            List<int[]> cells = new ArrayList<>();
            for (int a = 0; a < nA; a++) {
                State st = live(a, c);
                if (st == State.OK || st == State.FAIL || st == State.DEGRADED) {
                    ratedSites.add(agentSite[a]);
                }
                if (st == State.DEGRADED) {
                    deg[agentSite[a]]++;
                    cells.add(new int[] {a, c});
                }
            }
            rated = ratedSites.size();
            int degSites = (int) Arrays.stream(deg).filter(x -> x > 0).count();
            if (degSites == 0) {
                continue;
            }
            CheckView cv = checks.get(c);
            Component comp = cv.kind().equals("icmp") ? Component.of("network", "icmp", null, cv.family())
                    : Component.of(cv.layer(), cv.protocol(), cv.port(), cv.family());
            if (isGlobal(degSites, rated)) {
                List<String> keys = cells.stream().map(cl -> agents.get(cl[0]).name() + "|" + cv.id()).sorted()
                        .toList();
                List<String> agentNames = agentsOf(keys);
                String summary = cv.target() + " is degraded from every site (" + degSites + " of " + rated + "): "
                        + detailsOf(cells);
                findings.add(new Finding(FindingKind.DEGRADED, null, sitesOf(agentNames), agentNames, comp,
                        List.of(cv.id()), cv.target(), 0.8, summary, globalEvidence(List.of(c), Set.of()),
                        "look at " + cv.target() + "'s load and its upstream: every site sees it", null, keys,
                        intervalOf(cv)));
                continue;
            }
            for (int[] cell : cells) {
                String k = agentSite[cell[0]] + "|" + comp.key();
                perSiteComp.computeIfAbsent(k, x -> new ArrayList<>()).add(cell);
                comps.put(k, comp);
            }
        }
        for (var e : perSiteComp.entrySet()) {
            int s = Integer.parseInt(e.getKey().substring(0, e.getKey().indexOf('|')));
            String site = sites.get(s);
            List<int[]> cells = e.getValue();
            Component comp = comps.get(e.getKey());
            List<String> keys = cells.stream().map(cl -> agents.get(cl[0]).name() + "|" + checks.get(cl[1]).id())
                    .sorted().toList();
            List<Integer> checkIdx = cells.stream().map(cl -> cl[1]).distinct().sorted().toList();
            Set<String> targets = checkIdx.stream().map(c -> checks.get(c).target())
                    .collect(Collectors.toCollection(TreeSet::new));
            boolean contrast = checkIdx.stream().anyMatch(c -> okElsewhere(c, s));
            String summary = site + ": " + String.join(", ", ids(checkIdx))
                    + (checkIdx.size() == 1 ? " works" : " work") + " but degraded ("
                    + detailsOf(cells) + ")" + (contrast ? "; other sites are fine" : "");
            String remedy = "look at loss and latency on " + site + "'s path toward " + String.join(", ", targets);
            findings.add(new Finding(FindingKind.DEGRADED, site, List.of(site), agentsOf(keys), comp, ids(checkIdx),
                    null, contrast ? 0.8 : 0.6, summary, siteEvidence(s, null), remedy, null, keys,
                    maxInterval(checkIdx)));
        }
    }

    private String detailsOf(List<int[]> cells) {
        Set<String> t = new TreeSet<>();
        for (int[] cell : cells) {
            Observation o = lastObs(cell[0], cell[1]);
            if (o == null) {
                continue;
            }
            if (o.attr("loss_pct") != null) {
                t.add(o.attr("loss_pct") + "% loss");
            } else if (o.detail() != null && !o.detail().isEmpty()) {
                t.add(o.detail());
            } else if (o.failure() != null) {
                t.add(o.failure());
            }
        }
        return t.isEmpty() ? "above threshold" : String.join("; ", t);
    }

    // ---------------------------------------------------------------- evidence and words

    /**
     * The operator's table for one site: every check it ran, green rows included, ordered
     * ICMP, TCP, DNS, TLS, HTTP; by IP before by name; UDP before TCP; IPv4 before IPv6.
     */
    private List<Evidence> siteEvidence(int s, Integer onlyAgent) {
        // the full table of one agent that sees the problem, then only the red rows of its
        // neighbours: a site of many agents stays readable (and under MAX_EVIDENCE rows)
        Integer rep = onlyAgent;
        for (int a : siteAgents[s]) {
            if (rep != null) {
                break;
            }
            for (int c = 0; c < nC && rep == null; c++) {
                State st = live(a, c);
                if (st == State.FAIL || st == State.DEGRADED) {
                    rep = a;
                }
            }
        }
        List<Evidence> out = new ArrayList<>();
        for (int a : siteAgents[s]) {
            if (onlyAgent != null && a != onlyAgent) {
                continue;
            }
            boolean full = rep != null && a == rep;
            for (int c : tableOrder) {
                State st = live(a, c);
                if (!full && st != State.FAIL && st != State.DEGRADED) {
                    continue;
                }
                Evidence e = evidence(a, c);
                if (e != null && out.size() < MAX_EVIDENCE) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    private Evidence evidence(int a, int c) {
        State st = live(a, c);
        if (st == null) {
            return null;
        }
        Observation o = lastObs(a, c);
        String status = switch (st) {
            case OK -> "OK";
            case FAIL -> o.status().name();
            case DEGRADED -> "DEGRADED";
            case EXCLUDED -> o.status().name();
            default -> o.status().name();
        };
        return new Evidence(agents.get(a).name(), checks.get(c).id(), status, o.failure(), o.detail(),
                checks.get(c).layer());
    }

    static String tableKey(CheckView c) {
        int layer = switch (c.kind()) {
            case "icmp" -> 0;
            case "tcp" -> 1;
            case "dns", "dns-trace" -> 2;
            case "tls" -> 3;
            default -> 4;
        };
        int name = c.byName() ? 1 : 0;
        int proto = switch (c.protocol()) {
            case "udp" -> 0;
            case "tcp" -> 1;
            default -> 2;
        };
        int fam = switch (c.family()) {
            case "ipv4" -> 0;
            case "ipv6" -> 1;
            default -> 2;
        };
        return layer + "" + name + proto + fam + (c.kind().equals("dns-trace") ? 1 : 0) + c.id();
    }

    private static String describe(CheckView c) {
        String fam = c.family().equals("ipv6") ? " over IPv6" : "";
        return switch (c.kind()) {
            case "icmp" -> "ICMP" + fam;
            case "tcp" -> "TCP " + c.port() + (c.byName() ? " by name" : " by IP") + fam;
            case "dns" -> "DNS over " + c.protocol().toUpperCase() + fam;
            case "dns-trace" -> "DNS trace";
            case "tls" -> "TLS" + (c.byName() ? " by name" : " by IP") + fam;
            default -> c.kind().toUpperCase() + (c.dialed() != null ? " via " + c.dialed()
                    : c.byName() ? " by name" : " by IP") + fam;
        };
    }

    private static String layerOf(FailureCode fc) {
        return switch (fc.layer()) {
            case NETWORK -> "network";
            case TRANSPORT, LOCAL -> "transport";
            case DNS -> "dns";
            case TLS -> "tls";
            case HTTP -> fc == FailureCode.HTTP_CDN_ORIGIN_DOWN ? "transport" : "http";
        };
    }

    private static int layerRank(String layer) {
        return switch (layer) {
            case "network" -> 0;
            case "transport" -> 1;
            case "dns" -> 2;
            case "tls" -> 3;
            default -> 4;
        };
    }

    private static String codeText(FailureCode fc) {
        if (fc == null) {
            return "failing";
        }
        return switch (fc) {
            case REFUSED -> "connections refused (REFUSED)";
            case TIMEOUT -> "no answer (TIMEOUT)";
            case HTTP_CDN_ORIGIN_DOWN -> "the CDN reports the origin down (HTTP_CDN_ORIGIN_DOWN)";
            case HTTP_CDN_ORIGIN_DNS -> "the CDN cannot resolve the origin (HTTP_CDN_ORIGIN_DNS)";
            case DNS_SERVFAIL -> "the name does not resolve (DNS_SERVFAIL)";
            default -> fc.name();
        };
    }

    private static String protoText(String p, boolean dns) {
        if (p == null || p.equals("any")) {
            return dns ? "UDP/TCP" : "TCP/UDP";
        }
        return p.toUpperCase();
    }

    private static String famText(String fam) {
        return switch (fam) {
            case "ipv4" -> " over IPv4";
            case "ipv6" -> " over IPv6";
            default -> "";
        };
    }

    private static String famName(String fam) {
        return switch (fam) {
            case "ipv4" -> "IPv4";
            case "ipv6" -> "IPv6";
            default -> "IP";
        };
    }

    private static String destText(String dest) {
        return dest.startsWith("zone ") ? "the authority of " + dest.substring(5) : dest;
    }

    static String stripDot(String name) {
        return name.endsWith(".") && name.length() > 1 ? name.substring(0, name.length() - 1) : name;
    }

    private static double round(double v) {
        return Math.round(Math.max(0, Math.min(1, v)) * 100) / 100.0;
    }
}
