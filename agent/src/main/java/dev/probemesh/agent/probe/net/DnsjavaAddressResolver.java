package dev.probemesh.agent.probe.net;

import dev.probemesh.common.check.Hosts;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.proto.v1.Family;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The probes' name resolver: asks the system resolver (resolv.conf, re-read when it changes) or
 * explicit resolvers over the shared {@link DnsTransport} on every run; no JDK or dnsjava cache
 * sits in between, so a DNS fault shows on the very next run.
 *
 * <p>Like glibc's stub: names are absolute (no search list: probe targets are FQDNs); servers
 * are tried in order, each with an equal share of the time left; UDP first with one retransmit
 * at half the share, TCP when the answer is truncated; SERVFAIL/REFUSED or silence moves to the
 * next server, NXDOMAIN is final; a CNAME chain the server did not finish is followed with a
 * new query (bounded).
 *
 * <p>{@code FAMILY_ANY} order is a simplified RFC 6724 destination selection, as getaddrinfo does
 * it: IPv6 addresses first only when the host has a global IPv6 source address, unless gai.conf
 * raises {@code precedence ::ffff:0:0/96} above IPv6's default 40 (the usual
 * {@code precedence ::ffff:0:0/96 100}), which puts IPv4 first.
 */
public final class DnsjavaAddressResolver implements AddressResolver {
    public static final Path GAI_CONF = Path.of("/etc/gai.conf");
    private static final Pattern V4_PRECEDENCE = Pattern.compile(
            "^\\s*precedence\\s+::ffff:0:0/96\\s+(\\d+)\\s*$", Pattern.MULTILINE);
    private static final Pattern V6_PRECEDENCE = Pattern.compile(
            "^\\s*precedence\\s+::/0\\s+(\\d+)\\s*$", Pattern.MULTILINE);
    private static final int MAX_CNAME_REQUERIES = 8;

    private final DnsTransport transport;
    private final Supplier<List<InetSocketAddress>> servers;
    private final Supplier<Boolean> hostHasGlobalIpv6;
    private final Path gaiConf;
    private volatile FileTime gaiMtime;
    private volatile boolean gaiPrefersIpv4;

    /**
     * @param transport the agent's shared DNS transport
     * @param servers the resolvers to ask, in order (asked on every run)
     * @param hostHasGlobalIpv6 whether the host has a global IPv6 source address right now (from
     *     the agent's capabilities)
     * @param gaiConf gai.conf to honour (a missing file means the RFC 6724 defaults)
     */
    public DnsjavaAddressResolver(DnsTransport transport, Supplier<List<InetSocketAddress>> servers,
            Supplier<Boolean> hostHasGlobalIpv6, Path gaiConf) {
        this.transport = Objects.requireNonNull(transport, "transport");
        this.servers = Objects.requireNonNull(servers, "servers");
        this.hostHasGlobalIpv6 = Objects.requireNonNull(hostHasGlobalIpv6, "hostHasGlobalIpv6");
        this.gaiConf = Objects.requireNonNull(gaiConf, "gaiConf");
    }

    /** The system resolver: /etc/resolv.conf and /etc/gai.conf. */
    public static DnsjavaAddressResolver system(DnsTransport transport, Supplier<Boolean> hostHasGlobalIpv6) {
        DnsResolvConf conf = new DnsResolvConf(DnsResolvConf.SYSTEM);
        return new DnsjavaAddressResolver(transport, conf::servers, hostHasGlobalIpv6, GAI_CONF);
    }

