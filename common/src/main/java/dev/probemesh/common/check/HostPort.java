package dev.probemesh.common.check;

/** A host (name or literal, IPv6 without brackets) and a port. */
public record HostPort(String host, int port) {

    /**
     * Parses {@code host}, {@code host:port}, {@code v4:port}, {@code [v6]:port} or a bare IPv6
     * literal; the default port applies when none is written. Null when malformed.
     */
    public static HostPort parse(String text, int defaultPort) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String t = text.trim();
        try {
            if (t.startsWith("[")) {
                int close = t.indexOf(']');
                if (close < 0) {
                    return null;
                }
                String host = t.substring(1, close);
                String rest = t.substring(close + 1);
                if (rest.isEmpty()) {
                    return new HostPort(host, defaultPort);
                }
                return rest.startsWith(":") ? new HostPort(host, Integer.parseInt(rest.substring(1))) : null;
            }
            if (Hosts.isIpv6Literal(t)) {
                return new HostPort(t, defaultPort);
            }
            int colon = t.lastIndexOf(':');
            if (colon < 0) {
                return new HostPort(t, defaultPort);
            }
            return new HostPort(t.substring(0, colon), Integer.parseInt(t.substring(colon + 1)));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    public static String hostOf(String text) {
        HostPort hp = parse(text, 0);
        return hp == null ? text : hp.host();
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
