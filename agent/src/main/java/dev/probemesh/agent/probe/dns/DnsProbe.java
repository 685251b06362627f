package dev.probemesh.agent.probe.dns;

import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.DnsAnswers;
import dev.probemesh.agent.probe.net.DnsResolvConf;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.common.check.HostPort;
import dev.probemesh.common.check.Hosts;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Kind {@code dns}: one query to a chosen resolver (or the system resolver from resolv.conf)
 * over UDP or TCP, judged by rcode and, optionally, expected addresses, a regex over the answer
 * and an expected rcode.
 *
 * <p>Family pinning pins the path to the <em>resolver</em>: with {@code ipv4}/{@code ipv6} the
 * query travels over that family, so a resolver address of the other family is a spec mismatch
 * (ERROR INTERNAL, naming both); with the system resolver the first nameserver of the pinned
 * family is used (none: ERROR UNSUPPORTED). The record type asked is independent ({@code qtype}).
 *
 * <p>Codes: DNS_TIMEOUT (nothing by the deadline; over UDP one retransmit at half the time, like
 * stub resolvers), DNS_NXDOMAIN, DNS_SERVFAIL (also other error rcodes), DNS_REFUSED, DNS_NODATA,
 * DNS_TRUNCATED_TCP_FAILED (TC over UDP and the TCP retry failed), DNS_UNEXPECTED_ANSWER; a
 * transport failure to the resolver keeps its transport code (REFUSED for a closed TCP port or
 * an ICMP port unreachable over UDP, HOST_UNREACHABLE, NET_UNREACHABLE, NO_ROUTE, LOCAL_FIREWALL
 * for EPERM), except that a TCP connect that times out is DNS_TIMEOUT, as dig would say. Linux
 * tells a connected UDP socket only of hard ICMP errors (port unreachable, admin-prohibited); a
 * host/net unreachable over UDP therefore reads as DNS_TIMEOUT, and a TCP SYN dropped by this
 * host's OUTPUT chain is retried silently by the kernel (DNS_TIMEOUT, while UDP gets EPERM at once).
 *
 * <p>Attributes: {@code rcode}, {@code resolver} (ip:port), {@code transport} (what carried the
 * final answer), {@code answers} (comma-separated rdata of the asked type at the end of the CNAME
 * chain), {@code ttl_min} (smallest TTL in the answer section), {@code chain} when CNAMEs were
 * followed.
 */
public final class DnsProbe implements Probe {
    private final ProbeEnv env;
    private final DnsTransport transport;
    private final Supplier<List<InetSocketAddress>> systemResolvers;

    /**
     * @param env the agent's shared environment (its policy is asked about every resolver address)
     * @param transport the agent's shared DNS transport
     * @param systemResolvers the system resolver's servers, e.g. {@code new DnsResolvConf(DnsResolvConf.SYSTEM)::servers}
     */
    public DnsProbe(ProbeEnv env, DnsTransport transport, Supplier<List<InetSocketAddress>> systemResolvers) {
        this.env = Objects.requireNonNull(env, "env");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.systemResolvers = Objects.requireNonNull(systemResolvers, "systemResolvers");
    }

    /** A probe asking /etc/resolv.conf's servers when a check names no resolver. */
    public static DnsProbe withSystemResolver(ProbeEnv env, DnsTransport transport) {
        return new DnsProbe(env, transport, new DnsResolvConf(DnsResolvConf.SYSTEM)::servers);
    }

