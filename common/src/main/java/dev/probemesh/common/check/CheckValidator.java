package dev.probemesh.common.check;

import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Validates checks once, where they enter the system (the CLI's file parser and the coordinator's
 * API), so agents receive only specs that make sense. Problems are reported as
 * {@code field: what is wrong (the fix)}; the caller prefixes where the check came from.
 */
public final class CheckValidator {
    public static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    public static final long MIN_INTERVAL_MS = 1_000;
    public static final long MAX_INTERVAL_MS = 86_400_000;
    public static final long MAX_TIMEOUT_MS = 60_000;
    public static final Set<String> QTYPES = Set.of(
            "A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA", "DS", "DNSKEY", "HTTPS", "SVCB");
    private static final Set<String> RCODES = Set.of("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED");
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "OPTIONS");

    private CheckValidator() {
    }

    /** Every problem of one check, as {@code field: message}. Empty when valid. */
    public static List<Problem> problems(Check c) {
        List<Problem> out = new ArrayList<>();
        if (!ID.matcher(c.getId()).matches()) {
            out.add(new Problem("id", c.getId().isEmpty()
                    ? "is required"
                    : "\"" + c.getId() + "\" is not a valid id (1 to 63 of a-z, 0-9, '.', '_', '-', starting with a letter"
                            + " or digit)"));
        }
        Optional<CheckKind> kind = CheckKind.fromWire(c.getKind());
        if (kind.isEmpty()) {
            out.add(new Problem("kind", c.getKind().isEmpty()
                    ? "is required (one of " + CheckKind.allWireNames() + ")"
                    : "unknown probe kind \"" + c.getKind() + "\" (one of " + CheckKind.allWireNames() + ")"));
        }
        if (c.getTarget().isBlank()) {
            out.add(new Problem("target", "is required"));
        }
        if (c.getFamily() == Family.UNRECOGNIZED) {
            out.add(new Problem("family", "must be any, ipv4 or ipv6"));
        }
        if (c.getIntervalMs() < MIN_INTERVAL_MS || c.getIntervalMs() > MAX_INTERVAL_MS) {
            out.add(new Problem("interval", Durations.format(c.getIntervalMs())
                    + " is out of range (1s to 1d)"));
        }
        if (c.getTimeoutMs() <= 0 || c.getTimeoutMs() > MAX_TIMEOUT_MS) {
            out.add(new Problem("timeout", Durations.format(c.getTimeoutMs()) + " is out of range (1ms to 60s)"));
        } else if (c.getTimeoutMs() > c.getIntervalMs()) {
            out.add(new Problem("timeout", Durations.format(c.getTimeoutMs()) + " is longer than the interval "
                    + Durations.format(c.getIntervalMs()) + " (make it shorter, or the interval longer)"));
        }
        // Written so NaN fails too: every comparison with NaN is false.
        if (!(c.getTargetRatePerS() >= 0) || Double.isInfinite(c.getTargetRatePerS())) {
            out.add(new Problem("target-rate", c.getTargetRatePerS() + " is not a finite number >= 0"));
        }
        kind.ifPresent(k -> kindProblems(k, c, out));
        return out;
    }

    private static void kindProblems(CheckKind kind, Check c, List<Problem> out) {
        Check.ParamsCase expected = switch (kind) {
            case ICMP -> Check.ParamsCase.ICMP;
            case TCP -> Check.ParamsCase.TCP;
            case DNS -> Check.ParamsCase.DNS;
            case DNS_TRACE -> Check.ParamsCase.DNS_TRACE;
            case HTTP, HTTPS -> Check.ParamsCase.HTTP;
            case TLS -> Check.ParamsCase.TLS;
        };
        if (c.getParamsCase() != Check.ParamsCase.PARAMS_NOT_SET && c.getParamsCase() != expected) {
            out.add(new Problem(paramsField(c.getParamsCase()), "does not belong to " + withArticle(kind)
                    + " check (use " + paramsField(expected) + ":)"));
            return;
        }
        String target = c.getTarget();
        switch (kind) {
            case ICMP -> {
                if (target.contains(":") && !Hosts.isIpLiteral(target)) {
                    out.add(new Problem("target", "an icmp target is a host name or address, without a port"));
                }
                if (c.getIcmp().getCount() > 100) {
                    out.add(new Problem("icmp.count", c.getIcmp().getCount() + " is more than 100 echo requests"));
                }
            }
            case TCP -> {
                if (c.getTcp().getPort() > 65535) {
                    out.add(portProblem("tcp.port", c.getTcp().getPort()));
                    return;
                }
                HostPort hp = HostPort.parse(target, c.getTcp().getPort());
                if (hp == null || hp.host().isEmpty() || hp.port() <= 0) {
                    out.add(new Problem("target", "\"" + target
                            + "\" needs a port 1-65535 (write host:port, [v6]:port, or set tcp.port)"));
                }
            }
            case DNS -> {
                var d = c.getDns();
                if (d.getPort() > 65535) {
                    out.add(portProblem("dns.port", d.getPort()));
                }
                if (!d.getTransport().isEmpty() && !Set.of("udp", "tcp").contains(d.getTransport())) {
                    out.add(new Problem("dns.transport", "\"" + d.getTransport() + "\" is not one of udp, tcp"));
                }
                if (!d.getQtype().isEmpty() && !QTYPES.contains(d.getQtype().toUpperCase(Locale.ROOT))) {
                    out.add(new Problem("dns.type", "\"" + d.getQtype() + "\" is not a record type this probe knows ("
                            + String.join(", ", new java.util.TreeSet<>(QTYPES)) + ")"));
                }
                if (!d.getResolver().isEmpty() && HostPort.parse(d.getResolver(), 53) == null) {
                    out.add(new Problem("dns.resolver", "\"" + d.getResolver() + "\" is not an IP address or IP:port"));
                } else if (!d.getResolver().isEmpty() && !Hosts.isIpLiteral(HostPort.parse(d.getResolver(), 53).host())) {
                    out.add(new Problem("dns.resolver", "\"" + d.getResolver()
                            + "\" must be an IP address (a resolver named by a name would need a resolver itself)"));
                }
                if (!d.getExpectRcode().isEmpty() && !RCODES.contains(d.getExpectRcode())) {
                    out.add(new Problem("dns.expect-rcode", "\"" + d.getExpectRcode() + "\" is not one of "
                            + String.join(", ", new java.util.TreeSet<>(RCODES))));
                }
                regexProblem("dns.expect-regex", d.getExpectRegex(), out);
                for (String a : d.getExpectAddressesList()) {
                    if (!Hosts.isIpLiteral(a)) {
                        out.add(new Problem("dns.expect-addresses", "\"" + a + "\" is not an IP address"));
                    }
                }
                if (Hosts.isIpLiteral(target)) {
                    out.add(new Problem("target", "a dns check queries a name, not the address \"" + target
                            + "\" (for a reverse lookup, query its in-addr.arpa or ip6.arpa name with type PTR)"));
                }
            }
            case DNS_TRACE -> {
                for (String r : c.getDnsTrace().getRootServersList()) {
                    if (!Hosts.isIpLiteral(r)) {
                        out.add(new Problem("dns-trace.roots", "\"" + r + "\" is not an IP address"));
                    }
                }
                String q = c.getDnsTrace().getQtype();
                if (!q.isEmpty() && !Set.of("A", "AAAA").contains(q.toUpperCase(Locale.ROOT))) {
                    out.add(new Problem("dns-trace.type", "\"" + q + "\" is not A or AAAA"));
                }
            }
            case HTTP, HTTPS -> {
                try {
                    URI u = new URI(target);
                    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
                    if (!scheme.equals(kind.wireName())) {
                        out.add(new Problem("target", "\"" + target + "\" must be an " + kind.wireName()
                                + ":// URL for " + withArticle(kind) + " check"));
                    } else if (u.getHost() == null) {
                        out.add(new Problem("target", "\"" + target + "\" has no host"));
                    } else if (u.getPort() > 65535) {
                        out.add(new Problem("target", "\"" + target + "\" has port " + u.getPort()
                                + ", which is not a port (1-65535)"));
                    }
                } catch (URISyntaxException e) {
                    out.add(new Problem("target", "\"" + target + "\" is not a URL: " + e.getReason()));
                }
                var h = c.getHttp();
                if (!h.getMethod().isEmpty() && !METHODS.contains(h.getMethod())) {
                    out.add(new Problem("http.method", "\"" + h.getMethod() + "\" is not one of "
                            + String.join(", ", new java.util.TreeSet<>(METHODS))));
                }
                for (int s : h.getExpectStatusList()) {
                    if (s < 100 || s > 599) {
                        out.add(new Problem("http.expect-status", s + " is not an HTTP status (100-599)"));
                    }
                }
                regexProblem("http.expect-body-regex", h.getExpectBodyRegex(), out);
                if (!h.getConnectTo().isEmpty() && !Hosts.isIpLiteral(HostPort.hostOf(h.getConnectTo()))) {
                    out.add(new Problem("http.connect-to", "\"" + h.getConnectTo()
                            + "\" must be an IP address or IP:port (it replaces resolving the URL's host)"));
                }
            }
            case TLS -> {
                if (c.getTls().getPort() > 65535) {
                    out.add(portProblem("tls.port", c.getTls().getPort()));
                    return;
                }
                HostPort hp = HostPort.parse(target, c.getTls().getPort() == 0 ? 443 : c.getTls().getPort());
                if (hp == null || hp.host().isEmpty() || hp.port() <= 0) {
                    out.add(new Problem("target", "\"" + target + "\" is not host or host:port (port 1-65535)"));
                }
                if (!c.getTls().getConnectTo().isEmpty() && !Hosts.isIpLiteral(c.getTls().getConnectTo())) {
                    out.add(new Problem("tls.connect-to", "\"" + c.getTls().getConnectTo()
                            + "\" must be an IP address (it replaces resolving the target; the port is tls.port)"));
                }
            }
        }
    }

    /** "an http", "a tcp": said as letters, the names starting with h and i take "an". */
    private static String withArticle(CheckKind kind) {
        String name = kind.wireName();
        return (name.startsWith("h") || name.startsWith("i") ? "an " : "a ") + name;
    }

    private static Problem portProblem(String field, int port) {
        return new Problem(field, port + " is not a port (1-65535)");
    }

    private static void regexProblem(String field, String regex, List<Problem> out) {
        if (regex.isEmpty()) {
            return;
        }
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            out.add(new Problem(field, "is not a valid regular expression: " + e.getDescription()));
        }
    }

    static String paramsField(Check.ParamsCase p) {
        return switch (p) {
            case ICMP -> "icmp";
            case TCP -> "tcp";
            case DNS -> "dns";
            case DNS_TRACE -> "dns-trace";
            case HTTP -> "http";
            case TLS -> "tls";
            case PARAMS_NOT_SET -> "(none)";
        };
    }

    /** Validates a set of checks (duplicate ids included); throws with every problem, prefixed by the check id. */
    public static void validateAll(List<Check> checks) throws CheckSpecException {
        List<String> problems = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < checks.size(); i++) {
            Check c = checks.get(i);
            String where = "checks[" + i + "]" + (c.getId().isEmpty() ? "" : " (" + c.getId() + ")");
            if (!c.getId().isEmpty() && !seen.add(c.getId())) {
                problems.add(where + ": id: duplicate id \"" + c.getId() + "\" (ids must be unique)");
            }
            for (Problem p : problems(c)) {
                problems.add(where + ": " + p);
            }
        }
        if (!problems.isEmpty()) {
            throw new CheckSpecException(problems);
        }
    }

    /** One problem: the field (YAML name) and what is wrong with it. */
    public record Problem(String field, String message) {
        @Override
        public String toString() {
            return field + ": " + message;
        }
    }
}
