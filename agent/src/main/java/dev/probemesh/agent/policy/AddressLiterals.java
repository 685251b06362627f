package dev.probemesh.agent.policy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Address literals in every form a C library accepts, so a policy check sees the address a
 * resolver or client would actually dial (blackbox_exporter issue #1639: "2852039166" is
 * 169.254.169.254 to inet_aton). Never looks anything up.
 */
public final class AddressLiterals {
    private AddressLiterals() {
    }

    /**
     * The address {@code text} denotes, or empty when it is a name: dotted quads; inet_aton's
     * forms (one to four parts, each decimal, {@code 0x} hex or leading-zero octal, the last part
     * filling the remaining bytes: {@code 2852039166}, {@code 0xA9FEA9FE},
     * {@code 0251.0376.0251.0376}, {@code 169.254.43518}); IPv6 with or without brackets and zone.
     */
    public static Optional<InetAddress> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String t = text.trim();
        if (t.startsWith("[") && t.endsWith("]")) {
            t = t.substring(1, t.length() - 1);
        }
        if (t.endsWith(".")) {
            t = t.substring(0, t.length() - 1); // "2852039166." is still inet_aton's
        }
        if (t.isEmpty()) {
            return Optional.empty();
        }
        if (t.indexOf(':') >= 0) {
            return ipv6(t);
        }
        return inetAton(t);
    }

    private static Optional<InetAddress> ipv6(String t) {
        int pct = t.indexOf('%');
        String s = pct >= 0 ? t.substring(0, pct) : t;
        if (!s.matches("[0-9A-Fa-f:.]+") || !s.contains(":")) {
            return Optional.empty();
        }
        try {
            // A literal: InetAddress parses it without any lookup.
            return Optional.of(InetAddress.getByName(s));
        } catch (UnknownHostException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<InetAddress> inetAton(String t) {
        String[] parts = t.split("\\.", -1);
        if (parts.length > 4) {
            return Optional.empty();
        }
        long[] v = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            Optional<Long> n = number(parts[i]);
            if (n.isEmpty()) {
                return Optional.empty();
            }
            v[i] = n.get();
        }
        long addr;
        switch (parts.length) {
            case 1 -> addr = v[0] <= 0xFFFFFFFFL ? v[0] : -1;
            case 2 -> addr = v[0] <= 0xFF && v[1] <= 0xFFFFFF ? (v[0] << 24) | v[1] : -1;
            case 3 -> addr = v[0] <= 0xFF && v[1] <= 0xFF && v[2] <= 0xFFFF ? (v[0] << 24) | (v[1] << 16) | v[2] : -1;
            default -> addr = v[0] <= 0xFF && v[1] <= 0xFF && v[2] <= 0xFF && v[3] <= 0xFF
                    ? (v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3] : -1;
        }
        if (addr < 0) {
            return Optional.empty();
        }
        byte[] b = {(byte) (addr >>> 24), (byte) (addr >>> 16), (byte) (addr >>> 8), (byte) addr};
        try {
            return Optional.of(InetAddress.getByAddress(b));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    private static Optional<Long> number(String p) {
        if (p.isEmpty() || p.length() > 12) {
            return Optional.empty();
        }
        String s = p.toLowerCase(Locale.ROOT);
        try {
            if (s.startsWith("0x")) {
                return s.length() == 2 ? Optional.of(0L) : s.substring(2).matches("[0-9a-f]+")
                        ? Optional.of(Long.parseLong(s.substring(2), 16)) : Optional.empty();
            }
            if (s.length() > 1 && s.startsWith("0")) {
                return s.matches("[0-7]+") ? Optional.of(Long.parseLong(s, 8)) : Optional.empty();
            }
            return s.matches("[0-9]+") ? Optional.of(Long.parseLong(s)) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * IPv4 addresses carried inside an IPv6 address, which reach that IPv4 host through a
     * translator or tunnel: IPv4-mapped {@code ::ffff:0:0/96}, SIIT {@code ::ffff:0:0:0/96},
     * IPv4-compatible {@code ::/96}, NAT64 {@code 64:ff9b::/96} and {@code 64:ff9b:1::/48}
     * (RFC 6052 /48 and /96 layouts), 6to4 {@code 2002::/16}, Teredo {@code 2001::/32} (server
     * and obfuscated client).
     */
    public static List<Inet4Address> embeddedIpv4(InetAddress a) {
        List<Inet4Address> out = new ArrayList<>();
        if (!(a instanceof Inet6Address)) {
            return out;
        }
        byte[] b = a.getAddress();
        if (zero(b, 0, 10) && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
            out.add(v4(b[12], b[13], b[14], b[15])); // ::ffff:a.b.c.d
        } else if (zero(b, 0, 8) && (b[8] & 0xff) == 0xff && (b[9] & 0xff) == 0xff && zero(b, 10, 12)) {
            out.add(v4(b[12], b[13], b[14], b[15])); // ::ffff:0:a.b.c.d
        } else if (zero(b, 0, 12)) {
            out.add(v4(b[12], b[13], b[14], b[15])); // ::a.b.c.d
        } else if (u16(b, 0) == 0x64 && u16(b, 2) == 0xff9b && u16(b, 4) == 0 && zero(b, 6, 12)) {
            out.add(v4(b[12], b[13], b[14], b[15])); // 64:ff9b::/96
        } else if (u16(b, 0) == 0x64 && u16(b, 2) == 0xff9b && u16(b, 4) == 1) {
            out.add(v4(b[6], b[7], b[9], b[10])); // 64:ff9b:1::/48, RFC 6052 /48 layout
            out.add(v4(b[12], b[13], b[14], b[15])); // the /96 layout inside it
        } else if (u16(b, 0) == 0x2002) {
            out.add(v4(b[2], b[3], b[4], b[5])); // 6to4
        } else if (u16(b, 0) == 0x2001 && u16(b, 2) == 0) {
            out.add(v4(b[4], b[5], b[6], b[7])); // Teredo server
            out.add(v4((byte) ~b[12], (byte) ~b[13], (byte) ~b[14], (byte) ~b[15])); // Teredo client
        }
        return out;
    }

    private static boolean zero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static int u16(byte[] b, int i) {
        return ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
    }

    private static Inet4Address v4(byte a, byte b, byte c, byte d) {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[] {a, b, c, d});
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 bytes are always an address", e);
        }
    }
}
