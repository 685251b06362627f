package dev.probemesh.agent.probe.net;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What this host can do, for the agent's hello and for {@code UNSUPPORTED} decisions. Only what
 * the host truly cannot do counts: IPv6 is capable when a global IPv6 address is configured, even
 * if its route is broken (that is a failure to diagnose, never UNSUPPORTED). {@link #detect()}
 * reads interfaces and runs one loopback ping, cheap enough to repeat every 30 s so the agent can
 * resend its capabilities when they change (compare with {@code equals}).
 *
 * @param icmpMechanism "iputils ping" (or "ping" for another implementation), "" when none works
 * @param pingBinary the ping executable found, empty when none
 */
public record HostCapabilities(boolean ipv4, boolean ipv6, boolean icmp, String icmpMechanism,
        Optional<Path> pingBinary) {

    /** Where a ping binary is looked for, in order. */
    public static final List<Path> PING_PATHS = List.of(Path.of("/usr/bin/ping"), Path.of("/bin/ping"),
            Path.of("/usr/sbin/ping"), Path.of("/sbin/ping"));

    public HostCapabilities {
        icmpMechanism = icmpMechanism == null ? "" : icmpMechanism;
        Objects.requireNonNull(pingBinary, "pingBinary");
    }

    /** Detects the capabilities of the network namespace this JVM runs in. */
    public static HostCapabilities detect() {
        return detect(PING_PATHS);
    }

    /** As {@link #detect()}, looking for ping only at {@code pingPaths}. */
    public static HostCapabilities detect(List<Path> pingPaths) {
        boolean v4 = false;
        boolean v6 = false;
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    v4 |= a instanceof Inet4Address && isUsableV4(a);
                    v6 |= a instanceof Inet6Address && isGlobalV6(a);
                }
            }
        } catch (SocketException e) {
            // No interface list: report nothing rather than guess.
        }
        Optional<Path> ping = pingPaths.stream().filter(Files::isExecutable).findFirst();
        String mechanism = ping.map(HostCapabilities::workingMechanism).orElse("");
        return new HostCapabilities(v4, v6, !mechanism.isEmpty(), mechanism, mechanism.isEmpty() ? Optional.empty() : ping);
    }

    /** Non-loopback, non-link-local IPv4 (169.254/16 alone cannot reach anything routed). */
    static boolean isUsableV4(InetAddress a) {
        return !a.isLoopbackAddress() && !a.isLinkLocalAddress() && !a.isAnyLocalAddress();
    }

    /** The kernel's "scope global": not loopback, link-local, unspecified or IPv4-mapped. */
    static boolean isGlobalV6(InetAddress a) {
        return !a.isLoopbackAddress() && !a.isLinkLocalAddress() && !a.isAnyLocalAddress() && !a.isMulticastAddress();
    }

    /** "" unless {@code ping -c1 -W1 -n 127.0.0.1} succeeds: a binary that cannot open its socket is no mechanism. */
    private static String workingMechanism(Path ping) {
        try {
            Process p = new ProcessBuilder(ping.toString(), "-c", "1", "-W", "1", "-n", "127.0.0.1")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(3, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "";
            }
            if (p.exitValue() != 0) {
                return "";
            }
            Process v = new ProcessBuilder(ping.toString(), "-V").redirectErrorStream(true).start();
            String version = new String(v.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            v.waitFor(3, TimeUnit.SECONDS);
            return version.contains("iputils") ? "iputils ping" : "ping";
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
