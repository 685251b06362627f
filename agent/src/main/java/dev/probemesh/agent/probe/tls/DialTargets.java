package dev.probemesh.agent.probe.tls;

import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.AddressResolver;
import dev.probemesh.agent.probe.net.ResolveException;
import dev.probemesh.common.check.HostPort;
import dev.probemesh.common.check.Hosts;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Family;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * Which addresses a run dials: the {@code connect_to} address when set (like curl --resolve), the
 * target itself when it is an IP literal, else what the probe's resolver answers now (never
 * {@link InetAddress#getByName} on a name: its cache would hide DNS faults).
 */
public final class DialTargets {

    private DialTargets() {
    }

    /**
     * The addresses for {@code host}; completes exceptionally with a {@link ResolveException} when
     * the name does not resolve, or with code INTERNAL when a literal is not of the pinned family.
     */
    public static CompletionStage<List<InetAddress>> addresses(AddressResolver resolver, String host, String connectTo,
            Family family, long deadlineNanos) {
        String literal = connectTo == null || connectTo.isBlank() ? (Hosts.isIpLiteral(host) ? host : null)
                : hostPort(connectTo.trim(), 0).host();
        if (literal == null) {
            return resolver.resolve(host, family, deadlineNanos);
        }
        try {
            InetAddress a = literal(literal);
            boolean v6 = a instanceof Inet6Address;
            if ((family == Family.FAMILY_IPV4 && v6) || (family == Family.FAMILY_IPV6 && a instanceof Inet4Address)) {
                // A spec contradiction (connect_to of the other family), not a network finding.
                return CompletableFuture.failedFuture(new ResolveException(FailureCode.INTERNAL,
                        literal + " is not an " + (family == Family.FAMILY_IPV4 ? "IPv4" : "IPv6")
                                + " address but the check is pinned to that family"));
            }
            return CompletableFuture.completedFuture(List.of(a));
        } catch (UnknownHostException e) {
            return CompletableFuture.failedFuture(new ResolveException(FailureCode.INTERNAL,
                    "\"" + literal + "\" is not an IP address"));
        }
    }

    /** The port {@code connect_to} names, or {@code fallback} when it names none. */
    public static int connectPort(String connectTo, int fallback) {
        if (connectTo == null || connectTo.isBlank()) {
            return fallback;
        }
        HostPort hp = hostPort(connectTo.trim(), fallback);
        return hp == null ? fallback : hp.port();
    }

    /**
     * {@link HostPort#parse}, except that {@code 192.0.2.1:443} is read as an IPv4 address and a
     * port: {@code Hosts.isIpv6Literal} accepts that text as an IPv6 literal, so HostPort alone
     * would make the whole text the host.
     */
    public static HostPort hostPort(String text, int defaultPort) {
        if (text != null) {
            String t = text.trim();
            int colon = t.lastIndexOf(':');
            if (colon > 0 && t.indexOf(':') == colon && Hosts.isIpv4Literal(t.substring(0, colon))) {
                try {
                    return new HostPort(t.substring(0, colon), Integer.parseInt(t.substring(colon + 1)));
                } catch (NumberFormatException e) {
                    return null;
                }
            }
        }
        return HostPort.parse(text, defaultPort);
    }

    private static InetAddress literal(String text) throws UnknownHostException {
        String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (!Hosts.isIpLiteral(t)) {
            throw new UnknownHostException(t);
        }
        // A literal is parsed, not looked up.
        return InetAddress.getByName(t);
    }

    /** The failure a resolution ended with, unwrapped from the stage's wrapping. */
    public static Throwable unwrap(Throwable t) {
        Throwable x = t;
        while (x instanceof CompletionException && x.getCause() != null) {
            x = x.getCause();
        }
        return x;
    }

    /**
     * The result for a name that did not resolve: FAIL with the resolver's DNS code, or ERROR INTERNAL
     * for anything that is not a network finding (a connect_to contradicting the family, a bug).
     */
    public static ProbeResult resolveFailure(String host, Throwable err, PhaseTimings timings) {
        Throwable t = unwrap(err);
        if (t instanceof ResolveException re && re.code() != FailureCode.INTERNAL) {
            return ProbeResult.fail(re.code(), "resolving " + host + ": " + re.getMessage(), timings, "",
                    Family.FAMILY_ANY, Map.of());
        }
        return new ProbeResult(ProbeStatus.ERROR, FailureCode.INTERNAL, "resolving " + host + ": " + t.getMessage(),
                timings, "", Family.FAMILY_ANY, Map.of());
    }

    /** The family of {@code a} as the wire names it. */
    public static Family familyOf(InetAddress a) {
        return a instanceof Inet6Address ? Family.FAMILY_IPV6 : Family.FAMILY_IPV4;
    }
}