    @Override
    public CompletionStage<List<InetAddress>> resolve(String host, Family family, long deadlineNanos) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (Hosts.isIpLiteral(h)) {
            return literal(h, family);
        }
        Name name;
        try {
            name = Name.fromString(h.endsWith(".") ? h : h + ".");
        } catch (TextParseException e) {
            return CompletableFuture.failedFuture(new ResolveException(FailureCode.DNS_NXDOMAIN,
                    "\"" + host + "\" is not a valid DNS name"));
        }
        List<InetSocketAddress> ask = servers.get();
        if (family == Family.FAMILY_IPV4) {
            return lookup(name, Type.A, ask, deadlineNanos);
        }
        if (family == Family.FAMILY_IPV6) {
            return lookup(name, Type.AAAA, ask, deadlineNanos);
        }
        CompletableFuture<List<InetAddress>> v4 = lookup(name, Type.A, ask, deadlineNanos);
        CompletableFuture<List<InetAddress>> v6 = lookup(name, Type.AAAA, ask, deadlineNanos);
        boolean v6First = hostHasGlobalIpv6.get() && !gaiPrefersIpv4();
        return v4.handle((a, ea) -> new Object[] {a, ea}).thenCombine(v6.handle((b, eb) -> new Object[] {b, eb}),
                (ra, rb) -> merge(ra, rb, v6First)).thenCompose(f -> f);
    }

    @SuppressWarnings("unchecked")
    private static CompletableFuture<List<InetAddress>> merge(Object[] v4, Object[] v6, boolean v6First) {
        List<InetAddress> a = (List<InetAddress>) v4[0];
        List<InetAddress> b = (List<InetAddress>) v6[0];
        List<InetAddress> out = new ArrayList<>();
        if (v6First && b != null) {
            out.addAll(b);
        }
        if (a != null) {
            out.addAll(a);
        }
        if (!v6First && b != null) {
            out.addAll(b);
        }
        if (!out.isEmpty()) {
            return CompletableFuture.completedFuture(List.copyOf(out));
        }
        // both failed: the informative failure wins over "no records of this type"
        ResolveException ea = cause((Throwable) v4[1]);
        ResolveException eb = cause((Throwable) v6[1]);
        ResolveException pick = ea != null && ea.code() != FailureCode.DNS_NODATA ? ea
                : eb != null && eb.code() != FailureCode.DNS_NODATA ? eb : ea != null ? ea : eb;
        return CompletableFuture.failedFuture(pick);
    }

    private static ResolveException cause(Throwable t) {
        Throwable e = t;
        while (e != null && !(e instanceof ResolveException) && e.getCause() != null && e.getCause() != e) {
            e = e.getCause();
        }
        if (e instanceof ResolveException r) {
            return r;
        }
        return t == null ? null : new ResolveException(FailureCode.INTERNAL, String.valueOf(t));
    }

    private CompletableFuture<List<InetAddress>> lookup(Name name, int type, List<InetSocketAddress> ask, long deadline) {
        return ask(name, type, ask, 0, deadline, null, 0);
    }

    /** Asks server {@code i} and, when it gives no usable verdict, the next ones. */
    private CompletableFuture<List<InetAddress>> ask(Name name, int type, List<InetSocketAddress> ask, int i,
            long deadline, ResolveException previous, int requeries) {
        long now = System.nanoTime();
        if (i >= ask.size() || deadline - now <= 0) {
            return CompletableFuture.failedFuture(previous != null ? previous
                    : new ResolveException(FailureCode.DNS_TIMEOUT, text(name) + " " + Type.string(type)
                            + ": no answer from " + describe(ask) + " by the deadline"));
        }
        InetSocketAddress server = ask.get(i);
        long share = now + (deadline - now) / (ask.size() - i);
        return exchange(server, name, type, share).thenCompose(o -> {
            String where = text(name) + " " + Type.string(type) + " via " + DnsTransport.hostPort(server);
            if (o instanceof DnsTransport.Failed f) {
                FailureCode code = f.code() == FailureCode.LOCAL_FIREWALL ? FailureCode.LOCAL_FIREWALL
                        : FailureCode.DNS_TIMEOUT;
                return ask(name, type, ask, i + 1, deadline, new ResolveException(code, where + ": "
                        + (f.timedOut() ? "no answer (timeout)" : f.detail())), requeries);
            }
            Message m = ((DnsTransport.Answered) o).response();
            int rcode = m.getRcode();
            if (rcode == Rcode.NXDOMAIN) {
                return CompletableFuture.failedFuture(new ResolveException(FailureCode.DNS_NXDOMAIN, where + ": NXDOMAIN"));
            }
            if (rcode != Rcode.NOERROR) {
                FailureCode code = rcode == Rcode.REFUSED ? FailureCode.DNS_REFUSED : FailureCode.DNS_SERVFAIL;
                return ask(name, type, ask, i + 1, deadline, new ResolveException(code, where + ": "
                        + Rcode.string(rcode)), requeries);
            }
            if (m.getHeader().getFlag(Flags.TC)) {
                return CompletableFuture.failedFuture(new ResolveException(FailureCode.DNS_TRUNCATED_TCP_FAILED,
                        where + ": truncated even over tcp"));
            }
            DnsAnswers.Chain chain = DnsAnswers.follow(m, name, type);
            if (!chain.records().isEmpty()) {
                List<InetAddress> out = new ArrayList<>();
                for (Record r : chain.records()) {
                    if (r instanceof ARecord a) {
                        out.add(a.getAddress());
                    } else if (r instanceof AAAARecord a) {
                        out.add(a.getAddress());
                    }
                }
                return CompletableFuture.completedFuture(List.copyOf(out));
            }
            if (chain.dangling() && requeries < MAX_CNAME_REQUERIES) {
                return ask(chain.end(), type, ask, 0, deadline, null, requeries + 1);
            }
            return CompletableFuture.failedFuture(new ResolveException(FailureCode.DNS_NODATA, where
                    + ": no " + Type.string(type) + " records (NODATA)"));
        });
    }

    /** One query to one server: UDP, then TCP if the UDP answer was truncated. */
    private CompletableFuture<DnsTransport.Outcome> exchange(InetSocketAddress server, Name name, int type, long deadline) {
        return transport.query(server, query(name, type), DnsTransport.Protocol.UDP, deadline, true)
                .thenCompose(o -> o instanceof DnsTransport.Answered a && a.response().getHeader().getFlag(Flags.TC)
                        ? transport.query(server, query(name, type), DnsTransport.Protocol.TCP, deadline, false)
                        : CompletableFuture.completedFuture(o));
    }

    private static Message query(Name name, int type) {
        return DnsTransport.newQuery(name, type, true);
    }

    private static CompletionStage<List<InetAddress>> literal(String ip, Family family) {
        InetAddress a = DnsResolvConf.literal(ip);
        boolean v6 = a instanceof Inet6Address;
        if ((family == Family.FAMILY_IPV4 && v6) || (family == Family.FAMILY_IPV6 && a instanceof Inet4Address)) {
            return CompletableFuture.failedFuture(new ResolveException(FailureCode.DNS_NODATA,
                    ip + " is an IPv" + (v6 ? "6" : "4") + " address but the check is pinned to "
                            + (v6 ? "ipv4" : "ipv6")));
        }
        return CompletableFuture.completedFuture(List.of(a));
    }

    /** True when gai.conf gives IPv4-mapped addresses a precedence above IPv6's (::/0, default 40). */
    boolean gaiPrefersIpv4() {
        FileTime mtime;
        try {
            mtime = Files.getLastModifiedTime(gaiConf);
        } catch (IOException e) {
            return false;
        }
        if (!mtime.equals(gaiMtime)) {
            boolean prefers = false;
            try {
                String text = Files.readString(gaiConf).replaceAll("(?m)#.*$", "");
                int v4 = -1;
                int v6 = 40; // RFC 6724's ::/0, unless the file sets its own
                Matcher m = V4_PRECEDENCE.matcher(text);
                while (m.find()) {
                    v4 = Integer.parseInt(m.group(1));
                }
                Matcher m6 = V6_PRECEDENCE.matcher(text);
                while (m6.find()) {
                    v6 = Integer.parseInt(m6.group(1));
                }
                prefers = v4 > v6;
            } catch (IOException | NumberFormatException e) {
                prefers = false;
            }
            gaiPrefersIpv4 = prefers;
            gaiMtime = mtime;
        }
        return gaiPrefersIpv4;
    }

    private static String describe(List<InetSocketAddress> ask) {
        List<String> s = new ArrayList<>();
        for (InetSocketAddress a : ask) {
            s.add(DnsTransport.hostPort(a));
        }
        return String.join(", ", s);
    }

    private static String text(Name n) {
        return DnsAnswers.text(n);
    }
}
