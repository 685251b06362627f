package dev.probemesh.coordinator.correlate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.DnsTraceParams;
import dev.probemesh.proto.v1.Family;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The cases that separate a correlator from a counter of red cells. */
class HardCasesTest {

    private static final List<String> DNS_BY_IDC = List.of("dns-origin-udp", "dns-origin-tcp", "dns-origin-v6",
            "dns-home-udp", "dns-nas-udp", "trace-home", "https-origin-v4", "https-origin-v6");

    private static LabMatrix dnsBlocked(LabMatrix m, String agent) {
        for (String c : DNS_BY_IDC) {
            m.fail(agent, c, "DNS_TIMEOUT");
        }
        return m;
    }

    private static List<Finding> of(CorrelationResult r, FindingKind kind) {
        return r.findings().stream().filter(f -> f.kind() == kind).toList();
    }

    @Test
    void twoOfThreeSitesBlockedAreTwoLocalBlocksNotAnOutage() {
        LabMatrix m = dnsBlocked(dnsBlocked(LabMatrix.healthy(), "idc-1"), "home-1");

        CorrelationResult r = m.correlate();

        assertThat(of(r, FindingKind.TARGET_OUTAGE)).isEmpty();
        assertThat(of(r, FindingKind.SHARED_DEPENDENCY_OUTAGE)).isEmpty();
        assertThat(r.findings()).extracting(Finding::kind, Finding::site, Finding::component).containsExactly(
                org.assertj.core.groups.Tuple.tuple(FindingKind.LOCAL_PATH_BLOCK, "home",
                        new Component("dns", "any", 53, "any", null, null)),
                org.assertj.core.groups.Tuple.tuple(FindingKind.LOCAL_PATH_BLOCK, "idc",
                        new Component("dns", "any", 53, "any", null, null)));
    }

