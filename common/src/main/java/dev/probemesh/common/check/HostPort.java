package dev.probemesh.common.check;

import java.util.regex.Pattern;

/** A host (name or literal, IPv6 without brackets) and a port. */
public record HostPort(String host, int port) {
    private static final Pattern DIGITS = Pattern.compile("\\d{1,5}");

    /**
     * Parses {@code host}, {@code host:port}, {@code v4:port}, {@code [v6]:port} or a bare IPv6
     * literal; the default port applies when none is written. Null when malformed, including a
     * written port that is not 0-65535 and an unbracketed host with colons that is no IPv6 literal.
     */
    public static HostPort parse(String text, int defaultPort) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String t = text.trim();
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0 || !Hosts.isIpv6Literal(t.substring(1, close))) {
                return null;
            }
            String host = t.substring(1, close);
            String rest = t.substring(close + 1);
            if (rest.isEmpty()) {
                return new HostPort(host, defaultPort);
            }
            return rest.startsWith(":") ? withPort(host, rest.substring(1)) : null;
        }
        if (Hosts.isIpv6Literal(t)) {
            return new HostPort(t, defaultPort);
        }
        int colon = t.lastIndexOf(':');
        if (colon < 0) {
            return new HostPort(t, defaultPort);
        }
        String host = t.substring(0, colon);
        // "a:b:80" is neither a name nor a bracketed IPv6 address with a port.
        return host.contains(":") ? null : withPort(host, t.substring(colon + 1));
    }

    public static String hostOf(String text) {
        HostPort hp = parse(text, 0);
        return hp == null ? text : hp.host();
    }

    private static HostPort withPort(String host, String port) {
        // Integer.parseInt alone would accept "+80" and "-1".
        if (!DIGITS.matcher(port).matches()) {
            return null;
        }
        int p = Integer.parseInt(port);
        return p > 65535 ? null : new HostPort(host, p);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
