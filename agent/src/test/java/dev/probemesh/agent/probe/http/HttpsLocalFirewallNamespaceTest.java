package dev.probemesh.agent.probe.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.probe.net.NetnsLab;
import dev.probemesh.testing.RootLab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * https and tls probes on a real routed path (client, router and server namespaces of
 * {@link NetnsLab}) with a real HTTPS server in the server namespace, under the lab fault
 * {@code vps-egress-443-denied}: the client's own OUTPUT chain rejects TCP to the server's port
 * except to one address ({@code iptables -A OUTPUT -p tcp --dport P ! -d 198.51.100.11 -j REJECT},
 * and the same with ip6tables). The kernel turns that REJECT into "Connection refused" for TCP;
 * only the ICMP error from this host's own address, read from the socket error queue, tells it is
 * LOCAL_FIREWALL and not a closed port. Rows also pin what must not change: the excepted address
 * still works, a closed port is REFUSED, and a router's reject names the router. A DROP in the
 * same OUTPUT chain is LOCAL_FIREWALL too (no SYN retransmission left the host), a DROP at the
 * router stays TIMEOUT.
 */
@org.junit.jupiter.api.Timeout(180)
class HttpsLocalFirewallNamespaceTest {
    private static final String ALLOWED4 = "198.51.100.11";
    private static final String ALLOWED6 = "2001:db8:2::11";
    private static final int CLOSED_PORT = 7443;
    private static final int ROUTER_REJECTED_PORT = 7444;
    private static final int LOCALLY_DROPPED_PORT = 7445;
    private static final int ROUTER_DROPPED_PORT = 7446;

    private static NetnsLab lab;
    private static Path caFile;
    private static final List<Process> children = new ArrayList<>();
    private static final Map<String, NetnsLab.Line> results = new HashMap<>();

    @BeforeAll
    static void runEveryCaseInTheClientNamespace() throws Exception {
        RootLab.require();
        lab = NetnsLab.create("https");
        String serverDev = lab.exec(lab.server, "ip", "-o", "-4", "addr", "show", "to", NetnsLab.SERVER4 + "/32")
                .trim().split("\\s+")[1];
        lab.exec(lab.server, "ip", "addr", "add", ALLOWED4 + "/24", "dev", serverDev);
        lab.exec(lab.server, "ip", "addr", "add", ALLOWED6 + "/64", "dev", serverDev, "nodad");
        caFile = Files.createTempFile("pmt-https-ca", ".pem");
        int port = startServer(caFile, NetnsLab.SERVER4, ALLOWED4, NetnsLab.SERVER6, ALLOWED6);

        String p = Integer.toString(port);
        lab.exec(lab.client, "iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", p, "!", "-d", ALLOWED4, "-j", "REJECT");
        lab.exec(lab.client, "ip6tables", "-A", "OUTPUT", "-p", "tcp", "--dport", p, "!", "-d", ALLOWED6, "-j", "REJECT");
        String rp = Integer.toString(ROUTER_REJECTED_PORT);
        lab.exec(lab.router, "iptables", "-A", "FORWARD", "-p", "tcp", "--dport", rp, "-j", "REJECT",
                "--reject-with", "icmp-admin-prohibited");
        lab.exec(lab.router, "ip6tables", "-A", "FORWARD", "-p", "tcp", "--dport", rp, "-j", "REJECT",
                "--reject-with", "icmp6-adm-prohibited");
        String dp = Integer.toString(LOCALLY_DROPPED_PORT);
        lab.exec(lab.client, "iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", dp, "-j", "DROP");
        lab.exec(lab.client, "ip6tables", "-A", "OUTPUT", "-p", "tcp", "--dport", dp, "-j", "DROP");
        String rdp = Integer.toString(ROUTER_DROPPED_PORT);
        lab.exec(lab.router, "iptables", "-A", "FORWARD", "-p", "tcp", "--dport", rdp, "-j", "DROP");
        // Neighbour discovery costs ~1 s on the first IPv6 packet: pay it before the probes run.
        for (String a : List.of(NetnsLab.SERVER4, ALLOWED4, NetnsLab.SERVER6, ALLOWED6)) {
            lab.exec(lab.client, "ping", "-c1", "-W3", a);
        }

        String s4 = NetnsLab.SERVER4;
        String s6 = "[" + NetnsLab.SERVER6 + "]";
        String a6 = "[" + ALLOWED6 + "]";
        results.putAll(probe(List.of(
                "fw-https4|https|https://" + s4 + ":" + p + "/|ipv4|3000",
                "fw-https6|https|https://" + s6 + ":" + p + "/|ipv6|3000",
                "fw-tls4|tls|" + s4 + ":" + p + "|ipv4|3000",
                "fw-tls6|tls|" + s6 + ":" + p + "|ipv6|3000",
                "ok-https4|https|https://" + ALLOWED4 + ":" + p + "/|ipv4|10000",
                "ok-https6|https|https://" + a6 + ":" + p + "/|ipv6|10000",
                "ok-tls4|tls|" + ALLOWED4 + ":" + p + "|ipv4|10000",
                "ok-tls6|tls|" + a6 + ":" + p + "|ipv6|10000",
                "closed-https4|https|https://" + ALLOWED4 + ":" + CLOSED_PORT + "/|ipv4|3000",
                "closed-tls6|tls|" + a6 + ":" + CLOSED_PORT + "|ipv6|3000",
                "adm-https4|https|https://" + ALLOWED4 + ":" + rp + "/|ipv4|3000",
                "adm-tls6|tls|" + a6 + ":" + rp + "|ipv6|3000",
                // Long enough for one SYN retransmission (initial RTO 1 s): only then is a local DROP told apart.
                "drop-https4|https|https://" + ALLOWED4 + ":" + dp + "/|ipv4|2500",
                "drop-tls6|tls|" + a6 + ":" + dp + "|ipv6|2500",
                "routerdrop-https4|https|https://" + ALLOWED4 + ":" + rdp + "/|ipv4|2500")));
    }

