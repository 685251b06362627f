package dev.probemesh.coordinator.correlate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.failure.ProbeStatus;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Properties over seeded random matrices (plain loops: every failure names its seed). */
class CorrelationPropertiesTest {
    private static final int CASES = 200;
    private static final List<String> CODES = List.of("TIMEOUT", "REFUSED", "NET_UNREACHABLE", "NO_ROUTE",
            "LOCAL_FIREWALL", "DNS_TIMEOUT", "DNS_SERVFAIL", "DNS_NXDOMAIN", "DNS_AUTHORITY_UNREACHABLE",
            "TLS_HANDSHAKE", "HTTP_STATUS", "HTTP_WAF_CHALLENGE", "HTTP_RATE_LIMITED", "HTTP_CDN_ORIGIN_DNS",
            "HTTP_CDN_ORIGIN_DOWN", "PACKET_LOSS", "POLICY_DENIED");
    private static final List<ProbeStatus> STATUSES = List.of(ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.FAIL,
            ProbeStatus.ERROR, ProbeStatus.DEGRADED, ProbeStatus.UNSUPPORTED);

    /** A lab matrix with extra agents, random faults (often correlated by site or check) and silences. */
    static LabMatrix randomMatrix(long seed) {
        Random rnd = new Random(seed);
        LabMatrix m = LabMatrix.healthy();
        List<String> agents = new ArrayList<>(LabMatrix.AGENTS);
        if (rnd.nextBoolean()) {
            m.agent("idc-2", "idc", Map.of("provider", "x"));
            agents.add("idc-2");
        }
        if (rnd.nextBoolean()) {
            m.agent("edge-1", "edge", Map.of());
            agents.add("edge-1");
        }
        for (String a : agents) {
            for (CheckView c : m.checks()) {
                m.ok(a, c.id());
            }
        }
        List<CheckView> checks = m.checks();
        int faults = rnd.nextInt(12);
        for (int i = 0; i < faults; i++) {
            String code = CODES.get(rnd.nextInt(CODES.size()));
            List<String> who = rnd.nextInt(3) == 0 ? agents : List.of(agents.get(rnd.nextInt(agents.size())));
            List<CheckView> what = new ArrayList<>();
            int n = 1 + rnd.nextInt(5);
            for (int k = 0; k < n; k++) {
                what.add(checks.get(rnd.nextInt(checks.size())));
            }
            for (String a : who) {
                for (CheckView c : what) {
                    List<ProbeStatus> rounds = new ArrayList<>();
                    ProbeStatus s = STATUSES.get(1 + rnd.nextInt(STATUSES.size() - 1));
                    for (int r = 0; r < LabMatrix.ROUNDS; r++) {
                        rounds.add(rnd.nextInt(6) == 0 ? STATUSES.get(rnd.nextInt(STATUSES.size())) : s);
                    }
                    Map<String, String> attrs = code.equals("DNS_AUTHORITY_UNREACHABLE")
                            ? Map.of("zone", rnd.nextBoolean() ? "ddns.test" : "example.test") : Map.of();
                    m.set(a, c.id(), rounds, code, attrs, code.toLowerCase());
                }
            }
        }
        if (rnd.nextInt(5) == 0) {
            m.disconnect(agents.get(rnd.nextInt(agents.size())));
        }
        return m;
    }

    private static CorrelationResult correlate(List<AgentView> agents, List<CheckView> checks, List<Observation> obs) {
        return new Correlator().correlate(agents, checks, obs, LabMatrix.NOW, CorrelationConfig.defaults());
    }

    /** Cells that findings blame something for (silence and degradation blame nothing). */
    private static Set<String> blamed(CorrelationResult r) {
        Set<String> out = new TreeSet<>();
        r.findings().stream().filter(f -> f.kind().blamesFailures()).forEach(f -> out.addAll(f.cells()));
        return out;
    }

