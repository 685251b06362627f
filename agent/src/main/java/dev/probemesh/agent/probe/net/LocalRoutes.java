package dev.probemesh.agent.probe.net;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.util.Optional;

/**
 * Asks this host's routing table whether it has a route to an address, like {@code ip route get}:
 * the kernel does a route lookup when a UDP socket is connected and sends nothing. A probe uses
 * this after a connect failed with "Network is unreachable" (or a local {@code unreachable} /
 * {@code prohibit} route's errno) to tell {@code NO_ROUTE} (this host's table) from
 * {@code NET_UNREACHABLE} (a router's ICMP).
 */
@FunctionalInterface
public interface LocalRoutes {

    /** Empty when the host has a route to {@code dest}; otherwise the kernel's reason. */
    Optional<String> noRoute(InetAddress dest);

    /** The real routing table of the network namespace this JVM runs in. */
    static LocalRoutes system() {
        return dest -> {
            StandardProtocolFamily fam = dest instanceof Inet6Address ? StandardProtocolFamily.INET6
                    : StandardProtocolFamily.INET;
            try (DatagramChannel ch = DatagramChannel.open(fam)) {
                ch.connect(new InetSocketAddress(dest, 9));
                return Optional.empty();
            } catch (IOException | UnsupportedOperationException e) {
                String m = e.getMessage();
                return Optional.of("route lookup: " + (m == null ? e.getClass().getSimpleName() : m));
            }
        };
    }

    /** A routing table with a route to everywhere (table tests of classification). */
    static LocalRoutes everywhere() {
        return dest -> Optional.empty();
    }
}
