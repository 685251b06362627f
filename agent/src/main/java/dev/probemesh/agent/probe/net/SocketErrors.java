package dev.probemesh.agent.probe.net;

import dev.probemesh.common.failure.FailureCode;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Maps what Java (and Netty) say about a failed connect or send to the failure taxonomy, as
 * measured in FACTS.md. The JDK reports only errno, so:
 *
 * <ul>
 *   <li>EHOSTUNREACH ("No route to host") is {@code HOST_UNREACHABLE}: IPv4 admin-prohibited
 *       looks the same from errno; only {@link TcpConnector}, which reads the ICMP error itself,
 *       can tell them apart.
 *   <li>EACCES ("Permission denied", a {@link BindException} on connect) is how Linux reports an
 *       ICMPv6 administratively-prohibited: {@code ADMIN_PROHIBITED}.
 *   <li>EPERM ("Operation not permitted") comes from the host's own netfilter OUTPUT chain (ufw
 *       deny outgoing, {@code -j REJECT} in OUTPUT): {@code LOCAL_FIREWALL}.
 *   <li>ENETUNREACH ("Network is unreachable") is {@code NO_ROUTE} when this host's own routing
 *       table has no route to the destination, else {@code NET_UNREACHABLE} (a router sent ICMP
 *       net-unreachable / no-route). The routing table is asked like {@code ip route get}: a UDP
 *       socket is connected to the destination, which does a route lookup and sends nothing (see
 *       {@link LocalRoutes}). The same check turns a local {@code unreachable}/{@code prohibit}
 *       route's EHOSTUNREACH/EACCES into {@code NO_ROUTE}.
 * </ul>
 *
 * Netty wraps its errors ({@code AnnotatedConnectException} etc.) and its native epoll transport
 * throws a message-less {@link NoRouteToHostException} for ENETUNREACH; both are handled.
 */
public final class SocketErrors {

    /** A classified failure; the detail is short and says what happened, for humans. */
    public record Classified(FailureCode code, String detail) {
        public Classified {
            Objects.requireNonNull(code, "code");
            detail = detail == null ? "" : detail;
        }
    }

    private SocketErrors() {
    }

    /** Classifies with the system's routing table deciding NO_ROUTE vs NET_UNREACHABLE. */
    public static Classified classify(Throwable t, InetAddress dest) {
        return classify(t, dest, LocalRoutes.system());
    }

    /**
     * Classifies {@code t}, a failure connecting or sending to {@code dest} (null when unknown:
     * then the routing table is not consulted).
     */
    public static Classified classify(Throwable t, InetAddress dest, LocalRoutes routes) {
        Throwable e = unwrap(t);
        String msg = message(e);
        String lower = msg.toLowerCase(Locale.ROOT);
        String where = dest == null ? "" : " to " + Addresses.text(dest);

        if (e instanceof SocketTimeoutException || e instanceof InterruptedByTimeoutException
                || e instanceof TimeoutException || isNettyConnectTimeout(e)
                || lower.contains("timed out")) {
            return new Classified(FailureCode.TIMEOUT, "connect" + where + " timed out (no answer)");
        }
        if (lower.contains("connection refused")) {
            return new Classified(FailureCode.REFUSED, "connection refused" + where + " (RST: host up, port closed)");
        }
        if (lower.contains("operation not permitted")) {
            return new Classified(FailureCode.LOCAL_FIREWALL,
                    "this host's firewall refused the packet" + where + " (EPERM: Operation not permitted)");
        }
        if (lower.contains("address family not supported") || lower.contains("protocol family unavailable")
                || e instanceof UnsupportedAddressTypeException) {
            return new Classified(FailureCode.ADDRESS_FAMILY_UNAVAILABLE,
                    "this host cannot use that address family" + where + " (" + msg + ")");
        }
        if (lower.contains("cannot assign requested address")) {
            return new Classified(FailureCode.ADDRESS_FAMILY_UNAVAILABLE,
                    "no usable source address" + where + " (EADDRNOTAVAIL)");
        }
        boolean netUnreach = lower.contains("network is unreachable")
                || (e instanceof NoRouteToHostException && isMessageless(e));
        boolean hostUnreach = !netUnreach && (e instanceof NoRouteToHostException || lower.contains("no route to host"));
        boolean denied = lower.contains("permission denied");
        if (netUnreach || hostUnreach || denied) {
            Optional<String> local = dest == null ? Optional.empty() : routes.noRoute(dest);
            if (local.isPresent()) {
                return new Classified(FailureCode.NO_ROUTE,
                        "this host has no route" + where + " (" + local.get() + ")");
            }
            if (netUnreach) {
                return new Classified(FailureCode.NET_UNREACHABLE, "network unreachable" + where
                        + " (ICMP net-unreachable from a router)");
            }
            if (hostUnreach) {
                return new Classified(FailureCode.HOST_UNREACHABLE, "host unreachable" + where
                        + " (EHOSTUNREACH; ICMP type could not be read)");
            }
            return new Classified(FailureCode.ADMIN_PROHIBITED, "administratively prohibited" + where
                    + " (EACCES: ICMP admin-prohibited)");
        }
        return new Classified(FailureCode.INTERNAL, e.getClass().getSimpleName() + (msg.isEmpty() ? "" : ": " + msg));
    }

    /**
     * The exception the JDK would throw for a connect that failed with {@code errno} (Linux
     * numbers; same classes and glibc strerror texts as {@code sun.nio.ch.Net}), for the
     * connector, which reads SO_ERROR itself and then classifies like any other failure.
     */
    static IOException connectError(int errno) {
        return switch (errno) {
            case 111 -> new ConnectException("Connection refused");
            case 110 -> new ConnectException("Connection timed out");
            case 113 -> new NoRouteToHostException("No route to host");
            case 13 -> new BindException("Permission denied");
            case 99 -> new BindException("Cannot assign requested address");
            case 101 -> new SocketException("Network is unreachable");
            case 1 -> new SocketException("Operation not permitted");
            case 104 -> new SocketException("Connection reset by peer");
            case 97 -> new SocketException("Address family not supported by protocol");
            case 71 -> new SocketException("Protocol error");
            default -> new SocketException("connect failed (errno " + errno + ")");
        };
    }

    /** Strips wrappers that carry no meaning of their own, down to the exception that says what failed. */
    static Throwable unwrap(Throwable t) {
        Throwable e = t;
        for (int i = 0; i < 10 && e != null; i++) {
            Throwable cause = e.getCause();
            if (cause == null) {
                break;
            }
            boolean wrapper = e instanceof CompletionException || e instanceof ExecutionException
                    || e.getClass().getSimpleName().startsWith("Annotated")
                    || e.getClass().getName().equals("java.io.UncheckedIOException")
                    || (e instanceof RuntimeException && e.getClass() == RuntimeException.class);
            if (!wrapper) {
                break;
            }
            e = cause;
        }
        return e == null ? t : e;
    }

    private static boolean isNettyConnectTimeout(Throwable e) {
        return e.getClass().getName().equals("io.netty.channel.ConnectTimeoutException");
    }

    /** Netty's native transport throws {@code new NoRouteToHostException()} for ENETUNREACH. */
    private static boolean isMessageless(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() || m.startsWith("null");
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        if (m == null) {
            return "";
        }
        // Netty appends ": /198.51.100.2:443" and prefixes "connect(..) failed: "; keep the errno text.
        String s = m.replaceFirst("^\\w+\\(\\.\\.\\) failed: ", "");
        return s.replaceFirst(": [\\w.-]*/[0-9a-fA-F.:%\\[\\]]+$", "");
    }
}
