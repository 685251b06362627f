package dev.probemesh.agent.probe.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A three-namespace path for probe tests, documentation addresses only:
 *
 * <pre>
 *  client 192.0.2.1/24 2001:db8:1::1/64 ── router 192.0.2.254 2001:db8:1::ff | 198.51.100.1 2001:db8:2::1 ── server 198.51.100.10/24 2001:db8:2::10/64
 * </pre>
 *
 * Faults are real iptables rules (router FORWARD: ICMP from a router; client OUTPUT: the host's
 * own firewall). Probes run in the client namespace in a child JVM started with {@code ip netns
 * exec} ({@link NsProbeMain}), because a network namespace belongs to a thread or process, not to
 * a socket the JUnit JVM could hand over; the child is the real agent code on the real path.
 * Everything is deleted in {@link #close()}, also after failures.
 */
public final class NetnsLab implements AutoCloseable {
    public static final String CLIENT4 = "192.0.2.1";
    public static final String ROUTER4_CLIENT_SIDE = "192.0.2.254";
    public static final String SERVER4 = "198.51.100.10";
    public static final String CLIENT6 = "2001:db8:1::1";
    public static final String ROUTER6_CLIENT_SIDE = "2001:db8:1::ff";
    public static final String SERVER6 = "2001:db8:2::10";

    public final String client;
    public final String router;
    public final String server;
    private final List<Process> processes = new ArrayList<>();

    /** One probe result as the child printed it. */
    public record Line(String id, String status, String failure, String address, String family, String detail,
            Map<String, String> attributes) {
    }

    private NetnsLab(String area) {
        String id = HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
        this.client = "pmt-" + area + "-c" + id;
        this.router = "pmt-" + area + "-r" + id;
        this.server = "pmt-" + area + "-s" + id;
    }

    /** Builds the three namespaces and their links; tears down what it made if building fails. */
    public static NetnsLab create(String area) throws IOException, InterruptedException {
        NetnsLab lab = new NetnsLab(area);
        try {
            lab.build();
            return lab;
        } catch (IOException | InterruptedException | RuntimeException e) {
            lab.close();
            throw e;
        }
    }

    private void build() throws IOException, InterruptedException {
        String sfx = client.substring(client.length() - 6);
        String cr = "pc" + sfx;
        String rc = "pr" + sfx;
        String rs = "ps" + sfx;
        String sr = "pv" + sfx;
        for (String ns : List.of(client, router, server)) {
            run("ip", "netns", "add", ns);
            run("ip", "-n", ns, "link", "set", "lo", "up");
            // ICMP errors are rate-limited per peer (burst 6, then ~1/s); many faults probed at
            // once would otherwise turn into timeouts.
            run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0",
                    "net.ipv6.icmp.ratelimit=0");
        }
        run("ip", "link", "add", cr, "netns", client, "type", "veth", "peer", "name", rc, "netns", router);
        run("ip", "link", "add", rs, "netns", router, "type", "veth", "peer", "name", sr, "netns", server);
        addr(client, cr, CLIENT4 + "/24", CLIENT6 + "/64");
        addr(router, rc, ROUTER4_CLIENT_SIDE + "/24", ROUTER6_CLIENT_SIDE + "/64");
        addr(router, rs, "198.51.100.1/24", "2001:db8:2::1/64");
        addr(server, sr, SERVER4 + "/24", SERVER6 + "/64");
        run("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        run("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        run("ip", "-n", client, "route", "add", "default", "via", ROUTER4_CLIENT_SIDE);
        run("ip", "-n", client, "-6", "route", "add", "default", "via", ROUTER6_CLIENT_SIDE);
        run("ip", "-n", server, "route", "add", "default", "via", "198.51.100.1");
        run("ip", "-n", server, "-6", "route", "add", "default", "via", "2001:db8:2::1");
    }

    private void addr(String ns, String dev, String v4, String v6) throws IOException, InterruptedException {
        run("ip", "-n", ns, "addr", "add", v4, "dev", dev);
        run("ip", "-n", ns, "addr", "add", v6, "dev", dev, "nodad");
        run("ip", "-n", ns, "link", "set", dev, "up");
    }

    /** Runs a command inside {@code ns}; fails the test when it fails. */
    public String exec(String ns, String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(List.of(cmd));
        return run(full.toArray(String[]::new));
    }

    public static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    /** Starts TCP listeners on {@code ports} in the server namespace (v4 and v6); they die with the lab. */
    public void listen(int... ports) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>();
        for (int port : ports) {
            args.add(Integer.toString(port));
        }
        Process p = java(server, NsListenMain.class, args);
        processes.add(p);
        // Wait for "LISTENING" so probes never race the listener.
        var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String line;
        while ((line = reader.readLine()) != null && System.nanoTime() < until) {
            if (line.startsWith("LISTENING")) {
                return;
            }
        }
        throw new IOException("listener did not start in " + server);
    }

    /**
     * Runs probe cases ({@link NsProbeMain} argument format) in {@code ns} in one child JVM and
     * returns its results by case id, plus the key "_meta" with the child's own facts.
     */
    public Map<String, Line> probe(String ns, List<String> cases) throws IOException, InterruptedException {
        Process p = java(ns, NsProbeMain.class, cases);
        processes.add(p);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("probe child did not finish");
        }
        Map<String, Line> results = new LinkedHashMap<>();
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
                results.put(f[1], new Line(f[1], f[2], f[3], f[4], f[5], f[6], attrs));
            } else if (f[0].equals("META") && f.length >= 3) {
                results.computeIfAbsent("_meta", k -> new Line("_meta", "", "", "", "", "", new HashMap<>()))
                        .attributes().put(f[1], f[2]);
            }
        }
        if (results.size() <= 1) {
            throw new IOException("probe child printed no results (exit " + p.exitValue() + "):\n" + out);
        }
        return results;
    }

    private Process java(String ns, Class<?> main, List<String> args) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp, main.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String ns : List.of(client, router, server)) {
            try {
                run("ip", "netns", "del", ns);
            } catch (IOException | InterruptedException e) {
                // not created (a failed build) or already gone
            }
        }
    }
}
