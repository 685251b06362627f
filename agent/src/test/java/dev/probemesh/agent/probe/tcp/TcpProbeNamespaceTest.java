package dev.probemesh.agent.probe.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.probe.net.NetnsLab;
import dev.probemesh.testing.RootLab;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The tcp probe on a real routed path (client ns, router ns, server ns; see {@link NetnsLab})
 * with real iptables faults: on the router's FORWARD chain (ICMP comes back from the router,
 * 192.0.2.254 / 2001:db8:1::ff), on the server's INPUT chain, and on the client's own OUTPUT
 * chain. All cases run at once in one child JVM inside the client namespace; the rows below
 * assert each one.
 */
@Timeout(180)
class TcpProbeNamespaceTest {
    private static NetnsLab lab;
    private static final Map<String, NetnsLab.Line> results = new HashMap<>();

    @BeforeAll
    static void runEveryCaseInTheClientNamespace() throws Exception {
        RootLab.require();
        lab = NetnsLab.create("tcp");
        lab.listen(7001, 7010);
        rule(lab.router, "iptables", "7003", "-j", "DROP");
        rule(lab.router, "ip6tables", "7003", "-j", "DROP");
        rule(lab.router, "iptables", "7004", "-j", "REJECT", "--reject-with", "tcp-reset");
        rule(lab.router, "iptables", "7005", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited");
        rule(lab.router, "ip6tables", "7005", "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited");
        rule(lab.router, "iptables", "7006", "-j", "REJECT", "--reject-with", "icmp-host-unreachable");
        rule(lab.router, "ip6tables", "7006", "-j", "REJECT", "--reject-with", "icmp6-addr-unreachable");
        rule(lab.router, "iptables", "7007", "-j", "REJECT", "--reject-with", "icmp-net-unreachable");
        rule(lab.router, "ip6tables", "7007", "-j", "REJECT", "--reject-with", "icmp6-no-route");
        rule(lab.router, "ip6tables", "7010", "-j", "DROP");
        lab.exec(lab.server, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "7009", "-j", "REJECT",
                "--reject-with", "icmp-admin-prohibited");
        lab.exec(lab.client, "iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "7008", "-j", "REJECT");
        lab.exec(lab.client, "ip6tables", "-A", "OUTPUT", "-p", "tcp", "--dport", "7008", "-j", "REJECT");
        lab.exec(lab.client, "iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "7011", "-j", "DROP");
        lab.exec(lab.client, "ip6tables", "-A", "OUTPUT", "-p", "tcp", "--dport", "7011", "-j", "DROP");
        // Neighbour discovery costs ~1 s on the first IPv6 packet: pay it before timing-bound cases.
        lab.exec(lab.client, "ping", "-c1", "-W3", NetnsLab.SERVER6);
        lab.exec(lab.client, "ping", "-c1", "-W3", NetnsLab.SERVER4);
        String s4 = NetnsLab.SERVER4;
        String s6 = "[" + NetnsLab.SERVER6 + "]";
        results.putAll(lab.probe(lab.client, List.of(
                "ok4|tcp|" + s4 + ":7001|ipv4|2000", "ok6|tcp|" + s6 + ":7001|ipv6|2000",
                "closed4|tcp|" + s4 + ":7002|ipv4|2000", "closed6|tcp|" + s6 + ":7002|ipv6|2000",
                "drop4|tcp|" + s4 + ":7003|ipv4|800", "drop6|tcp|" + s6 + ":7003|ipv6|800",
                "rst4|tcp|" + s4 + ":7004|ipv4|2000",
                "adm4|tcp|" + s4 + ":7005|ipv4|2000", "adm6|tcp|" + s6 + ":7005|ipv6|2000",
                "host4|tcp|" + s4 + ":7006|ipv4|2000", "host6|tcp|" + s6 + ":7006|ipv6|2000",
                "net4|tcp|" + s4 + ":7007|ipv4|2000", "net6|tcp|" + s6 + ":7007|ipv6|2000",
                "fw4|tcp|" + s4 + ":7008|ipv4|2000", "fw6|tcp|" + s6 + ":7008|ipv6|2000",
                "srvadm4|tcp|" + s4 + ":7009|ipv4|2000",
                // Long enough for one SYN retransmission (initial RTO 1 s): a local DROP is then told apart.
                "fwdrop4|tcp|" + s4 + ":7011|ipv4|2500", "fwdrop6|tcp|" + s6 + ":7011|ipv6|2500",
                "slowdrop4|tcp|" + s4 + ":7003|ipv4|2500",
                "errnoadm4|tcp-errno|" + s4 + ":7005|ipv4|2000", "errnoadm6|tcp-errno|" + s6 + ":7005|ipv6|2000",
                "dual.test|name|" + NetnsLab.SERVER6 + "," + NetnsLab.SERVER4,
                "fallback|tcp|dual.test:7010|any|3000")));
        // Then this host loses its default routes: the kernel refuses from its own table.
        lab.exec(lab.client, "ip", "route", "del", "default");
        lab.exec(lab.client, "ip", "-6", "route", "del", "default");
        Map<String, NetnsLab.Line> noRoute = lab.probe(lab.client, List.of(
                "noroute4|tcp|" + s4 + ":7001|ipv4|2000", "noroute6|tcp|" + s6 + ":7001|ipv6|2000"));
        results.put("_meta2", noRoute.remove("_meta"));
        results.putAll(noRoute);
        // Finally it loses its global IPv6 address: now IPv6 is something it cannot do.
        lab.exec(lab.client, "ip", "-6", "addr", "flush", "scope", "global");
        Map<String, NetnsLab.Line> noV6 = lab.probe(lab.client, List.of("nov6|tcp|" + s6 + ":7001|ipv6|2000"));
        results.put("_meta3", noV6.remove("_meta"));
        results.putAll(noV6);
    }

    private static void rule(String ns, String tool, String port, String... target) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(tool, "-A", "FORWARD", "-p", "tcp", "--dport", port));
        cmd.addAll(List.of(target));
        lab.exec(ns, cmd.toArray(String[]::new));
    }

    @AfterAll
    static void tearDown() {
        if (lab != null) {
            lab.close();
        }
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @CsvSource(nullValues = "-", value = {
            "ok4,       OK,   -,                -",
            "ok6,       OK,   -,                -",
            "closed4,   FAIL, REFUSED,          -",
            "closed6,   FAIL, REFUSED,          -",
            "drop4,     FAIL, TIMEOUT,          -",
            "drop6,     FAIL, TIMEOUT,          -",
            "rst4,      FAIL, REFUSED,          -",
            "adm4,      FAIL, ADMIN_PROHIBITED, 192.0.2.254",
            "adm6,      FAIL, ADMIN_PROHIBITED, 2001:db8:1::ff",
            "host4,     FAIL, HOST_UNREACHABLE, 192.0.2.254",
            "host6,     FAIL, HOST_UNREACHABLE, 2001:db8:1::ff",
            "net4,      FAIL, NET_UNREACHABLE,  192.0.2.254",
            "net6,      FAIL, NET_UNREACHABLE,  2001:db8:1::ff",
            "fw4,       FAIL, LOCAL_FIREWALL,   192.0.2.1",
            "fw6,       FAIL, LOCAL_FIREWALL,   2001:db8:1::1",
            "srvadm4,   FAIL, ADMIN_PROHIBITED, 198.51.100.10",
            "fwdrop4,   FAIL, LOCAL_FIREWALL,   -",
            "fwdrop6,   FAIL, LOCAL_FIREWALL,   -",
            "slowdrop4, FAIL, TIMEOUT,          -",
            "errnoadm6, FAIL, ADMIN_PROHIBITED, -",
            "noroute4,  FAIL, NO_ROUTE,         -",
            "noroute6,  FAIL, NO_ROUTE,         -"})
    void classifiesEveryFaultOnTheRealPath(String id, String status, String failure, String rejectedBy) {
        NetnsLab.Line r = results.get(id);
        assertThat(r).as("result of " + id + " in " + results.keySet()).isNotNull();
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        assertThat(r.failure()).as(r.toString()).isEqualTo(failure == null ? "" : failure);
        assertThat(r.attributes().get("rejected_by")).as(r.toString()).isEqualTo(rejectedBy);
    }

    @Test
    void everyCaseFinishedBeforeItsDeadline() {
        assertThat(results.get("_meta").attributes()).doesNotContainKey("unfinished");
        assertThat(results.get("_meta2").attributes()).doesNotContainKey("unfinished");
    }

    @Test
    void aMissingRouteIsAFailureNeverUnsupported() {
        assertThat(results.get("_meta").attributes()).containsEntry("ipv6", "true").containsEntry("ipv4", "true")
                .containsEntry("icmp", "true iputils ping");
        assertThat(results.get("_meta2").attributes()).containsEntry("ipv6", "true");
    }

    @Test
    void ipv6WithoutAGlobalAddressIsUnsupported() {
        assertThat(results.get("_meta3").attributes()).containsEntry("ipv6", "false");
        NetnsLab.Line r = results.get("nov6");
        assertThat(r.status()).as(r.toString()).isEqualTo("UNSUPPORTED");
        assertThat(r.failure()).isEqualTo("ADDRESS_FAMILY_UNAVAILABLE");
    }

    @Test
    void readsTheIcmpErrorQueueInTheChildJvm() {
        assertThat(results.get("_meta").attributes()).containsEntry("icmp_aware", "true");
    }

    @Test
    void namesTheRejectingRouterInTheDetail() {
        assertThat(results.get("adm4").detail())
                .startsWith("rejected by 192.0.2.254 (ICMP admin-prohibited) connecting to 198.51.100.10:7005");
    }

    @Test
    void withoutTheErrorQueueSaysTheIcmpTypeCouldNotBeRead() {
        NetnsLab.Line r = results.get("errnoadm4");
        assertThat(r.failure()).isEqualTo("HOST_UNREACHABLE");
        assertThat(r.detail()).contains("ICMP type could not be read");
    }

    @Test
    void reportsDegradedWhenIpv6IsDroppedAndIpv4Answers() {
        NetnsLab.Line r = results.get("fallback");
        assertThat(r.status()).as(r.toString()).isEqualTo("DEGRADED");
        assertThat(r.failure()).isEqualTo("TIMEOUT");
        assertThat(r.family()).isEqualTo("FAMILY_IPV4");
        assertThat(r.address()).isEqualTo(NetnsLab.SERVER4);
        assertThat(r.detail()).startsWith("ipv6 2001:db8:2::10 TIMEOUT, fell back to ipv4 198.51.100.10");
    }
}
