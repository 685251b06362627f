package dev.probemesh.common.check;

import java.util.regex.Pattern;

/** Address-literal recognition without touching the resolver (InetAddress would look names up). */
public final class Hosts {
    private static final Pattern V4 = Pattern.compile(
            "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern HEX_GROUP = Pattern.compile("[0-9A-Fa-f]{1,4}");
    private static final Pattern ZONE = Pattern.compile("[\\w.-]+");

    private Hosts() {
    }

    public static boolean isIpv4Literal(String s) {
        return s != null && V4.matcher(s).matches();
    }

    /**
     * An RFC 4291 text address, optionally in brackets and with a {@code %zone}. Checked group by
     * group, because a looser pattern takes "127.0.0.1:443" (an address and a port) or ":::" for
     * IPv6 literals.
     */
    public static boolean isIpv6Literal(String s) {
        if (s == null) {
            return false;
        }
        String a = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
        int pct = a.indexOf('%');
        if (pct >= 0) {
            if (!ZONE.matcher(a.substring(pct + 1)).matches()) {
                return false;
            }
            a = a.substring(0, pct);
        }
        int lastColon = a.lastIndexOf(':');
        if (lastColon < 0) {
            return false;
        }
        int v4Groups = 0;
        String last = a.substring(lastColon + 1);
        if (last.contains(".")) {
            // An embedded IPv4 tail (::ffff:192.0.2.1) stands for the last two groups.
            if (!isIpv4Literal(last)) {
                return false;
            }
            v4Groups = 2;
            boolean gapBefore = lastColon > 0 && a.charAt(lastColon - 1) == ':';
            a = gapBefore ? a.substring(0, lastColon + 1) : a.substring(0, lastColon);
        }
        int gap = a.indexOf("::");
        if (gap < 0) {
            return groups(a) == 8 - v4Groups;
        }
        if (a.indexOf("::", gap + 1) >= 0) {
            return false;
        }
        int head = a.substring(0, gap).isEmpty() ? 0 : groups(a.substring(0, gap));
        int tail = a.substring(gap + 2).isEmpty() ? 0 : groups(a.substring(gap + 2));
        return head >= 0 && tail >= 0 && head + tail + v4Groups <= 7;
    }

    public static boolean isIpLiteral(String s) {
        return isIpv4Literal(s) || isIpv6Literal(s);
    }

    /** Number of colon-separated hex groups, or -1 when any group is not 1-4 hex digits. */
    private static int groups(String text) {
        String[] parts = text.split(":", -1);
        for (String p : parts) {
            if (!HEX_GROUP.matcher(p).matches()) {
                return -1;
            }
        }
        return parts.length;
    }
}