    @Test
    void permutingTheInputNeverChangesTheOutput() {
        for (long seed = 1; seed <= CASES; seed++) {
            LabMatrix m = randomMatrix(seed);
            CorrelationResult expected = m.correlate();
            Random rnd = new Random(seed * 31);
            List<Observation> obs = new ArrayList<>(m.observations());
            List<AgentView> agents = new ArrayList<>(m.agents());
            List<CheckView> checks = new ArrayList<>(m.checks());
            Collections.shuffle(obs, rnd);
            Collections.shuffle(agents, rnd);
            Collections.shuffle(checks, rnd);

            CorrelationResult shuffled = correlate(agents, checks, obs);

            assertThat(shuffled).as("seed %d", seed).isEqualTo(expected);
        }
    }

    @Test
    void addingASucceedingObservationNeverBlamesANewCell() {
        int grew = 0;
        for (long seed = 1; seed <= CASES; seed++) {
            LabMatrix m = randomMatrix(seed);
            Random rnd = new Random(seed * 17);
            CorrelationResult before = m.correlate();
            List<Observation> obs = new ArrayList<>(m.observations());
            List<AgentView> agents = m.agents();
            List<CheckView> checks = m.checks();
            for (int k = 0; k < 3; k++) {
                AgentView a = agents.get(rnd.nextInt(agents.size()));
                CheckView c = checks.get(rnd.nextInt(checks.size()));
                long back = rnd.nextInt((int) (LabMatrix.INTERVAL_MS * (LabMatrix.ROUNDS + 1)));
                obs.add(new Observation(a.name(), c.id(), ProbeStatus.OK, null, "ok", Map.of(),
                        LabMatrix.NOW.minusMillis(back)));
            }

            CorrelationResult after = correlate(agents, checks, obs);

            // a success may settle a picture (a deferred block gets said, an outage splits into
            // local blocks), but never blames a cell that was not already red
            Set<String> redBefore = red(m.observations());
            assertThat(redBefore).as("seed %d", seed).containsAll(blamed(after));
            if (!blamed(after).equals(blamed(before))) {
                grew++;
            }
        }
        // the property is not vacuous: some successes did clear blamed cells
        assertThat(grew).isPositive();
    }

    /** Cells whose last two results failed (the fixture's agents are fresh, so nothing is stale). */
    private static Set<String> red(List<Observation> obs) {
        Map<String, List<Observation>> byCell = new java.util.TreeMap<>();
        for (Observation o : obs) {
            byCell.computeIfAbsent(o.agent() + "|" + o.checkId(), k -> new ArrayList<>()).add(o);
        }
        Set<String> out = new TreeSet<>();
        byCell.forEach((cell, list) -> {
            List<Observation> last = list.stream().sorted(CorrelationRun.NEWEST_FIRST).limit(2).toList();
            if (last.size() == 2 && last.stream().allMatch(o -> o.status() == ProbeStatus.FAIL
                    || o.status() == ProbeStatus.ERROR)) {
                out.add(cell);
            }
        });
        return out;
    }

    @Test
    void findingsOnlyBlameCellsWhoseLastRoundsFailed() {
        for (long seed = 1; seed <= CASES; seed++) {
            LabMatrix m = randomMatrix(seed);
            List<Observation> obs = m.observations();
            assertThat(red(obs)).as("seed %d", seed).containsAll(blamed(m.correlate()));
        }
    }

    @Test
    void everyConfidenceIsAProbabilityAndEveryFindingSaysSomething() {
        for (long seed = 1; seed <= CASES; seed++) {
            for (Finding f : randomMatrix(seed).correlate().findings()) {
                assertThat(f.confidence()).as("seed %d", seed).isBetween(0.0, 1.0);
                assertThat(f.summary()).as("seed %d", seed).isNotBlank();
                if (f.kind() == FindingKind.INCONCLUSIVE) {
                    assertThat(f.undecided()).as("seed %d", seed).isNotBlank();
                } else {
                    assertThat(f.remedy()).as("seed %d", seed).isNotBlank();
                }
                if (f.kind() == FindingKind.LOCAL_PATH_BLOCK || f.kind() == FindingKind.AGENT_SILENT) {
                    assertThat(f.site()).as("seed %d", seed).isNotNull();
                }
                if (f.kind() == FindingKind.TARGET_OUTAGE || f.kind() == FindingKind.SHARED_DEPENDENCY_OUTAGE) {
                    assertThat(f.site()).as("seed %d", seed).isNull();
                }
            }
        }
    }
}
