package dev.probemesh.coordinator.identity;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The names and addresses the coordinator's server certificate should carry. Agents verify the
 * certificate against the address they dial, so a coordinator listening on 0.0.0.0 needs every
 * address it can be reached at (plus any --advertise names for NAT or DNS aliases).
 */
public record ServerNames(List<String> dnsNames, List<String> ipAddresses) {
    public ServerNames {
        dnsNames = List.copyOf(dnsNames);
        ipAddresses = List.copyOf(ipAddresses);
    }

    /**
     * "localhost", this host's name, the extra names given, and the addresses of every interface
     * that is up (link-local IPv6 excluded: it needs a scope a certificate cannot carry).
     */
    public static ServerNames forThisHost(List<String> extraNames) {
        Set<String> dns = new LinkedHashSet<>();
        Set<String> ips = new LinkedHashSet<>();
        dns.add("localhost");
        try {
            String host = InetAddress.getLocalHost().getHostName();
            if (!looksLikeIp(host)) {
                dns.add(host.toLowerCase(Locale.ROOT));
            }
        } catch (UnknownHostException e) {
            // no resolvable host name: the addresses and extra names still work
        }
        for (String n : extraNames) {
            if (looksLikeIp(n)) {
                ips.add(n);
            } else {
                dns.add(n.toLowerCase(Locale.ROOT));
            }
        }
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (!a.isLinkLocalAddress()) {
                        String text = a.getHostAddress();
                        int scope = text.indexOf('%');
                        ips.add(scope < 0 ? text : text.substring(0, scope));
                    }
                }
            }
        } catch (SocketException e) {
            ips.add("127.0.0.1");
        }
        return new ServerNames(new ArrayList<>(dns), new ArrayList<>(ips));
    }

    private static boolean looksLikeIp(String s) {
        return s.matches("[0-9.]+") || s.contains(":");
    }
}
