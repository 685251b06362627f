package dev.probemesh.coordinator.correlate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rehearsed incidents of DESIGN.md, on the lab's 3 agents x 13 checks. */
class LabIncidentsTest {

    private static List<Finding> of(CorrelationResult r, FindingKind kind) {
        return r.findings().stream().filter(f -> f.kind() == kind).toList();
    }

    @Test
    void healthyMatrixHasNoFindings() {
        assertThat(LabMatrix.healthy().correlate().findings()).isEmpty();
    }

    @Test
    void idcDnsBlockedIsOneLocalDnsBlockWithIcmpFolded() {
        LabMatrix m = LabMatrix.healthy();
        for (String c : List.of("dns-origin-udp", "dns-origin-tcp", "dns-origin-v6", "dns-home-udp", "dns-nas-udp",
                "trace-home", "https-origin-v4", "https-origin-v6")) {
            m.fail("idc-1", c, "DNS_TIMEOUT", Map.of());
        }
        m.fail("idc-1", "icmp-resolver-v4", "TIMEOUT").fail("idc-1", "icmp-origin-v6", "TIMEOUT");

        CorrelationResult r = m.correlate();

        assertThat(of(r, FindingKind.TARGET_OUTAGE)).isEmpty();
        assertThat(r.findings()).hasSize(1);
        Finding f = r.findings().get(0);
        assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
        assertThat(f.site()).isEqualTo("idc");
        assertThat(f.component()).isEqualTo(new Component("dns", "any", 53, "any", null, null));
        assertThat(f.checks()).contains("dns-origin-udp", "dns-origin-tcp", "dns-origin-v6", "dns-home-udp",
                "dns-nas-udp", "trace-home", "https-origin-v4", "https-origin-v6", "icmp-resolver-v4",
                "icmp-origin-v6");
        assertThat(f.agents()).containsExactly("idc-1");
        assertThat(f.summary()).contains("idc cannot reach DNS on UDP/TCP 53", "every name-based check fails",
                "TCP 443 by IP", "ICMP echo is filtered too");
        assertThat(f.remedy()).startsWith("allow outbound UDP and TCP 53 from idc to 198.51.100.53");
        // the operator's table: every idc check, green rows included, ICMP first and HTTP last
        assertThat(f.evidence()).extracting(Evidence::check).hasSize(13)
                .startsWith("icmp-resolver-v4", "icmp-origin-v6", "tcp-origin-443-v4", "tcp-origin-443-v6")
                .endsWith("https-home-edge", "https-origin-v4", "https-origin-v6");
        assertThat(f.evidence()).filteredOn(e -> e.check().equals("tcp-origin-443-v4"))
                .extracting(Evidence::status).containsExactly("OK");
        assertThat(f.confidence()).isGreaterThan(0.9);
    }

