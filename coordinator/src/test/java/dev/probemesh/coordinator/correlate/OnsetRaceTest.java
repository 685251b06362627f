package dev.probemesh.coordinator.correlate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.failure.ProbeStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Incidents as they begin on the lab: checks turn red a round apart (a trace waits for every
 * authority server to time out; an edge notices its origin before the origin's own probes
 * confirm). Each round is one correlation at a fixed clock fed to one tracker; what the operator
 * sees over the whole onset must be one verdict, never two explaining the same red cell.
 */
class OnsetRaceTest {
    private static final CorrelationConfig CFG = CorrelationConfig.defaults();
    /** Results per cell handed to the correlator, like the coordinator's window. */
    private static final int HISTORY = 8;

    /** A cell failing from a given round on (inclusive), with its failure and attributes. */
    private record Fault(String agent, String check, int fromRound, String failure, Map<String, String> attrs) { }

    /** Round-by-round replay of faults through one tracker. */
    private static final class Onset {
        final List<Fault> faults = new ArrayList<>();
        final Map<String, Verdict> everOpened = new LinkedHashMap<>();
        final VerdictTracker tracker = new VerdictTracker(CFG);
        final List<String> overlaps = new ArrayList<>();

        Onset fail(String check, int fromRound, String failure, Map<String, String> attrs) {
            for (String a : LabMatrix.AGENTS) {
                faults.add(new Fault(a, check, fromRound, failure, attrs));
            }
            return this;
        }

        Onset failAt(String agent, String check, int fromRound, String failure, Map<String, String> attrs) {
            faults.removeIf(f -> f.agent().equals(agent) && f.check().equals(check));
            faults.add(new Fault(agent, check, fromRound, failure, attrs));
            return this;
        }

        static Instant at(int round) {
            return LabMatrix.NOW.plusMillis(round * LabMatrix.INTERVAL_MS);
        }

        CorrelationResult correlate(int round) {
            return matrix(round).correlate(CFG);
        }

        LabMatrix matrix(int round) {
            LabMatrix m = LabMatrix.healthy(at(round));
            for (Fault f : faults) {
                List<ProbeStatus> st = new ArrayList<>();
                for (int r = round - HISTORY + 1; r <= round; r++) {
                    st.add(r >= f.fromRound() ? ProbeStatus.FAIL : ProbeStatus.OK);
                }
                m.set(f.agent(), f.check(), st, f.failure(), f.attrs(), f.failure().toLowerCase());
            }
            return m;
        }

        /** Runs rounds 1..last; returns the changes of the last one. */
        List<Verdict> run(int last) {
            List<Verdict> changed = List.of();
            for (int r = 1; r <= last; r++) {
                changed = step(correlate(r), r);
            }
            return changed;
        }

        List<Verdict> step(CorrelationResult result, int round) {
            List<Verdict> changed = tracker.update(result, at(round));
            changed.stream().filter(v -> v.state() == Verdict.State.OPEN)
                    .forEach(v -> everOpened.putIfAbsent(v.id(), v));
            Map<String, String> owner = new HashMap<>();
            for (Verdict v : tracker.open()) {
                for (String cell : v.cells()) {
                    String prev = owner.put(cell, v.id());
                    if (prev != null) {
                        overlaps.add("round " + round + ": " + cell + " in " + prev + " and " + v.id());
                    }
                }
            }
            return changed;
        }
    }

    private static Onset ddnsDown(int traceFrom) {
        return new Onset()
                .fail("dns-home-udp", 1, "DNS_SERVFAIL", Map.of("rcode", "SERVFAIL"))
                .fail("dns-nas-udp", 1, "DNS_SERVFAIL", Map.of("rcode", "SERVFAIL"))
                .fail("https-home-edge", 1, "HTTP_CDN_ORIGIN_DNS", Map.of("http_status", "530", "cf_error", "1016"))
                // the failing trace reports the zone, not the chain it could not finish
                .fail("trace-home", traceFrom, "DNS_AUTHORITY_UNREACHABLE", Map.of("zone", "ddns.test"));
    }

