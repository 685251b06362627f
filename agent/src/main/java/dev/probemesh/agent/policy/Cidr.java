package dev.probemesh.agent.policy;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * An address range with the reason it is in a rule, e.g. {@code 169.254.0.0/16 (link-local, cloud metadata)}.
 */
public record Cidr(InetAddress network, int prefix, String reason) {

    public Cidr {
        Objects.requireNonNull(network, "network");
        int max = network.getAddress().length * 8;
        if (prefix < 0 || prefix > max) {
            throw new IllegalArgumentException("prefix /" + prefix + " out of range 0-" + max);
        }
        reason = reason == null ? "" : reason;
    }

    /**
     * Parses {@code 10.0.0.0/8} or a bare address (a /32 or /128). Only canonical literals are
     * accepted in a policy file: a rule must be readable by the person who reviews it.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static Cidr parse(String text, String reason) {
        String t = text == null ? "" : text.trim();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        boolean literal = addr.contains(":") || addr.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        InetAddress a = literal ? AddressLiterals.parse(addr).orElse(null) : null;
        if (a == null) {
            throw new IllegalArgumentException("\"" + text + "\" is not an address range (write e.g. 192.0.2.0/24 or 2001:db8::/32)");
        }
        int max = a.getAddress().length * 8;
        int prefix;
        try {
            prefix = slash < 0 ? max : Integer.parseInt(t.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + text + "\" has no numeric prefix length");
        }
        if (prefix < 0 || prefix > max) {
            throw new IllegalArgumentException("\"" + text + "\": prefix must be 0-" + max);
        }
        return new Cidr(a, prefix, reason);
    }

    public boolean contains(InetAddress a) {
        byte[] n = network.getAddress();
        byte[] x = a.getAddress();
        if (n.length != x.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (n[i] != x[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (n[full] & mask) == (x[full] & mask);
    }

    public boolean isIpv4() {
        return network instanceof Inet4Address;
    }

    /** {@code 169.254.0.0/16 (link-local, cloud metadata)}. */
    @Override
    public String toString() {
        String range = dev.probemesh.agent.probe.net.Addresses.text(network) + "/" + prefix;
        return reason.isEmpty() ? range : range + " (" + reason + ")";
    }
}
