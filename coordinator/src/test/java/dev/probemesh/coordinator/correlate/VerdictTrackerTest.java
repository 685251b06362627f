package dev.probemesh.coordinator.correlate;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VerdictTrackerTest {
    private static final Instant T0 = LabMatrix.NOW;
    private static final CorrelationConfig CFG = CorrelationConfig.defaults();
    private final Correlator correlator = new Correlator();

    private static LabMatrix idcDnsBlocked(Instant now) {
        LabMatrix m = LabMatrix.healthy(now);
        for (String c : List.of("dns-origin-udp", "dns-origin-tcp", "dns-origin-v6", "dns-home-udp", "dns-nas-udp",
                "trace-home", "https-origin-v4", "https-origin-v6")) {
            m.fail("idc-1", c, "DNS_TIMEOUT");
        }
        return m;
    }

    private CorrelationResult blocked(Instant now) {
        return idcDnsBlocked(now).correlate();
    }

    private CorrelationResult healthy(Instant now) {
        return LabMatrix.healthy(now).correlate();
    }

    private static Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }

    @Test
    void opensOnceAndKeepsItsIdAcrossUpdates() {
        VerdictTracker t = new VerdictTracker(CFG);

        List<Verdict> first = t.update(blocked(at(0)), at(0));
        List<Verdict> second = t.update(blocked(at(5)), at(5));
        List<Verdict> third = t.update(blocked(at(10)), at(10));

        assertThat(first).singleElement().satisfies(v -> {
            assertThat(v.id()).matches("v-[0-9a-f]{8}");
            assertThat(v.state()).isEqualTo(Verdict.State.OPEN);
            assertThat(v.openedAt()).isEqualTo(at(0));
            assertThat(v.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
        });
        assertThat(second).isEmpty();
        assertThat(third).isEmpty();
        assertThat(t.open()).extracting(Verdict::id).containsExactly(first.get(0).id());
    }

    @Test
    void mapsRedCellsToTheVerdictThatExplainsThem() {
        VerdictTracker t = new VerdictTracker(CFG);
        String id = t.update(blocked(at(0)), at(0)).get(0).id();

        Map<String, String> cells = t.cellVerdicts();

        assertThat(cells).containsEntry("idc-1|dns-origin-udp", id).containsEntry("idc-1|https-origin-v6", id)
                .hasSize(8).doesNotContainKey("idc-1|tcp-origin-443-v4").doesNotContainKey("home-1|dns-origin-udp");
    }

    @Test
    void closesOnlyAfterItsFindingIsAbsentForTwoRounds() {
        VerdictTracker t = new VerdictTracker(CFG);
        String id = t.update(blocked(at(0)), at(0)).get(0).id();

        assertThat(t.update(healthy(at(5)), at(5))).isEmpty();
        assertThat(t.open()).hasSize(1);
        List<Verdict> closing = t.update(healthy(at(10)), at(10));

        assertThat(closing).singleElement().satisfies(v -> {
            assertThat(v.id()).isEqualTo(id);
            assertThat(v.state()).isEqualTo(Verdict.State.CLOSED);
            assertThat(v.closedAt()).isEqualTo(at(10));
        });
        assertThat(t.open()).isEmpty();
        assertThat(t.cellVerdicts()).isEmpty();
        assertThat(t.recentlyClosed(at(0))).extracting(Verdict::id).containsExactly(id);
        assertThat(t.recentlyClosed(at(11))).isEmpty();
    }

    @Test
    void closeAfterIsConfigurable() {
        VerdictTracker t = new VerdictTracker(CFG.withCloseAfter(Duration.ofSeconds(30)));
        t.update(blocked(at(0)), at(0));

        t.update(healthy(at(20)), at(20));
        assertThat(t.open()).hasSize(1);
        t.update(healthy(at(30)), at(30));
        assertThat(t.open()).isEmpty();
    }

    @Test
    void flappingIsDampedIntoOneOpenVerdict() {
        VerdictTracker t = new VerdictTracker(CFG);
        String id = t.update(blocked(at(0)), at(0)).get(0).id();

        for (int i = 1; i <= 10; i++) {
            Instant now = at(5L * i);
            List<Verdict> changed = t.update(i % 2 == 0 ? blocked(now) : healthy(now), now);
            assertThat(changed).noneMatch(v -> v.state() == Verdict.State.CLOSED);
        }
        assertThat(t.open()).extracting(Verdict::id).containsExactly(id);
    }

    @Test
    void aFindingBackWithinTheHoldReopensTheSameVerdict() {
        VerdictTracker t = new VerdictTracker(CFG);
        String id = t.update(blocked(at(0)), at(0)).get(0).id();
        t.update(healthy(at(5)), at(5));
        t.update(healthy(at(10)), at(10));
        assertThat(t.open()).isEmpty();

        List<Verdict> back = t.update(blocked(at(40)), at(40));

        assertThat(back).singleElement().satisfies(v -> {
            assertThat(v.id()).isEqualTo(id);
            assertThat(v.state()).isEqualTo(Verdict.State.OPEN);
            assertThat(v.openedAt()).isEqualTo(at(0));
            assertThat(v.closedAt()).isNull();
        });
        assertThat(t.recentlyClosed(at(0))).isEmpty();
    }

    @Test
    void aFindingBackAfterTheHoldIsANewVerdict() {
        VerdictTracker t = new VerdictTracker(CFG);
        String id = t.update(blocked(at(0)), at(0)).get(0).id();
        t.update(healthy(at(5)), at(5));
        t.update(healthy(at(10)), at(10));

        List<Verdict> back = t.update(blocked(at(600)), at(600));

        assertThat(back).singleElement().satisfies(v -> {
            assertThat(v.id()).isNotEqualTo(id);
            assertThat(v.openedAt()).isEqualTo(at(600));
        });
    }

    @Test
    void aSharperComponentKeepsTheVerdictId() {
        VerdictTracker t = new VerdictTracker(CFG);
        LabMatrix udpOnly = LabMatrix.healthy(at(0));
        for (String c : List.of("dns-origin-udp", "dns-home-udp", "dns-nas-udp", "dns-origin-v6", "trace-home",
                "https-origin-v4", "https-origin-v6")) {
            udpOnly.fail("idc-1", c, "DNS_TIMEOUT");
        }
        Verdict first = t.update(udpOnly.correlate(), at(0)).get(0);
        assertThat(first.component().protocol()).isEqualTo("udp");

        List<Verdict> changed = t.update(blocked(at(5)), at(5));

        assertThat(changed).singleElement().satisfies(v -> {
            assertThat(v.id()).isEqualTo(first.id());
            assertThat(v.component().protocol()).isEqualTo("any");
        });
        assertThat(t.open()).hasSize(1);
    }

    @Test
    void twoProblemsAreTwoVerdicts() {
        VerdictTracker t = new VerdictTracker(CFG);
        LabMatrix m = idcDnsBlocked(at(0)).fail("vps-1", "https-home-edge", "HTTP_WAF_CHALLENGE",
                Map.of("http_status", "403"));

        List<Verdict> opened = t.update(m.correlate(), at(0));

        assertThat(opened).extracting(Verdict::kind).containsExactlyInAnyOrder(FindingKind.LOCAL_PATH_BLOCK,
                FindingKind.TARGET_POLICY_BLOCK);
        assertThat(opened).extracting(Verdict::id).doesNotHaveDuplicates();
        assertThat(t.cellVerdicts()).containsKey("vps-1|https-home-edge");
    }

    @Test
    void restoredVerdictsKeepTheirIdsAndDoNotCloseAtOnce() {
        VerdictTracker before = new VerdictTracker(CFG);
        String id = before.update(blocked(at(0)), at(0)).get(0).id();
        List<byte[]> stored = before.open().stream().map(v -> v.toProto().toByteArray()).toList();

        List<Verdict> loaded = stored.stream().map(b -> {
            try {
                return Verdict.fromProto(dev.probemesh.proto.v1.Verdict.parseFrom(b));
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
        }).toList();
        VerdictTracker after = VerdictTracker.restore(loaded, CFG);

        // an hour later the window is still empty (agents reconnecting): no instant close
        assertThat(after.update(new CorrelationResult(at(3600), at(3600), at(3600), List.of()), at(3600))).isEmpty();
        assertThat(after.open()).extracting(Verdict::id).containsExactly(id);
        List<Verdict> same = after.update(blocked(at(3605)), at(3605));
        assertThat(same).singleElement().satisfies(v -> {
            assertThat(v.id()).isEqualTo(id);
            assertThat(v.openedAt()).isEqualTo(at(0));
        });
        assertThat(after.cellVerdicts()).containsEntry("idc-1|dns-origin-udp", id);
    }

    @Test
    void restoredVerdictWhoseProblemIsGoneClosesAfterTheUsualDelay() {
        VerdictTracker before = new VerdictTracker(CFG);
        before.update(blocked(at(0)), at(0));
        VerdictTracker after = VerdictTracker.restore(before.open(), CFG);

        // the stored verdict does not carry its checks' interval: the default round (10 s) applies
        after.update(healthy(at(100)), at(100));
        after.update(healthy(at(119)), at(119));
        assertThat(after.open()).hasSize(1);
        after.update(healthy(at(120)), at(120));
        assertThat(after.open()).isEmpty();
    }

    @Test
    void toProtoFollowsTheWireContract() {
        VerdictTracker t = new VerdictTracker(CFG);
        LabMatrix ddns = LabMatrix.healthy(at(0))
                .failEverywhere("dns-home-udp", "DNS_SERVFAIL", Map.of())
                .failEverywhere("trace-home", "DNS_AUTHORITY_UNREACHABLE", Map.of("zone", "ddns.test"));
        Verdict v = t.update(ddns.correlate(), at(0)).get(0);

        dev.probemesh.proto.v1.Verdict p = v.toProto();

        assertThat(p.getId()).isEqualTo(v.id());
        assertThat(p.getKind()).isEqualTo("SHARED_DEPENDENCY_OUTAGE");
        assertThat(p.getState()).isEqualTo("OPEN");
        assertThat(p.getSite()).isEmpty();
        assertThat(p.getSitesList()).containsExactly("home", "idc", "vps");
        assertThat(p.getClosedAtMs()).isZero();
        assertThat(p.getOpenedAtMs()).isEqualTo(at(0).toEpochMilli());
        assertThat(p.getComponent().getLayer()).isEqualTo("dns");
        assertThat(p.getComponent().getZone()).isEqualTo("ddns.test");
        assertThat(p.getComponent().getPort()).isZero();
        assertThat(p.getComponent().getProtocol()).isEmpty();
        assertThat(p.getComponent().getFamily()).isEqualTo("any");
        assertThat(p.getTarget()).isEqualTo("ddns.test");
        assertThat(p.getEvidenceCount()).isEqualTo(v.evidence().size());
        assertThat(Verdict.fromProto(p)).isEqualTo(new Verdict(v.id(), v.kind(), v.state(), v.openedAt(),
                v.closedAt(), v.site(), v.sites(), v.agents(), v.component(), v.checks(), v.confidence(),
                v.summary(), v.evidence(), v.remedy(), v.target(), v.undecided(), List.of()));
    }

    @Test
    void aSilentAgentVerdictClosesWhenItReportsAgain() {
        VerdictTracker t = new VerdictTracker(CFG);
        Verdict v = t.update(LabMatrix.healthy(at(0)).disconnect("vps-1").correlate(), at(0)).get(0);
        assertThat(v.kind()).isEqualTo(FindingKind.AGENT_SILENT);

        t.update(healthy(at(5)), at(5));
        t.update(healthy(at(10)), at(10));

        assertThat(t.open()).isEmpty();
        assertThat(t.recentlyClosed(at(0))).extracting(Verdict::id).containsExactly(v.id());
    }

    private static Finding finding(String protocol, List<String> checks) {
        return new Finding(FindingKind.LOCAL_PATH_BLOCK, "idc", List.of("idc"), List.of("idc-1"),
                new Component("dns", protocol, 53, "any", null, null), checks, null, 0.9, "idc dns " + protocol,
                List.of(), "allow dns", null, checks.stream().map(c -> "idc-1|" + c).toList(), 5000);
    }

    @Test
    void anExactKeyKeepsItsVerdictEvenWhenASimilarFindingComesFirst() {
        VerdictTracker t = new VerdictTracker(CFG);
        String udp = t.update(new CorrelationResult(at(0), at(0), at(0),
                List.of(finding("udp", List.of("a", "b")))), at(0)).get(0).id();

        List<Verdict> changed = t.update(new CorrelationResult(at(5), at(5), at(5),
                List.of(finding("any", List.of("a")), finding("udp", List.of("a", "b")))), at(5));

        assertThat(changed).singleElement().satisfies(v -> {
            assertThat(v.id()).isNotEqualTo(udp);
            assertThat(v.component().protocol()).isEqualTo("any");
        });
        assertThat(t.open()).extracting(Verdict::id).contains(udp).hasSize(2);
    }
}
