package dev.probemesh.agent.probe.net;

import dev.probemesh.common.check.Hosts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The system resolver's nameservers from resolv.conf, re-read whenever the file's modification
 * time (or size) changes, so a DHCP/NetworkManager rewrite is seen on the next run. Inside
 * {@code ip netns exec NS}, /etc/netns/NS/resolv.conf is bind-mounted over /etc/resolv.conf, so
 * reading /etc/resolv.conf is right there too. No nameserver line means 127.0.0.1, as in glibc.
 */
public final class DnsResolvConf {
    public static final Path SYSTEM = Path.of("/etc/resolv.conf");

    private record Snapshot(FileTime mtime, long size, List<InetSocketAddress> servers) {
    }

    private final Path path;
    private volatile Snapshot snapshot;

    public DnsResolvConf(Path path) {
        this.path = Objects.requireNonNull(path, "path");
    }

    /** The nameservers in file order (port 53); never empty. */
    public List<InetSocketAddress> servers() {
        FileTime mtime;
        long size;
        try {
            mtime = Files.getLastModifiedTime(path);
            size = Files.size(path);
        } catch (IOException e) {
            mtime = FileTime.fromMillis(0);
            size = -1;
        }
        Snapshot s = snapshot;
        if (s == null || !s.mtime().equals(mtime) || s.size() != size) {
            s = new Snapshot(mtime, size, read());
            snapshot = s;
        }
        return s.servers();
    }

    private List<InetSocketAddress> read() {
        List<InetSocketAddress> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(path)) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 2 && f[0].equals("nameserver")) {
                    String ip = f[1];
                    int pct = ip.indexOf('%');
                    String bare = pct >= 0 ? ip.substring(0, pct) : ip;
                    if (Hosts.isIpLiteral(bare)) {
                        out.add(new InetSocketAddress(literal(bare), 53));
                    }
                }
            }
        } catch (IOException e) {
            // unreadable: glibc falls back to the local host, so do we
        }
        if (out.isEmpty()) {
            out.add(new InetSocketAddress(InetAddress.getLoopbackAddress(), 53));
        }
        return List.copyOf(out);
    }

    /** Parses an IP literal (validated by the caller) without any name lookup. */
    public static InetAddress literal(String ip) {
        try {
            byte[] b = org.xbill.DNS.Address.toByteArray(ip,
                    ip.contains(":") ? org.xbill.DNS.Address.IPv6 : org.xbill.DNS.Address.IPv4);
            if (b == null) {
                throw new IllegalArgumentException("not an IP address: " + ip);
            }
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException | RuntimeException e) {
            throw new IllegalArgumentException("not an IP address: " + ip, e);
        }
    }
}