    @Test
    void sitesSharingALabelThatOnlyTheyCarryAreOneBlock() {
        LabMatrix m = LabMatrix.healthy().agent("idc-1", "idc", Map.of("provider", "acme"))
                .agent("home-1", "home", Map.of("provider", "acme")).agent("vps-1", "vps", Map.of("provider", "other"));
        dnsBlocked(dnsBlocked(m, "idc-1"), "home-1");

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
            assertThat(f.site()).isNull();
            assertThat(f.sites()).containsExactly("home", "idc");
            assertThat(f.component()).isEqualTo(new Component("dns", "any", 53, "any", null, null));
            assertThat(f.summary()).startsWith("the sites with provider=acme (home, idc): cannot reach DNS");
            assertThat(f.cells()).hasSize(16);
        });
    }

    @Test
    void aLabelASucceedingSiteAlsoCarriesDoesNotGroup() {
        LabMatrix m = LabMatrix.healthy().agent("idc-1", "idc", Map.of("provider", "acme"))
                .agent("home-1", "home", Map.of("provider", "acme")).agent("vps-1", "vps", Map.of("provider", "acme"));
        dnsBlocked(dnsBlocked(m, "idc-1"), "home-1");

        assertThat(m.correlate().findings()).extracting(Finding::site).containsExactly("home", "idc");
    }

    @Test
    void threeOfThreeSitesFailingTheSameChecksIsAnOutage() {
        LabMatrix m = LabMatrix.healthy();
        for (String a : LabMatrix.AGENTS) {
            for (String c : List.of("dns-origin-udp", "dns-origin-tcp", "dns-origin-v6")) {
                m.fail(a, c, "DNS_SERVFAIL");
            }
        }
        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
            assertThat(f.target()).startsWith("origin.example.test");
            assertThat(f.component().layer()).isEqualTo("dns");
        });
    }

    @Test
    void oneSiteOnlyReportingIsInconclusive() {
        LabMatrix m = dnsBlocked(LabMatrix.healthy(), "idc-1").disconnect("home-1").disconnect("vps-1");

        CorrelationResult r = m.correlate();

        assertThat(of(r, FindingKind.AGENT_SILENT)).extracting(f -> f.agents().get(0))
                .containsExactly("home-1", "vps-1");
        assertThat(of(r, FindingKind.LOCAL_PATH_BLOCK)).isEmpty();
        assertThat(of(r, FindingKind.TARGET_OUTAGE)).isEmpty();
        assertThat(of(r, FindingKind.INCONCLUSIVE)).singleElement().satisfies(f -> {
            assertThat(f.site()).isEqualTo("idc");
            assertThat(f.component()).isEqualTo(new Component("dns", "any", 53, "any", null, null));
            assertThat(f.undecided()).contains("add an agent at another site", "home-1, vps-1");
            assertThat(f.summary()).contains("cannot tell a local block from an outage");
        });
    }

    @Test
    void oneSiteOnlyButRefusedByItsOwnHostFirewallIsLocal() {
        LabMatrix m = LabMatrix.healthy().disconnect("home-1").disconnect("vps-1")
                .fail("idc-1", "tcp-origin-443-v4", "LOCAL_FIREWALL")
                .fail("idc-1", "tcp-origin-443-v6", "LOCAL_FIREWALL")
                .fail("idc-1", "https-origin-v4", "LOCAL_FIREWALL")
                .fail("idc-1", "https-origin-v6", "LOCAL_FIREWALL")
                .fail("idc-1", "https-home-edge", "LOCAL_FIREWALL");

        CorrelationResult r = m.correlate();

        assertThat(of(r, FindingKind.LOCAL_PATH_BLOCK)).singleElement()
                .satisfies(f -> assertThat(f.component().port()).isEqualTo(443));
        assertThat(of(r, FindingKind.INCONCLUSIVE)).isEmpty();
    }

    static Stream<Arguments> dnsProtocols() {
        return Stream.of(
                Arguments.of(List.of("dns-origin-udp", "dns-home-udp", "dns-nas-udp", "dns-origin-v6", "trace-home",
                        "https-origin-v4", "https-origin-v6"), new Component("dns", "udp", 53, "any", null, null)),
                Arguments.of(List.of("dns-origin-tcp"),
                        new Component("dns", "tcp", 53, "ipv4", null, "198.51.100.53")),
                Arguments.of(DNS_BY_IDC, new Component("dns", "any", 53, "any", null, null)),
                Arguments.of(List.of("dns-origin-v6"),
                        new Component("dns", "udp", 53, "ipv6", null, "2001:db8:53::53")));
    }

    @ParameterizedTest
    @MethodSource("dnsProtocols")
    void namesTheDnsProtocolThatFails(List<String> failing, Component expected) {
        LabMatrix m = LabMatrix.healthy();
        failing.forEach(c -> m.fail("idc-1", c, "DNS_TIMEOUT"));

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
            assertThat(f.component()).isEqualTo(expected);
            assertThat(f.checks()).containsExactlyInAnyOrderElementsOf(failing);
        });
    }

    @Test
    void dnsFailingWhileTcpByIpWorksIsADnsBlockNotAnOutage() {
        LabMatrix m = dnsBlocked(LabMatrix.healthy(), "vps-1");

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
            assertThat(f.component().layer()).isEqualTo("dns");
            assertThat(f.component().protocol()).isEqualTo("any");
            assertThat(f.summary()).contains("TCP 443 by IP");
        });
        assertThat(of(r, FindingKind.TARGET_OUTAGE)).isEmpty();
    }

    @Test
    void oneNameTimingOutAtOneSiteIsThatNamesResolutionThere() {
        LabMatrix m = LabMatrix.healthy().fail("home-1", "dns-nas-udp", "DNS_TIMEOUT");

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
            assertThat(f.target()).isEqualTo("nas.example.test");
            assertThat(f.component()).isEqualTo(new Component("dns", null, null, "any", null, "198.51.100.53"));
        });
    }

    @Test
    void zoneAuthorityFailingUnderSeveralTargetsIsOneSharedDependency() {
        LabMatrix m = LabMatrix.healthy()
                .check(Check.newBuilder().setId("trace-nas").setKind("dns-trace").setTarget("nas.example.test")
                        .setFamily(Family.FAMILY_IPV4).setIntervalMs(5000)
                        .setDnsTrace(DnsTraceParams.newBuilder().addRootServers("198.51.100.5")).build())
                .check(Check.newBuilder().setId("dns-cam").setKind("dns").setTarget("cam.ddns.test")
                        .setFamily(Family.FAMILY_IPV4).setIntervalMs(5000)
                        .setDns(DnsParams.newBuilder().setResolver("198.51.100.53")).build())
                .failEverywhere("dns-home-udp", "DNS_SERVFAIL", Map.of())
                .failEverywhere("dns-nas-udp", "DNS_SERVFAIL", Map.of())
                .failEverywhere("dns-cam", "DNS_SERVFAIL", Map.of())
                .failEverywhere("trace-home", "DNS_AUTHORITY_UNREACHABLE",
                        Map.of("zone", "ddns.test", "chain", "home.example.test,myhome.ddns.test"))
                .failEverywhere("trace-nas", "DNS_AUTHORITY_UNREACHABLE",
                        Map.of("zone", "ddns.test", "chain", "nas.example.test,mynas.ddns.test"))
                .failEverywhere("https-home-edge", "HTTP_CDN_ORIGIN_DNS", Map.of("http_status", "530"));

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.SHARED_DEPENDENCY_OUTAGE);
            assertThat(f.component().zone()).isEqualTo("ddns.test");
            assertThat(f.checks()).containsExactlyInAnyOrder("dns-cam", "dns-home-udp", "dns-nas-udp", "trace-home",
                    "trace-nas", "https-home-edge");
            // every name is proven by a trace or lies in the zone: nothing is presumed
            assertThat(f.summary()).doesNotContain("presumed");
            assertThat(f.undecided()).isNull();
        });
    }

    @Test
    void aNameFailingEverywhereWithoutATraceIsATargetOutageOfTheName() {
        LabMatrix m = LabMatrix.healthy().failEverywhere("dns-nas-udp", "DNS_SERVFAIL", Map.of());

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
            assertThat(f.target()).isEqualTo("nas.example.test");
            assertThat(f.component().layer()).isEqualTo("dns");
            assertThat(f.remedy()).contains("dns-trace check");
        });
    }

    @Test
    void aCdnEdgeNobodyReachesIsASharedDependency() {
        LabMatrix m = LabMatrix.healthy().failEverywhere("https-home-edge", "TIMEOUT", Map.of());

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.SHARED_DEPENDENCY_OUTAGE);
            assertThat(f.target()).isEqualTo("203.0.113.80");
            assertThat(f.component()).isEqualTo(Component.of("transport", "tcp", 443, "ipv4"));
        });
    }

    @Test
    void wafChallengeForEverySiteIsAGlobalPolicyBlock() {
        LabMatrix m = LabMatrix.healthy().failEverywhere("https-home-edge", "HTTP_WAF_CHALLENGE",
                Map.of("http_status", "403"));

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.TARGET_POLICY_BLOCK);
            assertThat(f.site()).isNull();
            assertThat(f.sites()).containsExactly("home", "idc", "vps");
        });
    }

    @Test
    void rateLimitedSiteGetsARateLimitRemedy() {
        LabMatrix m = LabMatrix.healthy().fail("home-1", "https-home-edge", "HTTP_RATE_LIMITED",
                Map.of("http_status", "429"));

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.TARGET_POLICY_BLOCK);
            assertThat(f.site()).isEqualTo("home");
            assertThat(f.remedy()).contains("rate-limits home");
        });
    }

    @Test
    void lossAtOneSiteIsDegraded() {
        LabMatrix m = LabMatrix.healthy().degraded("vps-1", "icmp-resolver-v4", "PACKET_LOSS",
                Map.of("loss_pct", "33"));

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.DEGRADED);
            assertThat(f.site()).isEqualTo("vps");
            assertThat(f.component()).isEqualTo(Component.of("network", "icmp", null, "ipv4"));
            assertThat(f.summary()).contains("33% loss", "other sites are fine");
            assertThat(f.cells()).containsExactly("vps-1|icmp-resolver-v4");
        });
    }

    @Test
    void disconnectedAgentIsSilentAndItsCellsProduceNothingElse() {
        LabMatrix m = dnsBlocked(LabMatrix.healthy(), "vps-1").disconnect("vps-1");

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.AGENT_SILENT);
            assertThat(f.site()).isEqualTo("vps");
            assertThat(f.agents()).containsExactly("vps-1");
            assertThat(f.summary()).contains("vps's path to the coordinator may be cut");
        });
    }

    @Test
    void agentWhoseResultsStoppedIsSilentEvenWhenMarkedConnected() {
        LabMatrix m = LabMatrix.healthy();
        for (CheckView c : m.checks()) {
            m.fail("idc-1", c.id(), "TIMEOUT");
        }
        m.quietSince("idc-1", Duration.ofMinutes(2));

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.AGENT_SILENT);
            assertThat(f.confidence()).isEqualTo(0.9);
            assertThat(f.summary()).contains("idc-1", "has sent no result since");
        });
    }

    /**
     * The tracker re-logs and re-stores a verdict whose text changed; a summary that counted "N s
     * ago" changed every tick, so a silent agent's verdict was rewritten every second.
     */
    @Test
    void aSilentAgentsVerdictReadsTheSameOnTheNextTick() {
        LabMatrix m = LabMatrix.healthy();
        for (CheckView c : m.checks()) {
            m.fail("idc-1", c.id(), "TIMEOUT");
        }
        m.quietSince("idc-1", Duration.ofMinutes(2));
        CorrelationConfig cfg = CorrelationConfig.defaults();

        CorrelationResult first = new Correlator().correlate(m.agents(), m.checks(), m.observations(), LabMatrix.NOW, cfg);
        CorrelationResult next = new Correlator().correlate(m.agents(), m.checks(), m.observations(),
                LabMatrix.NOW.plusSeconds(1), cfg);

        assertThat(of(first, FindingKind.AGENT_SILENT)).singleElement().satisfies(f ->
                assertThat(of(next, FindingKind.AGENT_SILENT)).singleElement()
                        .satisfies(g -> assertThat(g.summary()).isEqualTo(f.summary())));
    }

    @Test
    void unsupportedCellsAreNeitherFailuresNorSuccesses() {
        LabMatrix m = LabMatrix.healthy()
                .set("home-1", "icmp-origin-v6", List.of(ProbeStatus.UNSUPPORTED), "UNSUPPORTED", Map.of(), "no ping")
                .set("idc-1", "tcp-origin-443-v6", List.of(ProbeStatus.FAIL), "POLICY_DENIED", Map.of(), "denied");

        assertThat(m.correlate().findings()).isEmpty();
    }

    @Test
    void whatAHostCannotDoIsNotAFailure() {
        LabMatrix m = LabMatrix.healthy().capabilities("home-1", false, false);
        for (CheckView c : m.checks()) {
            if (c.family().equals("ipv6") || c.kind().equals("icmp")) {
                m.fail("home-1", c.id(), "ADDRESS_FAMILY_UNAVAILABLE");
            }
        }

        assertThat(m.correlate().findings()).isEmpty();
    }

    @Test
    void oneFailedRoundOpensNothingAndTwoDo() {
        LabMatrix once = LabMatrix.healthy().rounds("idc-1", "dns-origin-tcp",
                List.of(ProbeStatus.OK, ProbeStatus.OK, ProbeStatus.FAIL), "DNS_TIMEOUT");
        LabMatrix twice = LabMatrix.healthy().rounds("idc-1", "dns-origin-tcp",
                List.of(ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.FAIL), "DNS_TIMEOUT");
        LabMatrix recovered = LabMatrix.healthy().rounds("idc-1", "dns-origin-tcp",
                List.of(ProbeStatus.FAIL, ProbeStatus.FAIL, ProbeStatus.OK), "DNS_TIMEOUT");

        assertThat(once.correlate().findings()).isEmpty();
        assertThat(twice.correlate().findings()).singleElement()
                .satisfies(f -> assertThat(f.checks()).containsExactly("dns-origin-tcp"));
        assertThat(recovered.correlate().findings()).isEmpty();
    }

    @Test
    void confirmRoundsIsConfigurable() {
        LabMatrix twice = LabMatrix.healthy().rounds("idc-1", "dns-origin-tcp",
                List.of(ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.FAIL), "DNS_TIMEOUT");

        assertThat(twice.correlate(CorrelationConfig.defaults().withConfirmRounds(3)).findings()).isEmpty();
    }

    @Test
    void twoAgentsAtOneSiteDisagreeingBlamesTheFailingAgentOnly() {
        LabMatrix m = LabMatrix.healthy().agent("idc-2", "idc", Map.of());
        for (CheckView c : m.checks()) {
            m.ok("idc-2", c.id());
        }
        for (String c : List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6",
                "https-home-edge")) {
            m.fail("idc-2", c, "TIMEOUT");
        }

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
            assertThat(f.site()).isEqualTo("idc");
            assertThat(f.agents()).containsExactly("idc-2");
            assertThat(f.component()).isEqualTo(Component.of("transport", "tcp", 443, "any"));
            assertThat(f.evidence()).extracting(Evidence::agent).containsOnly("idc-2");
        });
    }

    @Test
    void twoAgentsOfASiteWithTheSameBlockAreOneFindingAndTheirNeighbourIsTheContrast() {
        LabMatrix m = LabMatrix.healthy().agent("idc-2", "idc", Map.of()).agent("idc-3", "idc", Map.of());
        for (String a : List.of("idc-2", "idc-3")) {
            for (CheckView c : m.checks()) {
                m.ok(a, c.id());
            }
            for (String c : List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6",
                    "https-home-edge")) {
                m.fail(a, c, "TIMEOUT");
            }
        }

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.agents()).containsExactly("idc-2", "idc-3");
            assertThat(f.cells()).hasSize(10);
            // idc-2's whole table, then only idc-3's red rows
            assertThat(f.evidence()).filteredOn(e -> e.agent().equals("idc-2")).hasSize(13);
            assertThat(f.evidence()).filteredOn(e -> e.agent().equals("idc-3")).hasSize(5)
                    .allMatch(e -> e.status().equals("FAIL"));
        });
    }

    @Test
    void twoSilentAgentsAtOneSiteAreTwoFindingsWithDistinctKeys() {
        LabMatrix m = LabMatrix.healthy().agent("idc-2", "idc", Map.of()).disconnect("idc-1").disconnect("idc-2");

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).extracting(Finding::kind).containsOnly(FindingKind.AGENT_SILENT).hasSize(2);
        assertThat(r.findings()).extracting(Finding::key).doesNotHaveDuplicates();
    }

    @Test
    void contradictingResultsForOnePathAreInconclusive() {
        // 203.0.113.10:443 times out while https to origin.example.test (the same address) works
        LabMatrix m = LabMatrix.healthy().fail("home-1", "tcp-origin-443-v4", "TIMEOUT");

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.INCONCLUSIVE);
            assertThat(f.checks()).containsExactly("tcp-origin-443-v4");
            assertThat(f.undecided()).isNotBlank();
        });
    }

    @Test
    void tlsFailingAtOneSiteOnlyIsALocalTlsBlock() {
        LabMatrix m = LabMatrix.healthy().fail("idc-1", "https-origin-v4", "TLS_CERT_UNTRUSTED")
                .fail("idc-1", "https-origin-v6", "TLS_CERT_UNTRUSTED");

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
            assertThat(f.component().layer()).isEqualTo("tls");
            assertThat(f.remedy()).contains("TLS interception");
        });
    }

    @Test
    void degradedFromEverySiteIsAGlobalDegradation() {
        LabMatrix m = LabMatrix.healthy();
        for (String a : LabMatrix.AGENTS) {
            m.degraded(a, "https-origin-v4", "HTTP_STATUS", Map.of());
        }

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.DEGRADED);
            assertThat(f.site()).isNull();
            assertThat(f.target()).isEqualTo("origin.example.test");
        });
    }

    @Test
    void evidenceOfAFleetWideOutageStaysBounded() {
        LabMatrix m = LabMatrix.healthy();
        for (int i = 0; i < 250; i++) {
            m.agent("a-" + i, "s-" + i, Map.of());
            for (CheckView c : m.checks()) {
                m.ok("a-" + i, c.id());
            }
        }
        m.failEverywhere("tcp-origin-443-v4", "REFUSED", Map.of());

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
            assertThat(f.cells()).hasSize(253);
            assertThat(f.evidence()).hasSize(CorrelationRun.MAX_EVIDENCE);
        });
    }

    @Test
    void anOutageConfirmedAtOneSiteFirstSaysNothingUntilTheOthersConfirm() {
        List<String> port443 = List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4",
                "https-origin-v6");
        LabMatrix early = LabMatrix.healthy();
        LabMatrix later = LabMatrix.healthy();
        for (String c : port443) {
            early.fail("idc-1", c, "REFUSED");
            later.fail("idc-1", c, "REFUSED");
            for (String a : List.of("home-1", "vps-1")) {
                early.rounds(a, c, List.of(ProbeStatus.OK, ProbeStatus.OK, ProbeStatus.FAIL), "REFUSED");
                later.rounds(a, c, List.of(ProbeStatus.OK, ProbeStatus.FAIL, ProbeStatus.FAIL), "REFUSED");
            }
        }

        assertThat(early.correlate().findings()).isEmpty();
        assertThat(later.correlate().findings()).singleElement()
                .satisfies(f -> assertThat(f.kind()).isEqualTo(FindingKind.TARGET_OUTAGE));
    }

    @Test
    void anOutageSeenByOneSiteWhileAnotherTurnsRedIsNotALocalBlockYet() {
        LabMatrix m = LabMatrix.healthy();
        for (String c : List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6")) {
            m.fail("idc-1", c, "REFUSED");
            m.rounds("home-1", c, List.of(ProbeStatus.OK, ProbeStatus.OK, ProbeStatus.FAIL), "REFUSED");
            // vps-1 has not run its round yet: still green
        }

        assertThat(m.correlate().findings()).isEmpty();
    }

    @Test
    void aNeighbourThatIsRecoveringDoesNotHoldBackALocalBlock() {
        LabMatrix m = LabMatrix.healthy();
        for (String c : List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6",
                "https-home-edge")) {
            m.fail("idc-1", c, "LOCAL_FIREWALL");
            m.rounds("home-1", c, List.of(ProbeStatus.FAIL, ProbeStatus.FAIL, ProbeStatus.OK), "TIMEOUT");
        }

        assertThat(m.correlate().findings()).singleElement()
                .satisfies(f -> assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK));
    }

    @Test
    void configRejectsNonsenseWithTheFieldName() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new CorrelationConfig(0, 3, 0.8, 2, 10_000, null, 2,
                null, null)).hasMessageContaining("confirmRounds");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new CorrelationConfig(2, 3, 0.8, 1, 10_000, null, 2,
                null, null)).hasMessageContaining("minSitesForGlobal");
    }
}
