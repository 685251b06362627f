package dev.probemesh.agent.probe.icmp;

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
 * The icmp probe on a real routed path ({@link NetnsLab}) with real iptables faults, each on its
 * own server address (198.51.100.11-16, 2001:db8:2::11-13 on the server's loopback), all run at
 * once from the client namespace.
 */
@Timeout(180)
class IcmpProbeNamespaceTest {
    private static NetnsLab lab;
    private static final Map<String, NetnsLab.Line> results = new HashMap<>();

    @BeforeAll
    static void runEveryCaseInTheClientNamespace() throws Exception {
        RootLab.require();
        lab = NetnsLab.create("icmp");
        for (int i = 11; i <= 16; i++) {
            lab.exec(lab.server, "ip", "addr", "add", "198.51.100." + i + "/32", "dev", "lo");
            lab.exec(lab.server, "ip", "-6", "addr", "add", "2001:db8:2::" + i + "/128", "dev", "lo", "nodad");
        }
        forward("iptables", "icmp", "198.51.100.11", "-j", "DROP");
        forward("ip6tables", "icmpv6", "2001:db8:2::11", "-j", "DROP");
        forward("iptables", "icmp", "198.51.100.12", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited");
        forward("ip6tables", "icmpv6", "2001:db8:2::12", "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited");
        forward("iptables", "icmp", "198.51.100.13", "-j", "REJECT", "--reject-with", "icmp-host-unreachable");
        forward("ip6tables", "icmpv6", "2001:db8:2::13", "-j", "REJECT", "--reject-with", "icmp6-no-route");
        // Every second echo request dropped: exactly half the replies come back.
        forward("iptables", "icmp", "198.51.100.14", "-m", "icmp", "--icmp-type", "echo-request",
                "-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0", "-j", "DROP");
        lab.exec(lab.client, "iptables", "-A", "OUTPUT", "-p", "icmp", "-d", "198.51.100.16", "-j", "REJECT");
        lab.exec(lab.client, "ping", "-c1", "-W3", NetnsLab.SERVER6);
        results.putAll(lab.probe(lab.client, List.of(
                "ok4|icmp|" + NetnsLab.SERVER4 + "|ipv4|3000|3", "ok6|icmp|" + NetnsLab.SERVER6 + "|ipv6|3000|3",
                "drop4|icmp|198.51.100.11|ipv4|1500|2", "drop6|icmp|2001:db8:2::11|ipv6|1500|2",
                "adm4|icmp|198.51.100.12|ipv4|2000|2", "adm6|icmp|2001:db8:2::12|ipv6|2000|2",
                "host4|icmp|198.51.100.13|ipv4|2000|2", "net6|icmp|2001:db8:2::13|ipv6|2000|2",
                "loss4|icmp|198.51.100.14|ipv4|5000|10",
                "fw4|icmp|198.51.100.16|ipv4|2000|2",
                "dual.test|name|2001:db8:2::11,198.51.100.10",
                "fallback|icmp|dual.test|any|4000|2")));
        lab.exec(lab.client, "ip", "-6", "route", "del", "default");
        Map<String, NetnsLab.Line> noRoute = lab.probe(lab.client, List.of(
                "noroute6|icmp|" + NetnsLab.SERVER6 + "|ipv6|2000|2"));
        results.put("_meta2", noRoute.remove("_meta"));
        results.putAll(noRoute);
    }

    private static void forward(String tool, String proto, String dest, String... rest) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(tool, "-A", "FORWARD", "-p", proto, "-d", dest));
        cmd.addAll(List.of(rest));
        lab.exec(lab.router, cmd.toArray(String[]::new));
    }

    @AfterAll
    static void tearDown() {
        if (lab != null) {
            lab.close();
        }
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @CsvSource(nullValues = "-", value = {
            "ok4,      OK,       -,                -",
            "ok6,      OK,       -,                -",
            "drop4,    FAIL,     TIMEOUT,          -",
            "drop6,    FAIL,     TIMEOUT,          -",
            "adm4,     FAIL,     ADMIN_PROHIBITED, 192.0.2.254",
            "adm6,     FAIL,     ADMIN_PROHIBITED, 2001:db8:1::ff",
            "host4,    FAIL,     HOST_UNREACHABLE, 192.0.2.254",
            "net6,     FAIL,     NET_UNREACHABLE,  2001:db8:1::ff",
            "fw4,      FAIL,     LOCAL_FIREWALL,   -",
            "noroute6, FAIL,     NO_ROUTE,         -",
            "loss4,    DEGRADED, PACKET_LOSS,      -"})
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
    void reportsExactlyHalfLostWhenEverySecondRequestIsDropped() {
        assertThat(results.get("loss4").attributes()).containsEntry("sent", "10").containsEntry("received", "5")
                .containsEntry("loss_pct", "50").containsKey("rtt_avg_ms");
    }

    @Test
    void fallsBackToIpv4WhenIpv6EchoIsDropped() {
        NetnsLab.Line r = results.get("fallback");
        assertThat(r.status()).as(r.toString()).isEqualTo("DEGRADED");
        assertThat(r.failure()).isEqualTo("TIMEOUT");
        assertThat(r.address()).isEqualTo(NetnsLab.SERVER4);
        assertThat(r.detail()).startsWith("ipv6 2001:db8:2::11 TIMEOUT, fell back to ipv4 198.51.100.10");
    }
}
