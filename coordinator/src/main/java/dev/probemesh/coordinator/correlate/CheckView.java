package dev.probemesh.coordinator.correlate;

import dev.probemesh.common.check.HostPort;
import dev.probemesh.common.check.Hosts;
import dev.probemesh.proto.v1.Check;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What correlation needs to know about one check: the dependencies its observations have.
 *
 * @param kind     icmp, tcp, dns, dns-trace, http, https, tls
 * @param target   the host probed: a name or an IP (the query name for dns and dns-trace)
 * @param byName   the agent must resolve {@code target} before it can dial (https-origin-v4 yes;
 *                 tcp-origin-443-v4 no; https-home-edge no: it dials connect_to by IP)
 * @param layer    network (icmp), transport (tcp), dns (dns, dns-trace), tls, http
 * @param protocol udp, tcp or icmp
 * @param port     53 for dns unless set, 443/80 for https/http, the tcp or tls port; null for icmp
 * @param family   ipv4, ipv6 or any
 * @param resolver dns.resolver without port; empty = the system resolver; empty for other kinds
 * @param dialed   the address dialled when it is not {@code target} (connect_to), else null
 * @param origin   for a check dialled at a CDN edge (connect_to), the name behind the edge; else null
 * @param expectAddresses addresses the check expects the name to resolve to (dns): name aliases
 */
public record CheckView(String id, String kind, String target, boolean byName, String layer, String protocol,
                        Integer port, String family, String resolver, long intervalMs, String dialed, String origin,
                        List<String> expectAddresses) {
    public CheckView {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(target, "target");
        family = family == null ? "any" : family;
        resolver = resolver == null ? "" : resolver;
        expectAddresses = expectAddresses == null ? List.of() : List.copyOf(expectAddresses);
    }

    /** Derives the view from a (validated) check spec. */
    public static CheckView from(Check c) {
        String kind = c.getKind().toLowerCase(Locale.ROOT);
        String fam = switch (c.getFamily()) {
            case FAMILY_IPV4 -> "ipv4";
            case FAMILY_IPV6 -> "ipv6";
            default -> "any";
        };
        String t = c.getTarget().trim();
        long interval = c.getIntervalMs();
        switch (kind) {
            case "icmp" -> {
                String host = HostPort.hostOf(t);
                return new CheckView(c.getId(), kind, host, !Hosts.isIpLiteral(host), "network", "icmp", null,
                        famOf(fam, host), "", interval, null, null, List.of());
            }
            case "tcp" -> {
                HostPort hp = hostPort(t, c.getTcp().getPort());
                String host = hp == null ? t : hp.host();
                Integer port = hp == null || hp.port() <= 0 ? null : hp.port();
                return new CheckView(c.getId(), kind, host, !Hosts.isIpLiteral(host), "transport", "tcp", port,
                        famOf(fam, host), "", interval, null, null, List.of());
            }
            case "dns" -> {
                var d = c.getDns();
                String resolver = "";
                int port = d.getPort() == 0 ? 53 : d.getPort();
                if (!d.getResolver().isEmpty()) {
                    HostPort hp = HostPort.parse(d.getResolver(), port);
                    resolver = hp == null ? d.getResolver() : hp.host();
                    port = hp == null ? port : hp.port();
                }
                String proto = d.getTransport().equalsIgnoreCase("tcp") ? "tcp" : "udp";
                return new CheckView(c.getId(), kind, stripDot(t), false, "dns", proto, port,
                        resolver.isEmpty() ? fam : famOf(fam, resolver), resolver, interval, null, null,
                        d.getExpectAddressesList());
            }
            case "dns-trace" -> {
                return new CheckView(c.getId(), kind, stripDot(t), false, "dns", "udp", 53, fam, "", interval,
                        null, null, List.of());
            }
            case "http", "https" -> {
                String host = t;
                int port = kind.equals("https") ? 443 : 80;
                try {
                    URI u = new URI(t);
                    if (u.getHost() != null) {
                        host = u.getHost();
                        if (host.startsWith("[") && host.endsWith("]")) {
                            host = host.substring(1, host.length() - 1);
                        }
                    }
                    if (u.getPort() > 0) {
                        port = u.getPort();
                    }
                } catch (URISyntaxException e) {
                    // validated specs are URLs; keep the raw target so the view still says what it probes
                }
                String connectTo = c.getHttp().getConnectTo();
                if (!connectTo.isEmpty()) {
                    String dial = HostPort.hostOf(connectTo);
                    return new CheckView(c.getId(), kind, host, false, "http", "tcp", port, famOf(fam, dial), "",
                            interval, dial, host, List.of());
                }
                return new CheckView(c.getId(), kind, host, !Hosts.isIpLiteral(host), "http", "tcp", port,
                        famOf(fam, host), "", interval, null, null, List.of());
            }
            case "tls" -> {
                HostPort hp = hostPort(t, c.getTls().getPort() == 0 ? 443 : c.getTls().getPort());
                String host = hp == null ? t : hp.host();
                Integer port = hp == null ? 443 : hp.port();
                String connectTo = c.getTls().getConnectTo();
                if (!connectTo.isEmpty()) {
                    return new CheckView(c.getId(), kind, host, false, "tls", "tcp", port, famOf(fam, connectTo), "",
                            interval, connectTo, host, List.of());
                }
                return new CheckView(c.getId(), kind, host, !Hosts.isIpLiteral(host), "tls", "tcp", port,
                        famOf(fam, host), "", interval, null, null, List.of());
            }
            default -> {
                return new CheckView(c.getId(), kind, t, false, "network", "any", null, fam, "", interval, null,
                        null, List.of());
            }
        }
    }

    /** The address this check dials (connect_to, or the target itself). */
    String dialHost() {
        return dialed != null ? dialed : target;
    }

    boolean isDns() {
        return kind.equals("dns") || kind.equals("dns-trace");
    }

    /**
     * host, host:port, v4:port, [v6]:port or a bare IPv6 literal. HostPort.parse alone reads
     * "203.0.113.10:443" as an IPv6 literal (its pattern accepts digits, dots and colons).
     */
    private static HostPort hostPort(String t, int defaultPort) {
        if (!t.startsWith("[") && t.indexOf(':') >= 0 && t.indexOf(':') == t.lastIndexOf(':')) {
            try {
                return new HostPort(t.substring(0, t.indexOf(':')), Integer.parseInt(t.substring(t.indexOf(':') + 1)));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return HostPort.parse(t, defaultPort);
    }

    /** A pinned family follows from an address literal even when the spec leaves it unset. */
    private static String famOf(String declared, String host) {
        if (!declared.equals("any")) {
            return declared;
        }
        if (Hosts.isIpv4Literal(host)) {
            return "ipv4";
        }
        if (Hosts.isIpv6Literal(host)) {
            return "ipv6";
        }
        return "any";
    }

    private static String stripDot(String name) {
        return name.endsWith(".") && name.length() > 1 ? name.substring(0, name.length() - 1) : name;
    }
}