    @Test
    void ddnsDownWithTheTraceARoundLateOpensOnlyTheZoneOutage() {
        // idc's trace fails in the resolver's round, the others a round later (as on the lab)
        Onset o = ddnsDown(2).failAt("idc-1", "trace-home", 1, "DNS_AUTHORITY_UNREACHABLE", Map.of("zone", "ddns.test"));

        o.run(8);

        assertThat(o.everOpened.values()).singleElement().satisfies(v -> {
            assertThat(v.kind()).isEqualTo(FindingKind.SHARED_DEPENDENCY_OUTAGE);
            assertThat(v.site()).isNull();
            assertThat(v.component()).isEqualTo(new Component("dns", null, null, "any", "ddns.test", null));
            assertThat(v.checks()).containsExactlyInAnyOrder("dns-home-udp", "dns-nas-udp", "trace-home",
                    "https-home-edge");
        });
        assertThat(o.tracker.open()).hasSize(1);
        assertThat(o.overlaps).isEmpty();
    }

    @Test
    void holdsTheNamesWhileTheTraceHasNotRunSinceTheFailureBegan() {
        // round 2: dns-home-udp and dns-nas-udp confirmed; trace-home's newest result is round 0's OK
        Onset o = ddnsDown(3);
        List<Observation> window = o.matrix(2).observations().stream()
                .filter(x -> !x.checkId().equals("trace-home") || !x.at().isAfter(Onset.at(0))).toList();
        LabMatrix m = o.matrix(2);

        CorrelationResult r = new Correlator().correlate(m.agents(), m.checks(), window, Onset.at(2), CFG);

        assertThat(r.findings()).isEmpty();
    }