    @Override
    public CompletionStage<ProbeResult> run(Check check, long deadlineNanos) {
        try {
            return runChecked(check, deadlineNanos);
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "dns probe failed unexpectedly: " + e));
        }
    }

    /**
     * What a check asks, parsed once per check rather than per run (name, type, regex, an
     * explicit resolver, expected addresses): at tens of thousands of runs a second the parsing
     * (regexes over the resolver text, name and address parsing) showed in the profile.
     * {@code refusal} is set when the spec cannot run; {@code server} is null for the system
     * resolver, which is looked up on every run (resolv.conf may change).
     */
    private record Spec(Name qname, String qnameText, int qtype, String qtypeText, Pattern regex,
            InetSocketAddress server, List<String> expectedText, List<InetAddress> expected, ProbeResult refusal) {
        static Spec refused(ProbeResult r) {
            return new Spec(null, "", 0, "", null, null, List.of(), List.of(), r);
        }
    }

    /** Parsed specs by check; bounded (cleared when full: specs are cheap to parse again). */
    private final Map<Check, Spec> specs = new ConcurrentHashMap<>();
    private static final int MAX_SPECS = 4096;

    private Spec spec(Check check) {
        Spec s = specs.get(check);
        if (s == null) {
            s = parse(check);
            if (specs.size() >= MAX_SPECS) {
                specs.clear();
            }
            specs.put(check, s);
        }
        return s;
    }

    private static Spec parse(Check check) {
        DnsParams p = check.getDns();
        Family family = check.getFamily();
        // --- what to ask
        Name qname;
        try {
            String t = check.getTarget().trim();
            qname = Name.fromString(t.endsWith(".") ? t : t + ".");
        } catch (TextParseException e) {
            return Spec.refused(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "target \"" + check.getTarget() + "\" is not a DNS name: " + e.getMessage()));
        }
        String qtypeText = p.getQtype().isEmpty() ? "A" : p.getQtype().toUpperCase(Locale.ROOT);
        int qtype = Type.value(qtypeText);
        if (qtype < 0) {
            return Spec.refused(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "dns.type \"" + qtypeText + "\" is not a record type"));
        }
        Pattern regex = null;
        if (!p.getExpectRegex().isEmpty()) {
            try {
                regex = Pattern.compile(p.getExpectRegex());
            } catch (PatternSyntaxException e) {
                return Spec.refused(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                        "dns.expect-regex does not compile: " + e.getDescription()));
            }
        }
        List<InetAddress> expected = new ArrayList<>();
        for (String e : p.getExpectAddressesList()) {
            try {
                expected.add(DnsResolvConf.literal(e));
            } catch (IllegalArgumentException bad) {
                return Spec.refused(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                        "dns.expect-addresses \"" + e + "\" is not an IP address"));
            }
        }
        // --- whom to ask, when the check names a resolver
        InetSocketAddress server = null;
        if (!p.getResolver().isEmpty()) {
            HostPort hp = parseResolver(p.getResolver().trim(), p.getPort() == 0 ? 53 : p.getPort());
            if (hp == null || !Hosts.isIpLiteral(hp.host()) || hp.port() < 1 || hp.port() > 65535) {
                return Spec.refused(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                        "dns.resolver \"" + p.getResolver() + "\" is not an IP address or IP:port"));
            }
            InetAddress a = DnsResolvConf.literal(hp.host());
            if (!fits(a, family)) {
                return Spec.refused(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                        "dns.resolver " + hp.host() + " is an " + (a instanceof Inet6Address ? "IPv6" : "IPv4")
                                + " address but the check is pinned to " + familyName(family)
                                + " (family pins the path to the resolver; use a resolver of that family)"));
            }
            server = new InetSocketAddress(a, hp.port());
        }
        return new Spec(qname, DnsAnswers.text(qname), qtype, Type.string(qtype), regex, server,
                List.copyOf(p.getExpectAddressesList()), List.copyOf(expected), null);
    }

    private CompletionStage<ProbeResult> runChecked(Check check, long deadline) {
        DnsParams p = check.getDns();
        long start = System.nanoTime();
        Family family = check.getFamily();
        Spec spec = spec(check);
        if (spec.refusal() != null) {
            return done(spec.refusal());
        }

        // --- whom to ask
        InetSocketAddress server = spec.server();
        if (server == null) {
            Optional<InetSocketAddress> s = systemResolvers.get().stream().filter(a -> fits(a.getAddress(), family)).findFirst();
            if (s.isEmpty()) {
                return done(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.UNSUPPORTED,
                        "resolv.conf lists no " + familyName(family) + " nameserver for a check pinned to "
                                + familyName(family)));
            }
            server = s.get();
            if (p.getPort() != 0) {
                server = new InetSocketAddress(server.getAddress(), p.getPort());
            }
        }
        // deniedResolver, not denied: the system's own stub (127.0.0.53 from resolv.conf) must stay
        // askable while the policy denies loopback for every other destination.
        Optional<String> denied = env.policy().deniedResolver(server.getAddress());
        if (denied.isPresent()) {
            return done(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.POLICY_DENIED,
                    "resolver " + DnsTransport.hostPort(server) + " denied by policy: " + denied.get()));
        }

        Name qname = spec.qname();
        int qtype = spec.qtype();
        boolean rd = p.getRecursionDesired();
        boolean tcp = "tcp".equalsIgnoreCase(p.getTransport());
        Run run = new Run(p, spec, server, DnsTransport.hostPort(server), start, deadline);
        InetSocketAddress srv = server;
        if (tcp) {
            return transport.query(server, query(qname, qtype, rd), DnsTransport.Protocol.TCP, deadline, false)
                    .thenApply(o -> run.judge(o, DnsTransport.Protocol.TCP, false));
        }
        return transport.query(server, query(qname, qtype, rd), DnsTransport.Protocol.UDP, deadline, true)
                .thenCompose(o -> {
                    if (o instanceof DnsTransport.Answered a && a.response().getHeader().getFlag(Flags.TC)) {
                        return transport.query(srv, query(qname, qtype, rd), DnsTransport.Protocol.TCP, deadline, false)
                                .thenApply(t -> run.judge(t, DnsTransport.Protocol.TCP, true));
                    }
                    return CompletableFuture.completedFuture(run.judge(o, DnsTransport.Protocol.UDP, false));
                });
    }

    private static Message query(Name qname, int qtype, boolean recursionDesired) {
        return DnsTransport.newQuery(qname, qtype, recursionDesired);
    }

    /** One run's context, judging the final outcome. */
    private record Run(DnsParams p, Spec spec, InetSocketAddress server, String resolver, long start, long deadline) {

        ProbeResult judge(DnsTransport.Outcome o, DnsTransport.Protocol via, boolean afterTruncation) {
            long totalUs = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
            Name qname = spec.qname();
            int qtype = spec.qtype();
            Pattern regex = spec.regex();
            Family used = server.getAddress() instanceof Inet6Address ? Family.FAMILY_IPV6 : Family.FAMILY_IPV4;
            Map<String, String> attrs = new LinkedHashMap<>();
            attrs.put("resolver", resolver);
            attrs.put("transport", via.wireName());
            String ask = spec.qnameText() + " " + spec.qtypeText() + " via " + resolver + " over " + via.wireName();

            if (o instanceof DnsTransport.Failed f) {
                PhaseTimings t = new PhaseTimings(0, us(f.connectNanos()), 0, 0, totalUs);
                if (afterTruncation) {
                    return ProbeResult.fail(FailureCode.DNS_TRUNCATED_TCP_FAILED, ask
                            + ": the UDP answer was truncated and the TCP retry failed: "
                            + (f.timedOut() ? "no answer (timeout)" : f.detail()), t, resolver, used, attrs);
                }
                if (f.timedOut()) {
                    long ms = TimeUnit.NANOSECONDS.toMillis(deadline - start);
                    String how = via == DnsTransport.Protocol.UDP ? " (sent twice)"
                            : f.connectNanos() == 0 ? " (tcp connect did not complete)" : " (connected over tcp, no answer)";
                    return ProbeResult.fail(FailureCode.DNS_TIMEOUT, ask + ": no answer within " + ms + " ms" + how,
                            t, resolver, used, attrs);
                }
                return ProbeResult.fail(f.code(), ask + ": " + f.detail(), t, resolver, used, attrs);
            }

            DnsTransport.Answered a = (DnsTransport.Answered) o;
            Message m = a.response();
            PhaseTimings t = new PhaseTimings(0, us(a.connectNanos()), 0, 0, totalUs);
            int rcode = m.getRcode();
            String rcodeName = rcodeName(rcode);
            attrs.put("rcode", rcodeName);
            DnsAnswers.Chain chain = DnsAnswers.follow(m, qname, qtype);
            List<Record> answerSection = m.getSection(Section.ANSWER);
            if (!answerSection.isEmpty()) {
                long ttlMin = Long.MAX_VALUE;
                for (Record r : answerSection) {
                    ttlMin = Math.min(ttlMin, r.getTTL());
                }
                attrs.put("ttl_min", Long.toString(ttlMin));
            }
            if (!chain.records().isEmpty()) {
                StringBuilder answers = new StringBuilder();
                for (Record r : chain.records()) {
                    answers.append(answers.length() == 0 ? "" : ",").append(DnsAnswers.rdata(r));
                }
                attrs.put("answers", answers.toString());
            }
            if (chain.names().size() > 1) {
                attrs.put("chain", chain.names().stream().map(DnsAnswers::text).collect(Collectors.joining(",")));
            }
            String summary = ask + ": " + rcodeName + (attrs.containsKey("answers") ? " " + attrs.get("answers") : "")
                    + (afterTruncation ? " (truncated over udp, retried over tcp)" : "");

            String expectRcode = p.getExpectRcode();
            if (!expectRcode.isEmpty() && !expectRcode.equalsIgnoreCase(rcodeName)) {
                FailureCode code = rcode == Rcode.NOERROR ? FailureCode.DNS_UNEXPECTED_ANSWER : codeOf(rcode);
                return ProbeResult.fail(code, ask + ": expected " + expectRcode + ", got " + rcodeName
                        + (attrs.containsKey("answers") ? " " + attrs.get("answers") : ""), t, resolver, used, attrs);
            }
            if (rcode != Rcode.NOERROR) {
                if (!expectRcode.isEmpty()) {
                    return ProbeResult.ok(summary + " (as expected)", t, resolver, used, attrs);
                }
                return ProbeResult.fail(codeOf(rcode), ask + ": " + rcodeName, t, resolver, used, attrs);
            }
            boolean expectations = !spec.expected().isEmpty() || regex != null;
            if (chain.records().isEmpty()) {
                if (!expectRcode.isEmpty() && !expectations) {
                    return ProbeResult.ok(summary + " (as expected)", t, resolver, used, attrs);
                }
                // a regex may still judge a CNAME-only answer; addresses cannot be there
                boolean regexOnly = regex != null && spec.expected().isEmpty() && !answerSection.isEmpty();
                if (!regexOnly) {
                    return ProbeResult.fail(FailureCode.DNS_NODATA, ask + ": NOERROR but no " + spec.qtypeText()
                            + " records" + (chain.names().size() > 1 ? " at the end of " + attrs.get("chain") : "")
                            + " (NODATA)", t, resolver, used, attrs);
                }
            }
            if (!spec.expected().isEmpty()) {
                // Compared as rdata bytes: ARecord.getAddress() builds an InetAddress named after
                // the owner (a Name.toString per record), which showed in the profile.
                List<byte[]> got = new ArrayList<>();
                for (Record r : chain.records()) {
                    if (r instanceof ARecord || r instanceof AAAARecord) {
                        got.add(unmapped(r.rdataToWireCanonical()));
                    }
                }
                List<String> missing = new ArrayList<>();
                for (int i = 0; i < spec.expected().size(); i++) {
                    byte[] want = spec.expected().get(i).getAddress();
                    if (got.stream().noneMatch(g -> Arrays.equals(g, want))) {
                        missing.add(spec.expectedText().get(i));
                    }
                }
                if (!missing.isEmpty()) {
                    return ProbeResult.fail(FailureCode.DNS_UNEXPECTED_ANSWER, ask + ": expected "
                            + String.join(", ", missing) + " in the answer, got "
                            + attrs.getOrDefault("answers", "no addresses"), t, resolver, used, attrs);
                }
            }
            if (regex != null) {
                String text = answerSection.stream().map(Record::toString).collect(Collectors.joining("\n"));
                if (!regex.matcher(text).find()) {
                    return ProbeResult.fail(FailureCode.DNS_UNEXPECTED_ANSWER, ask + ": answer does not match /"
                            + regex.pattern() + "/: " + (text.isEmpty() ? "(empty)" : text.replace('\n', ' ').replace('\t', ' ')),
                            t, resolver, used, attrs);
                }
            }
            return ProbeResult.ok(summary, t, resolver, used, attrs);
        }
    }

    /**
     * IP, IP:port, [IPv6] or [IPv6]:port. {@link HostPort#parse} alone takes "127.0.0.1:5353" for
     * an IPv6 literal (its pattern allows dots and colons), so v4:port is split here first.
     */
    static HostPort parseResolver(String text, int defaultPort) {
        int colon = text.indexOf(':');
        if (colon > 0 && colon == text.lastIndexOf(':') && Hosts.isIpv4Literal(text.substring(0, colon))) {
            try {
                return new HostPort(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return HostPort.parse(text, defaultPort);
    }

    /** An IPv4-mapped IPv6 address as its 4 IPv4 bytes, as InetAddress.getByAddress reads it. */
    private static byte[] unmapped(byte[] a) {
        if (a.length != 16) {
            return a;
        }
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return a;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff ? Arrays.copyOfRange(a, 12, 16) : a;
    }

    /** Rcode names for 0-15, looked up once (Rcode.string goes through a boxed map per call). */
    private static final String[] RCODE_NAMES = java.util.stream.IntStream.range(0, 16)
            .mapToObj(Rcode::string).toArray(String[]::new);

    private static String rcodeName(int rcode) {
        return rcode >= 0 && rcode < RCODE_NAMES.length ? RCODE_NAMES[rcode] : Rcode.string(rcode);
    }

    static FailureCode codeOf(int rcode) {
        return switch (rcode) {
            case Rcode.NXDOMAIN -> FailureCode.DNS_NXDOMAIN;
            case Rcode.REFUSED -> FailureCode.DNS_REFUSED;
            default -> FailureCode.DNS_SERVFAIL; // SERVFAIL, and FORMERR/NOTIMP: the resolver could not answer
        };
    }

    private static long us(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos);
    }

    private static boolean fits(InetAddress a, Family family) {
        return switch (family) {
            case FAMILY_IPV4 -> !(a instanceof Inet6Address);
            case FAMILY_IPV6 -> a instanceof Inet6Address;
            default -> true;
        };
    }

    private static String familyName(Family f) {
        return f == Family.FAMILY_IPV6 ? "ipv6" : f == Family.FAMILY_IPV4 ? "ipv4" : "any";
    }

    private static CompletionStage<ProbeResult> done(ProbeResult r) {
        return CompletableFuture.completedFuture(r);
    }
}
