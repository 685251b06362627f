package dev.probemesh.common.check;

import java.util.regex.Pattern;

/** Address-literal recognition without touching the resolver (InetAddress would look names up). */
public final class Hosts {
    private static final Pattern V4 = Pattern.compile(
            "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]+(%[\\w.-]+)?");

    private Hosts() {
    }

    public static boolean isIpv4Literal(String s) {
        return s != null && V4.matcher(s).matches();
    }

    public static boolean isIpv6Literal(String s) {
        if (s == null) {
            return false;
        }
        String t = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
        // At least two colons: "127.0.0.1:443" is an address and a port, not an IPv6 literal.
        return t.chars().filter(ch -> ch == ':').count() >= 2 && V6.matcher(t).matches();
    }

    public static boolean isIpLiteral(String s) {
        return isIpv4Literal(s) || isIpv6Literal(s);
    }
}