    @Test
    void theHoldIsBoundedToTwoRoundsThenTheNameIsDecidedAlone() {
        // the trace never confirms: newest failed, the one before succeeded, round after round
        Onset o = new Onset()
                .fail("dns-home-udp", 1, "DNS_SERVFAIL", Map.of("rcode", "SERVFAIL"));
        List<Verdict> opened = new ArrayList<>();
        for (int r = 1; r <= 4; r++) {
            LabMatrix m = LabMatrix.healthy(Onset.at(r));
            for (String a : LabMatrix.AGENTS) {
                List<ProbeStatus> st = new ArrayList<>();
                for (int k = r - HISTORY + 1; k <= r; k++) {
                    st.add(k >= 1 ? ProbeStatus.FAIL : ProbeStatus.OK);
                }
                m.set(a, "dns-home-udp", st, "DNS_SERVFAIL", Map.of("rcode", "SERVFAIL"), "servfail");
                m.set(a, "trace-home", List.of(ProbeStatus.OK, ProbeStatus.FAIL), "DNS_AUTHORITY_UNREACHABLE",
                        Map.of("zone", "ddns.test"), "unreachable");
            }
            List<Verdict> changed = o.step(m.correlate(CFG), r);
            if (r < 4) {
                assertThat(changed).as("round %d (streak %d)", r, r).isEmpty();
            }
            opened.addAll(changed);
        }

        // confirmed at round 2, held rounds 2 and 3, decided at round 4 with what is there
        assertThat(opened).singleElement().satisfies(v -> {
            assertThat(v.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
            assertThat(v.target()).isEqualTo("home.example.test");
            assertThat(v.openedAt()).isEqualTo(Onset.at(4));
        });
    }

    @Test
    void aZoneOutageSupersedesTheNamesOutageAtOnceAndTheNameDoesNotComeBack() {
        // the trace fails only after the hold is spent: the name's outage opens first (round 4)
        Onset o = ddnsDown(4);
        o.run(4);
        List<Verdict> early = o.tracker.open();
        assertThat(early).extracting(Verdict::kind).containsOnly(FindingKind.TARGET_OUTAGE).isNotEmpty();

        List<Verdict> changed = o.step(o.correlate(5), 5);

        Verdict zone = o.tracker.open().stream().filter(v -> v.kind() == FindingKind.SHARED_DEPENDENCY_OUTAGE)
                .findFirst().orElseThrow();
        assertThat(o.tracker.open()).containsExactly(zone);
        for (Verdict old : early) {
            assertThat(changed).filteredOn(v -> v.id().equals(old.id())).singleElement().satisfies(v -> {
                assertThat(v.state()).isEqualTo(Verdict.State.CLOSED);
                assertThat(v.closedAt()).isEqualTo(Onset.at(5));
                assertThat(v.summary()).endsWith("superseded by " + zone.id());
            });
        }
        assertThat(o.overlaps).isEmpty();

        // a flap back to the narrower picture while the zone's verdict is open reopens nothing
        o.step(o.correlate(4), 6);
        assertThat(o.tracker.open()).containsExactly(zone);
        assertThat(o.overlaps).isEmpty();
    }

    @Test
    void originDownWithTheEdgeNoticingFirstIsOneOutageOfTheOrigin() {
        Onset o = originDown(1, 2);

        o.run(8);

        assertThat(o.everOpened.values()).singleElement().satisfies(v -> {
            assertThat(v.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
            assertThat(v.target()).startsWith("origin.example.test / 203.0.113.10");
            assertThat(v.checks()).contains("https-home-edge", "tcp-origin-443-v4");
        });
        assertThat(o.tracker.open()).hasSize(1);
        assertThat(o.overlaps).isEmpty();
    }

    @Test
    void originDownWithTheOriginsProbesFirstKeepsOneVerdict() {
        Onset o = originDown(2, 1);

        o.run(8);

        assertThat(o.everOpened.values()).singleElement().satisfies(v -> {
            assertThat(v.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
            assertThat(v.target()).startsWith("origin.example.test / 203.0.113.10");
        });
        assertThat(o.tracker.open()).singleElement()
                .satisfies(v -> assertThat(v.checks()).hasSize(5).contains("https-home-edge"));
        assertThat(o.overlaps).isEmpty();
    }

    private static Onset originDown(int edgeFrom, int originFrom) {
        Onset o = new Onset();
        for (String c : List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6")) {
            o.fail(c, originFrom, "REFUSED", Map.of());
        }
        return o.fail("https-home-edge", edgeFrom, "HTTP_CDN_ORIGIN_DOWN", Map.of("http_status", "521"));
    }

    @Test
    void idcDnsBlockedTurningRedCheckByCheckEndsAsOneDnsBlockWithNoSecondVerdictForItsCells() {
        Onset o = new Onset();
        o.failAt("idc-1", "icmp-resolver-v4", 1, "TIMEOUT", Map.of());
        o.failAt("idc-1", "icmp-origin-v6", 1, "TIMEOUT", Map.of());
        for (String c : List.of("dns-origin-udp", "dns-origin-tcp", "dns-origin-v6", "dns-home-udp", "dns-nas-udp")) {
            o.failAt("idc-1", c, 2, "DNS_TIMEOUT", Map.of());
        }
        for (String c : List.of("trace-home", "https-origin-v4", "https-origin-v6")) {
            o.failAt("idc-1", c, 3, "DNS_TIMEOUT", Map.of());
        }

        o.run(8);

        assertThat(o.overlaps).isEmpty();
        assertThat(o.tracker.open()).singleElement().satisfies(v -> {
            assertThat(v.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
            assertThat(v.site()).isEqualTo("idc");
            assertThat(v.component()).isEqualTo(new Component("dns", "any", 53, "any", null, null));
            assertThat(v.cells()).hasSize(10);
        });
        // the block is said once the site's picture stops turning: no narrower block before it
        assertThat(o.everOpened.keySet()).containsExactly(o.tracker.open().get(0).id());
    }
}