    @Test
    void ddnsDownIsOneSharedDependencyOutageOfTheZone() {
        LabMatrix m = LabMatrix.healthy()
                .failEverywhere("dns-home-udp", "DNS_SERVFAIL", Map.of("rcode", "SERVFAIL"))
                .failEverywhere("dns-nas-udp", "DNS_SERVFAIL", Map.of("rcode", "SERVFAIL"))
                .failEverywhere("trace-home", "DNS_AUTHORITY_UNREACHABLE", Map.of("zone", "ddns.test"))
                .failEverywhere("https-home-edge", "HTTP_CDN_ORIGIN_DNS",
                        Map.of("http_status", "530", "cf_error", "1016"));

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).hasSize(1);
        Finding f = r.findings().get(0);
        assertThat(f.kind()).isEqualTo(FindingKind.SHARED_DEPENDENCY_OUTAGE);
        assertThat(f.site()).isNull();
        assertThat(f.sites()).containsExactly("home", "idc", "vps");
        assertThat(f.component()).isEqualTo(new Component("dns", null, null, "any", "ddns.test", null));
        assertThat(f.checks()).containsExactlyInAnyOrder("dns-home-udp", "dns-nas-udp", "trace-home",
                "https-home-edge");
        assertThat(f.summary()).contains("ddns.test", "nas.example.test", "presumed");
        assertThat(f.undecided()).contains("dns-trace check for nas.example.test");
        assertThat(f.remedy()).contains("replace the CNAME", "A record");
        assertThat(f.cells()).hasSize(12);
    }

    @Test
    void wafChallengeForOneSiteIsAPolicyBlockOfThatSite() {
        LabMatrix m = LabMatrix.healthy().fail("vps-1", "https-home-edge", "HTTP_WAF_CHALLENGE",
                Map.of("http_status", "403"));

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).hasSize(1);
        Finding f = r.findings().get(0);
        assertThat(f.kind()).isEqualTo(FindingKind.TARGET_POLICY_BLOCK);
        assertThat(f.site()).isEqualTo("vps");
        assertThat(f.component().layer()).isEqualTo("http");
        assertThat(f.checks()).containsExactly("https-home-edge");
        assertThat(f.target()).isEqualTo("home.example.test");
        assertThat(f.remedy()).isEqualTo("the edge challenges vps: add a WAF skip rule for its address, and slow its retries");
    }

    @Test
    void homeIpv6BrokenIsALocalNetworkBlockOfIpv6() {
        LabMatrix m = LabMatrix.healthy()
                .fail("home-1", "icmp-origin-v6", "NET_UNREACHABLE")
                .fail("home-1", "dns-origin-v6", "NET_UNREACHABLE")
                .fail("home-1", "tcp-origin-443-v6", "NET_UNREACHABLE")
                .fail("home-1", "https-origin-v6", "NO_ROUTE");

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).hasSize(1);
        Finding f = r.findings().get(0);
        assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
        assertThat(f.site()).isEqualTo("home");
        assertThat(f.component()).isEqualTo(new Component("network", null, null, "ipv6", null, null));
        assertThat(f.checks()).containsExactlyInAnyOrder("icmp-origin-v6", "dns-origin-v6", "tcp-origin-443-v6",
                "https-origin-v6");
        assertThat(f.remedy()).contains("prefer IPv4 on home (gai.conf precedence) or fix its IPv6 route");
    }

    @Test
    void vpsEgress443DeniedIsALocalTransportBlock() {
        LabMatrix m = LabMatrix.healthy();
        for (String c : List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6",
                "https-home-edge")) {
            m.fail("vps-1", c, "LOCAL_FIREWALL");
        }

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).hasSize(1);
        Finding f = r.findings().get(0);
        assertThat(f.kind()).isEqualTo(FindingKind.LOCAL_PATH_BLOCK);
        assertThat(f.site()).isEqualTo("vps");
        assertThat(f.component()).isEqualTo(Component.of("transport", "tcp", 443, "any"));
        assertThat(f.checks()).containsExactlyInAnyOrder("tcp-origin-443-v4", "tcp-origin-443-v6",
                "https-origin-v4", "https-origin-v6", "https-home-edge");
        assertThat(f.remedy()).contains("host firewall on vps rejects outbound TCP 443");
    }

    @Test
    void originDownIsOneTargetOutage() {
        LabMatrix m = LabMatrix.healthy()
                .failEverywhere("tcp-origin-443-v4", "REFUSED", Map.of())
                .failEverywhere("tcp-origin-443-v6", "REFUSED", Map.of())
                .failEverywhere("https-origin-v4", "REFUSED", Map.of())
                .failEverywhere("https-origin-v6", "REFUSED", Map.of())
                .failEverywhere("https-home-edge", "HTTP_CDN_ORIGIN_DOWN", Map.of("http_status", "521"));

        CorrelationResult r = m.correlate();

        assertThat(r.findings()).hasSize(1);
        Finding f = r.findings().get(0);
        assertThat(f.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
        assertThat(f.site()).isNull();
        assertThat(f.target()).startsWith("origin.example.test / 203.0.113.10");
        assertThat(f.component()).isEqualTo(Component.of("transport", "tcp", 443, "any"));
        assertThat(f.checks()).containsExactlyInAnyOrder("tcp-origin-443-v4", "tcp-origin-443-v6",
                "https-origin-v4", "https-origin-v6", "https-home-edge");
        assertThat(f.summary()).contains("fails from every site (3 of 3 sites)", "still answering: ICMP over IPv6");
        assertThat(f.cells()).hasSize(15);
        // one agent per site: its rows for the failing checks and for ping, which still answers
        assertThat(f.evidence()).extracting(Evidence::agent).containsOnly("home-1", "idc-1", "vps-1");
        assertThat(f.evidence()).filteredOn(e -> e.agent().equals("idc-1")).extracting(Evidence::check)
                .containsExactly("icmp-origin-v6", "tcp-origin-443-v4", "tcp-origin-443-v6", "https-home-edge",
                        "https-origin-v4", "https-origin-v6");
    }

    @Test
    void originDownIsOneOutageEvenWithoutDialledAddresses() {
        // names link to addresses through the dns checks' expect-addresses (deploy/lab/checks.yaml)
        LabMatrix m = LabMatrix.healthy();
        for (String a : LabMatrix.AGENTS) {
            for (String c : List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6")) {
                m.set(a, c, List.of(dev.probemesh.common.failure.ProbeStatus.FAIL), "REFUSED", Map.of(), "refused");
            }
            m.set(a, "https-home-edge", List.of(dev.probemesh.common.failure.ProbeStatus.FAIL),
                    "HTTP_CDN_ORIGIN_DOWN", Map.of("http_status", "521"), "521");
        }

        assertThat(m.correlate().findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(FindingKind.TARGET_OUTAGE);
            assertThat(f.target()).isEqualTo("origin.example.test / 203.0.113.10 / 2001:db8:113::10");
            assertThat(f.checks()).hasSize(5);
        });
    }
}