    @AfterAll
    static void tearDown() throws IOException {
        children.forEach(Process::destroyForcibly);
        for (Process c : children) {
            try {
                c.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (lab != null) {
            lab.close();
        }
        if (caFile != null) {
            Files.deleteIfExists(caFile);
        }
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @CsvSource(nullValues = "-", value = {
            "fw-https4,     FAIL, LOCAL_FIREWALL,   192.0.2.1",
            "fw-https6,     FAIL, LOCAL_FIREWALL,   2001:db8:1::1",
            "fw-tls4,       FAIL, LOCAL_FIREWALL,   192.0.2.1",
            "fw-tls6,       FAIL, LOCAL_FIREWALL,   2001:db8:1::1",
            "ok-https4,     OK,   -,                -",
            "ok-https6,     OK,   -,                -",
            "ok-tls4,       OK,   -,                -",
            "ok-tls6,       OK,   -,                -",
            "closed-https4, FAIL, REFUSED,          -",
            "closed-tls6,   FAIL, REFUSED,          -",
            "adm-https4,    FAIL, ADMIN_PROHIBITED, 192.0.2.254",
            "adm-tls6,      FAIL, ADMIN_PROHIBITED, 2001:db8:1::ff",
            "drop-https4,   FAIL, LOCAL_FIREWALL,   -",
            "drop-tls6,     FAIL, LOCAL_FIREWALL,   -",
            "routerdrop-https4, FAIL, TIMEOUT,      -"})
    void classifiesTheConnectOnTheRealPath(String id, String status, String failure, String rejectedBy) {
        NetnsLab.Line r = results.get(id);
        assertThat(r).as("result of " + id + " in " + results.keySet()).isNotNull();
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        assertThat(r.failure()).as(r.toString()).isEqualTo(failure == null ? "" : failure);
        assertThat(r.attributes().get("rejected_by")).as(r.toString()).isEqualTo(rejectedBy);
        if ("LOCAL_FIREWALL".equals(failure)) {
            assertThat(r.detail()).as(r.toString()).contains("this host");
        }
    }

    /** Starts the HTTPS server in the server namespace; returns its port once it listens. */
    private static int startServer(Path ca, String... ips) throws IOException {
        List<String> args = new ArrayList<>(List.of(ca.toString()));
        args.addAll(List.of(ips));
        Process p = java(lab.server, NsHttpsServerMain.class, args);
        BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        StringBuilder seen = new StringBuilder();
        String line;
        while (System.nanoTime() < until && (line = reader.readLine()) != null) {
            if (line.startsWith("LISTENING ")) {
                return Integer.parseInt(line.substring("LISTENING ".length()).trim());
            }
            seen.append(line).append('\n');
        }
        throw new IOException("the HTTPS server did not start in " + lab.server + ":\n" + seen);
    }

    /** Runs the cases in one child JVM in the client namespace; its results by case id. */
    private static Map<String, NetnsLab.Line> probe(List<String> cases) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of(caFile.toString()));
        args.addAll(cases);
        Process p = java(lab.client, NsHttpsProbeMain.class, args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            throw new IOException("probe child did not finish");
        }
        Map<String, NetnsLab.Line> lines = new HashMap<>();
        for (String l : out.split("\n")) {
            String[] f = l.split("\t", -1);
            if (f[0].equals("RESULT") && f.length >= 8) {
                Map<String, String> attrs = new HashMap<>();
                for (String kv : f[7].split(";")) {
                    int eq = kv.indexOf('=');
                    if (eq > 0) {
                        attrs.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                }
                lines.put(f[1], new NetnsLab.Line(f[1], f[2], f[3], f[4], f[5], f[6], attrs));
            }
        }
        if (lines.size() < cases.size()) {
            throw new IOException("probe child printed " + lines.size() + " of " + cases.size() + " results (exit "
                    + p.exitValue() + "):\n" + out);
        }
        return lines;
    }

    private static Process java(String ns, Class<?> main, List<String> args) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp, main.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        children.add(p);
        return p;
    }
}
