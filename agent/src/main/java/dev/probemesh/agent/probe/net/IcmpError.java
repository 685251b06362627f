package dev.probemesh.agent.probe.net;

import dev.probemesh.common.failure.FailureCode;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * An ICMP error the kernel queued on a socket (a {@code sock_extended_err} read with
 * MSG_ERRQUEUE): which ICMP message came back and who sent it.
 *
 * @param origin SO_EE_ORIGIN_* (2 ICMP, 3 ICMPv6, 1 local)
 * @param errno the errno the kernel derived from it
 * @param offender the address of the device that sent the ICMP error; null when the kernel gave none
 */
public record IcmpError(int origin, int type, int code, int errno, InetAddress offender) {
    public static final int ORIGIN_LOCAL = 1;
    public static final int ORIGIN_ICMP = 2;
    public static final int ORIGIN_ICMP6 = 3;

    /** The taxonomy code and a short name of the ICMP message, e.g. {@code ADMIN_PROHIBITED, "ICMP admin-prohibited"}. */
    public record Meaning(FailureCode code, String what) {
        public Meaning {
            Objects.requireNonNull(code, "code");
        }
    }

    public boolean fromIcmp() {
        return origin == ORIGIN_ICMP || origin == ORIGIN_ICMP6;
    }

    /** What this ICMP error means, or null when it is not an ICMP unreachable/time-exceeded this maps. */
    public Meaning meaning() {
        if (origin == ORIGIN_ICMP && type == 3) {
            return switch (code) {
                case 0, 6, 11 -> new Meaning(FailureCode.NET_UNREACHABLE, "ICMP net-unreachable");
                case 1, 7, 12 -> new Meaning(FailureCode.HOST_UNREACHABLE, "ICMP host-unreachable");
                case 2 -> new Meaning(FailureCode.HOST_UNREACHABLE, "ICMP protocol-unreachable");
                case 3 -> new Meaning(FailureCode.REFUSED, "ICMP port-unreachable");
                case 9 -> new Meaning(FailureCode.ADMIN_PROHIBITED, "ICMP net-prohibited");
                case 10 -> new Meaning(FailureCode.ADMIN_PROHIBITED, "ICMP host-prohibited");
                case 13 -> new Meaning(FailureCode.ADMIN_PROHIBITED, "ICMP admin-prohibited");
                default -> new Meaning(FailureCode.HOST_UNREACHABLE, "ICMP destination-unreachable code " + code);
            };
        }
        if (origin == ORIGIN_ICMP && type == 11) {
            return new Meaning(FailureCode.NET_UNREACHABLE, "ICMP time-exceeded (routing loop?)");
        }
        if (origin == ORIGIN_ICMP6 && type == 1) {
            return switch (code) {
                case 0 -> new Meaning(FailureCode.NET_UNREACHABLE, "ICMPv6 no-route");
                case 1 -> new Meaning(FailureCode.ADMIN_PROHIBITED, "ICMPv6 admin-prohibited");
                case 2 -> new Meaning(FailureCode.NET_UNREACHABLE, "ICMPv6 beyond-scope");
                case 3 -> new Meaning(FailureCode.HOST_UNREACHABLE, "ICMPv6 address-unreachable");
                case 4 -> new Meaning(FailureCode.REFUSED, "ICMPv6 port-unreachable");
                case 5 -> new Meaning(FailureCode.ADMIN_PROHIBITED, "ICMPv6 source-policy-failed");
                case 6 -> new Meaning(FailureCode.ADMIN_PROHIBITED, "ICMPv6 reject-route");
                default -> new Meaning(FailureCode.HOST_UNREACHABLE, "ICMPv6 destination-unreachable code " + code);
            };
        }
        if (origin == ORIGIN_ICMP6 && type == 3) {
            return new Meaning(FailureCode.NET_UNREACHABLE, "ICMPv6 time-exceeded (routing loop?)");
        }
        return null;
    }

    /** "rejected by 198.51.100.1 (ICMP admin-prohibited)". */
    public String describe() {
        Meaning m = meaning();
        String what = m == null ? "ICMP type " + type + " code " + code : m.what();
        return offender == null ? what : "rejected by " + Addresses.text(offender) + " (" + what + ")";
    }

    /** rejected_by, icmp_type, icmp_code. */
    public Map<String, String> attributes() {
        Map<String, String> a = new LinkedHashMap<>();
        if (offender != null) {
            a.put("rejected_by", Addresses.text(offender));
        }
        a.put(offender instanceof Inet6Address || origin == ORIGIN_ICMP6 ? "icmp6_type" : "icmp_type", Integer.toString(type));
        a.put(offender instanceof Inet6Address || origin == ORIGIN_ICMP6 ? "icmp6_code" : "icmp_code", Integer.toString(code));
        return a;
    }
}
