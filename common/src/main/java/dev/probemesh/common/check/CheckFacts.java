package dev.probemesh.common.check;

import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import java.net.URI;
import java.util.Locale;

/**
 * What a check touches on the wire, derived from its spec: protocol (udp, tcp, icmp), port, the
 * family it is pinned to, and the host it names. The matrix contract and diagnosis use these.
 */
public record CheckFacts(String protocol, Integer port, String family, String host) {

    public static CheckFacts of(Check c) {
        String family = familyName(c.getFamily());
        CheckKind kind = CheckKind.fromWire(c.getKind()).orElse(null);
        if (kind == null) {
            return new CheckFacts(null, null, family, c.getTarget());
        }
        return switch (kind) {
            case ICMP -> new CheckFacts("icmp", null, family, c.getTarget());
            case TCP -> {
                HostPort hp = HostPort.parse(c.getTarget(), c.getTcp().getPort());
                yield new CheckFacts("tcp", hp == null ? null : hp.port(), family, hp == null ? c.getTarget() : hp.host());
            }
            case DNS -> {
                // A port written in the resolver (198.51.100.53:5353) wins over dns.port, as in the probe.
                int port = c.getDns().getPort() == 0 ? 53 : c.getDns().getPort();
                HostPort resolver = HostPort.parse(c.getDns().getResolver(), port);
                yield new CheckFacts(c.getDns().getTransport().isEmpty() ? "udp" : c.getDns().getTransport(),
                        resolver == null ? port : resolver.port(), family, c.getTarget());
            }
            case DNS_TRACE -> new CheckFacts("udp", 53, family, c.getTarget());
            case HTTP, HTTPS -> {
                String host = c.getTarget();
                int port = kind == CheckKind.HTTPS ? 443 : 80;
                try {
                    URI u = new URI(c.getTarget());
                    host = u.getHost() == null ? host : u.getHost();
                    // URI keeps an IPv6 host in brackets; every other kind reports it bare.
                    if (host.startsWith("[") && host.endsWith("]")) {
                        host = host.substring(1, host.length() - 1);
                    }
                    port = u.getPort() > 0 ? u.getPort() : port;
                } catch (java.net.URISyntaxException e) {
                    // validated earlier; keep the raw target
                }
                yield new CheckFacts("tcp", port, family, host);
            }
            case TLS -> {
                HostPort hp = HostPort.parse(c.getTarget(), c.getTls().getPort() == 0 ? 443 : c.getTls().getPort());
                yield new CheckFacts("tcp", hp == null ? 443 : hp.port(), family, hp == null ? c.getTarget() : hp.host());
            }
        };
    }

    public static String familyName(Family f) {
        return switch (f) {
            case FAMILY_IPV4 -> "ipv4";
            case FAMILY_IPV6 -> "ipv6";
            default -> "any";
        };
    }

    public static Family parseFamily(String s) {
        return switch (s == null ? "any" : s.toLowerCase(Locale.ROOT)) {
            case "ipv4" -> Family.FAMILY_IPV4;
            case "ipv6" -> Family.FAMILY_IPV6;
            default -> Family.FAMILY_ANY;
        };
    }
}
