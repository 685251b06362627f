package dev.probemesh.agent.probe.trace;

import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.DnsAnswers;
import dev.probemesh.agent.probe.net.DnsResolvConf;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Kind {@code dns-trace}: iterative resolution like {@code dig +trace}, to say <em>which</em>
 * zone's servers fail. From the root servers (the check's, or the system resolver's answer for
 * ". NS") it asks each zone's authorities directly (RD=0, UDP, TCP only after a truncated
 * answer), follows referrals (NS + glue; glueless NS names are traced themselves from the root,
 * depth-bounded) and CNAMEs across zones (each new name traced from the root) to the final
 * A/AAAA records.
 *
 * <p>Each server of a zone is tried in turn with {@code min(time left, 1 s)}; REFUSED/SERVFAIL
 * (a lame server) moves to the next. When no server of a zone gives an answer: FAIL
 * DNS_AUTHORITY_UNREACHABLE with {@code zone} and a detail like
 * {@code "ddns.test: no answer from 198.51.100.20, 2001:db8:53::20 (timeout)"}; NXDOMAIN or NODATA
 * from an authority names its zone too. When even the root servers (or the system resolver asked
 * for them) do not answer, DNS as a whole is unreachable from this host: DNS_TIMEOUT without a
 * zone, as a site whose port 53 is blocked looks. Every query refused by this host's firewall
 * (EPERM) is LOCAL_FIREWALL. At most {@value #MAX_QUERIES} queries per run.
 *
 * <p>Attributes (a contract with the correlation engine, keep the names): {@code chain} (names
 * followed, comma-separated, no trailing dots), {@code zones} (zones whose authorities were
 * asked for the names of the chain, in order, root left out; zones visited only to find a
 * glueless name server's address are not listed), {@code answers}, {@code zone} on failures
 * (the zone to blame), and {@code path}
 * (zone@server that answered, per step). Family IPV4/IPV6 restricts which server addresses are
 * asked.
 */
public final class DnsTraceProbe implements Probe {
    static final int MAX_QUERIES = 40;
    private static final long PER_SERVER_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int MAX_GLUELESS_DEPTH = 3;
    private static final int MAX_CNAME_HOPS = 8;

    private final ProbeEnv env;
    private final DnsTransport transport;
    private final Supplier<List<InetSocketAddress>> systemResolvers;
    private final int port;

    /**
     * @param env the agent's environment: its policy is asked about every server, its resolver
     *     finds the root servers' addresses when the system resolver gives no glue for ". NS"
     * @param transport the agent's shared DNS transport
     * @param systemResolvers asked for ". NS" when a check names no root servers
     * @param port the DNS port of every authority (53; tests run a whole hierarchy on another)
     */
    public DnsTraceProbe(ProbeEnv env, DnsTransport transport, Supplier<List<InetSocketAddress>> systemResolvers, int port) {
        this.env = Objects.requireNonNull(env, "env");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.systemResolvers = Objects.requireNonNull(systemResolvers, "systemResolvers");
        this.port = port;
    }

    /** Port 53 and /etc/resolv.conf's servers. */
    public static DnsTraceProbe withSystemResolver(ProbeEnv env, DnsTransport transport) {
        return new DnsTraceProbe(env, transport, new DnsResolvConf(DnsResolvConf.SYSTEM)::servers, 53);
    }

    @Override
    public CompletionStage<ProbeResult> run(Check check, long deadlineNanos) {
        Name qname;
        try {
            String t = check.getTarget().trim();
            qname = Name.fromString(t.endsWith(".") ? t : t + ".");
        } catch (TextParseException e) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "target \"" + check.getTarget() + "\" is not a DNS name: " + e.getMessage()));
        }
        String qt = check.getDnsTrace().getQtype().isEmpty() ? "A" : check.getDnsTrace().getQtype().toUpperCase(Locale.ROOT);
        int qtype = qt.equals("AAAA") ? Type.AAAA : Type.A;
        Run run = new Run(qname, qtype, check.getFamily(), System.nanoTime(), deadlineNanos);
        try {
            return run.start(check.getDnsTrace().getRootServersList())
                    .exceptionally(e -> ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                            "dns-trace failed unexpectedly: " + e));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "dns-trace failed unexpectedly: " + e));
        }
    }

    /** How one resolution ended. */
    private sealed interface Step permits Found, Stopped {
    }

    /** Records of the asked type, and the server that gave them. */
    private record Found(List<Record> records, InetSocketAddress server) implements Step {
    }

    /** The trace stopped: code, the zone to blame (may be null) and a detail. */
    private record Stopped(FailureCode code, Name zone, String detail, ProbeStatus status) implements Step {
        Stopped(FailureCode code, Name zone, String detail) {
            this(code, zone, detail, ProbeStatus.FAIL);
        }
    }

    /** A zone's answer: the message and who gave it, or why none of its servers did. */
    private record ZoneReply(Message message, InetSocketAddress server, Misses misses, boolean allDenied) {
    }

    /** Why a zone's servers gave no answer: per server "addr (reason)", and the codes seen. */
    private record Misses(List<String> texts, Set<FailureCode> codes) {
        Misses() {
            this(new ArrayList<>(), java.util.EnumSet.noneOf(FailureCode.class));
        }

        void add(String text, FailureCode code) {
            texts.add(text);
            codes.add(code);
        }
    }

    private static final Name ROOT = Name.root;

    /** One run's state; steps run one after another, so plain fields suffice. */
    private final class Run {
        final Name qname;
        final int qtype;
        final Family family;
        final long start;
        final long deadline;
        final List<Name> chain = new ArrayList<>();
        final Set<String> zones = new LinkedHashSet<>();
        final List<String> path = new ArrayList<>();
        List<InetSocketAddress> roots = List.of();
        Stopped rootProblem;
        int queriesLeft = MAX_QUERIES;

        Run(Name qname, int qtype, Family family, long start, long deadline) {
            this.qname = qname;
            this.qtype = qtype;
            this.family = family;
            this.start = start;
            this.deadline = deadline;
        }

        CompletableFuture<ProbeResult> start(List<String> rootServers) {
            CompletableFuture<List<InetSocketAddress>> rootsFuture;
            if (!rootServers.isEmpty()) {
                List<InetSocketAddress> r = new ArrayList<>();
                for (String s : rootServers) {
                    r.add(new InetSocketAddress(DnsResolvConf.literal(s.trim()), port));
                }
                rootsFuture = CompletableFuture.completedFuture(r);
            } else {
                rootsFuture = systemRoots();
            }
            return rootsFuture.thenCompose(r -> {
                roots = usable(r);
                if (roots.isEmpty() && rootProblem != null) {
                    return CompletableFuture.completedFuture(finish(rootProblem));
                }
                if (roots.isEmpty()) {
                    return CompletableFuture.completedFuture(finish(new Stopped(FailureCode.INTERNAL, null,
                            "no " + familyName() + " root server address to start from (" + (rootServers.isEmpty()
                                    ? "the system resolver's root servers have none" : "dns-trace.roots has none")
                            + ") for a check pinned to " + familyName(), ProbeStatus.ERROR)));
                }
                chain.add(qname);
                return follow(qname, 0).thenApply(this::finish);
            });
        }

        /** Resolves {@code name} from the root, following CNAMEs (the main chain). */
        CompletableFuture<Step> follow(Name name, int hops) {
            return resolve(name, qtype, ROOT, roots, 0, true).thenCompose(step -> {
                if (step instanceof Stopped s && s.code() == null) {
                    // a CNAME: the detail carries the target; trace it from the root
                    Name target = Name.fromConstantString(s.detail());
                    if (hops >= MAX_CNAME_HOPS || chain.contains(target)) {
                        return CompletableFuture.completedFuture(new Stopped(FailureCode.DNS_SERVFAIL, s.zone(),
                                "CNAME chain too long or looping at " + DnsAnswers.text(target)));
                    }
                    chain.add(target);
                    return follow(target, hops + 1);
                }
                return CompletableFuture.completedFuture(step);
            });
        }

        /**
         * One name from {@code zone}'s servers down. Returns Found, a failure, or (for a CNAME in
         * the main chain) a Stopped with a null code and the target name as its detail.
         */
        CompletableFuture<Step> resolve(Name name, int type, Name zone, List<InetSocketAddress> servers, int depth,
                boolean main) {
            if (main && !zone.equals(ROOT)) {
                zones.add(DnsAnswers.text(zone));
            }
            return askZone(zone, servers, name, type, 0, new Misses(), false).thenCompose(reply -> {
                if (reply.message() == null) {
                    return done(unanswered(zone, reply));
                }
                if (main) {
                    path.add(DnsAnswers.text(zone) + "@" + show(reply.server()));
                }
                Message m = reply.message();
                if (m.getRcode() == Rcode.NXDOMAIN) {
                    return done(new Stopped(FailureCode.DNS_NXDOMAIN, zone, DnsAnswers.text(name) + ": NXDOMAIN from "
                            + DnsAnswers.text(zone) + " authority " + show(reply.server())));
                }
                DnsAnswers.Chain c = DnsAnswers.follow(m, name, type);
                if (!c.records().isEmpty()) {
                    if (main) {
                        for (Name n : c.names().subList(1, c.names().size())) {
                            if (!chain.contains(n)) {
                                chain.add(n);
                            }
                        }
                    }
                    return done(new Found(c.records(), reply.server()));
                }
                if (c.dangling()) {
                    if (main) {
                        for (Name n : c.names().subList(1, c.names().size() - 1)) {
                            if (!chain.contains(n)) {
                                chain.add(n);
                            }
                        }
                        return done(new Stopped(null, zone, c.end().toString()));
                    }
                    return depth >= MAX_GLUELESS_DEPTH ? done(new Stopped(FailureCode.DNS_SERVFAIL, zone,
                            "CNAME for a name server name " + DnsAnswers.text(name)))
                            : resolve(c.end(), type, ROOT, roots, depth + 1, false);
                }
                Referral ref = referral(m, name, zone);
                if (ref == null) {
                    return done(new Stopped(FailureCode.DNS_NODATA, zone, DnsAnswers.text(name) + ": no "
                            + Type.string(type) + " records (NODATA) from " + DnsAnswers.text(zone) + " authority "
                            + show(reply.server())));
                }
                if (!ref.addresses().isEmpty()) {
                    return resolve(name, type, ref.zone(), ref.addresses(), depth, main);
                }
                return glueless(ref, depth).thenCompose(addrs -> addrs.isEmpty()
                        ? done(new Stopped(FailureCode.DNS_AUTHORITY_UNREACHABLE, ref.zone(),
                                DnsAnswers.text(ref.zone()) + ": no " + familyName() + " address for its servers "
                                        + ref.nsNames().stream().map(DnsAnswers::text).collect(Collectors.joining(", "))))
                        : resolve(name, type, ref.zone(), addrs, depth, main));
            });
        }

        /**
         * No server of {@code zone} answered. Blame the zone's authority, unless every query was
         * refused by this host's own firewall (a local fault) or the zone is the root: when even
         * the root does not answer, DNS as a whole is unreachable from here (DNS_TIMEOUT, as a
         * blocked site looks), not one zone's authority.
         */
        Stopped unanswered(Name zone, ZoneReply reply) {
            String text = DnsAnswers.text(zone);
            List<String> misses = reply.misses().texts();
            if (reply.allDenied()) {
                return new Stopped(FailureCode.POLICY_DENIED, zone, text + ": every server denied by policy: "
                        + String.join(", ", misses), ProbeStatus.ERROR);
            }
            if (reply.misses().codes().equals(Set.of(FailureCode.LOCAL_FIREWALL))) {
                return new Stopped(FailureCode.LOCAL_FIREWALL, zone, text + ": this host's firewall refused every query to "
                        + summarize(misses));
            }
            if (zone.equals(ROOT)) {
                return new Stopped(FailureCode.DNS_TIMEOUT, null, "no answer from the root servers " + summarize(misses));
            }
            return new Stopped(FailureCode.DNS_AUTHORITY_UNREACHABLE, zone, text + ": no answer from " + summarize(misses));
        }

        /** Addresses of a glueless delegation's servers, each traced from the root (bounded). */
        CompletableFuture<List<InetSocketAddress>> glueless(Referral ref, int depth) {
            if (depth >= MAX_GLUELESS_DEPTH) {
                return CompletableFuture.completedFuture(List.of());
            }
            int type = family == Family.FAMILY_IPV6 ? Type.AAAA : Type.A;
            CompletableFuture<List<InetSocketAddress>> acc = CompletableFuture.completedFuture(new ArrayList<>());
            for (Name ns : ref.nsNames().subList(0, Math.min(2, ref.nsNames().size()))) {
                acc = acc.thenCompose(list -> {
                    if (!list.isEmpty()) {
                        return CompletableFuture.completedFuture(list);
                    }
                    return resolve(ns, type, ROOT, roots, depth + 1, false).thenApply(step -> {
                        if (step instanceof Found f) {
                            for (Record r : f.records()) {
                                InetAddress a = address(r);
                                if (a != null) {
                                    list.add(new InetSocketAddress(a, port));
                                }
                            }
                        }
                        return usable(list);
                    });
                });
            }
            return acc;
        }

        /** Tries the zone's servers in turn until one gives NOERROR or NXDOMAIN. */
        CompletableFuture<ZoneReply> askZone(Name zone, List<InetSocketAddress> servers, Name name, int type, int i,
                Misses failures, boolean anyAllowed) {
            if (i >= servers.size()) {
                return CompletableFuture.completedFuture(new ZoneReply(null, null, failures,
                        !anyAllowed && !failures.texts().isEmpty()));
            }
            InetSocketAddress server = servers.get(i);
            Optional<String> denied = env.policy().denied(server.getAddress());
            if (denied.isPresent()) {
                failures.add(show(server) + " (denied by policy: " + denied.get() + ")", FailureCode.POLICY_DENIED);
                return askZone(zone, servers, name, type, i + 1, failures, anyAllowed);
            }
            long now = System.nanoTime();
            if (deadline - now <= 0 || queriesLeft <= 0) {
                failures.add(show(server) + (queriesLeft <= 0 ? " (query budget spent)" : " (timeout)"), FailureCode.TIMEOUT);
                return askZone(zone, servers, name, type, i + 1, failures, true);
            }
            queriesLeft--;
            long until = now + Math.min(deadline - now, PER_SERVER_NANOS);
            return transport.query(server, query(name, type), DnsTransport.Protocol.UDP, until, false)
                    .thenCompose(o -> o instanceof DnsTransport.Answered a && a.response().getHeader().getFlag(Flags.TC)
                            && queriesLeft-- > 0
                            ? transport.query(server, query(name, type), DnsTransport.Protocol.TCP, until, false)
                            : CompletableFuture.completedFuture(o))
                    .thenCompose(o -> {
                        if (o instanceof DnsTransport.Answered a) {
                            int rcode = a.response().getRcode();
                            if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
                                return CompletableFuture.completedFuture(new ZoneReply(a.response(), server, failures, false));
                            }
                            failures.add(show(server) + " (" + Rcode.string(rcode) + ")", DnsProbeCodes.of(rcode));
                        } else {
                            DnsTransport.Failed f = (DnsTransport.Failed) o;
                            failures.add(show(server) + " (" + (f.timedOut() ? "timeout" : f.code().name()) + ")", f.code());
                        }
                        return askZone(zone, servers, name, type, i + 1, failures, true);
                    });
        }

        /** The system resolver's root servers: ". NS", addresses from its glue or resolved by name. */
        CompletableFuture<List<InetSocketAddress>> systemRoots() {
            List<InetSocketAddress> sys = systemResolvers.get();
            if (sys.isEmpty()) {
                return CompletableFuture.completedFuture(List.of());
            }
            // deniedResolver, not denied: the system's own stub (127.0.0.53 from resolv.conf) stays
            // askable while loopback is denied; the authorities found from here stay under denied().
            Optional<String> denied = env.policy().deniedResolver(sys.get(0).getAddress());
            if (denied.isPresent()) {
                rootProblem = new Stopped(FailureCode.POLICY_DENIED, null, "the system resolver " + show(sys.get(0))
                        + " (asked for the root servers) is denied by policy: " + denied.get(), ProbeStatus.ERROR);
                return CompletableFuture.completedFuture(List.of());
            }
            Message q = DnsTransport.newQuery(ROOT, Type.NS, true);
            queriesLeft--;
            String asked = "asked the system resolver " + show(sys.get(0)) + " for the root servers (\". NS\"): ";
            return transport.query(sys.get(0), q, DnsTransport.Protocol.UDP, deadline, true).thenCompose(o -> {
                if (o instanceof DnsTransport.Failed f) {
                    rootProblem = new Stopped(f.timedOut() ? FailureCode.DNS_TIMEOUT : f.code(), null,
                            asked + (f.timedOut() ? "no answer (timeout)" : f.detail()));
                    return CompletableFuture.completedFuture(List.<InetSocketAddress>of());
                }
                DnsTransport.Answered a = (DnsTransport.Answered) o;
                if (a.response().getRcode() != Rcode.NOERROR) {
                    rootProblem = new Stopped(DnsProbeCodes.of(a.response().getRcode()), null,
                            asked + Rcode.string(a.response().getRcode()));
                    return CompletableFuture.completedFuture(List.<InetSocketAddress>of());
                }
                List<Name> names = new ArrayList<>();
                for (Record r : a.response().getSection(Section.ANSWER)) {
                    if (r instanceof NSRecord ns) {
                        names.add(ns.getTarget());
                    }
                }
                List<InetSocketAddress> glue = glue(a.response(), names);
                if (!glue.isEmpty() || names.isEmpty()) {
                    return CompletableFuture.completedFuture(glue);
                }
                // no glue: ask the agent's resolver for the first few root server names
                CompletableFuture<List<InetSocketAddress>> acc = CompletableFuture.completedFuture(new ArrayList<>());
                for (Name n : names.subList(0, Math.min(3, names.size()))) {
                    acc = acc.thenCompose(list -> env.resolver().resolve(n.toString(), family, deadline)
                            .handle((addrs, e) -> {
                                if (addrs != null) {
                                    addrs.forEach(x -> list.add(new InetSocketAddress(x, port)));
                                }
                                return list;
                            }));
                }
                return acc;
            });
        }

        ProbeResult finish(Step step) {
            long totalUs = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
            Map<String, String> attrs = new LinkedHashMap<>();
            attrs.put("chain", chain.stream().map(DnsAnswers::text).collect(Collectors.joining(",")));
            attrs.put("zones", String.join(",", zones));
            if (!path.isEmpty()) {
                attrs.put("path", String.join(",", path));
            }
            String what = DnsAnswers.text(qname) + " " + Type.string(qtype);
            if (step instanceof Found f) {
                String answers = f.records().stream().map(DnsAnswers::rdata).collect(Collectors.joining(","));
                attrs.put("answers", answers);
                Family used = f.server().getAddress() instanceof Inet6Address ? Family.FAMILY_IPV6 : Family.FAMILY_IPV4;
                return ProbeResult.ok(what + ": " + answers + " via " + String.join(" -> ", path),
                        PhaseTimings.total(totalUs), show(f.server()), used, attrs);
            }
            Stopped s = (Stopped) step;
            if (s.zone() != null) {
                attrs.put("zone", DnsAnswers.text(s.zone()));
            }
            return new ProbeResult(s.status(), s.code(), what + ": " + s.detail(), PhaseTimings.total(totalUs),
                    "", family, attrs);
        }

        List<InetSocketAddress> usable(List<InetSocketAddress> all) {
            return all.stream().filter(a -> switch (family) {
                case FAMILY_IPV4 -> !(a.getAddress() instanceof Inet6Address);
                case FAMILY_IPV6 -> a.getAddress() instanceof Inet6Address;
                default -> true;
            }).distinct().collect(Collectors.toCollection(ArrayList::new));
        }

        Referral referral(Message m, Name name, Name zone) {
            Name child = null;
            List<Name> ns = new ArrayList<>();
            for (Record r : m.getSection(Section.AUTHORITY)) {
                if (r instanceof NSRecord n && name.subdomain(n.getName()) && n.getName().labels() > zone.labels()
                        && (child == null || child.equals(n.getName()))) {
                    child = n.getName();
                    ns.add(n.getTarget());
                }
            }
            if (child == null) {
                return null;
            }
            return new Referral(child, ns, usable(glue(m, ns)));
        }

        List<InetSocketAddress> glue(Message m, List<Name> nsNames) {
            List<InetSocketAddress> v4 = new ArrayList<>();
            List<InetSocketAddress> v6 = new ArrayList<>();
            for (Record r : m.getSection(Section.ADDITIONAL)) {
                InetAddress a = address(r);
                if (a != null && nsNames.contains(r.getName())) {
                    (a instanceof Inet6Address ? v6 : v4).add(new InetSocketAddress(a, port));
                }
            }
            List<InetSocketAddress> all = new ArrayList<>(v4);
            all.addAll(v6);
            return usable(all);
        }

        String familyName() {
            return family == Family.FAMILY_IPV6 ? "IPv6" : family == Family.FAMILY_IPV4 ? "IPv4" : "";
        }

        String show(InetSocketAddress a) {
            return a.getPort() == 53 ? DnsAnswers.address(a.getAddress()) : DnsTransport.hostPort(a);
        }
    }

    /** Rcode to failure code, as the dns probe maps them. */
    private static final class DnsProbeCodes {
        static FailureCode of(int rcode) {
            return switch (rcode) {
                case Rcode.NXDOMAIN -> FailureCode.DNS_NXDOMAIN;
                case Rcode.REFUSED -> FailureCode.DNS_REFUSED;
                default -> FailureCode.DNS_SERVFAIL;
            };
        }
    }

    private record Referral(Name zone, List<Name> nsNames, List<InetSocketAddress> addresses) {
    }

    private static Message query(Name name, int type) {
        return DnsTransport.newQuery(name, type, false); // ask the authority itself, never its recursion
    }

    private static InetAddress address(Record r) {
        if (r instanceof ARecord a) {
            return a.getAddress();
        }
        if (r instanceof AAAARecord a) {
            return a.getAddress();
        }
        return null;
    }

    /** "a, b (timeout)" when every server failed the same way, else "a (timeout), b (REFUSED)". */
    static String summarize(List<String> failures) {
        if (failures.isEmpty()) {
            return "(no servers)";
        }
        Set<String> reasons = new LinkedHashSet<>();
        List<String> servers = new ArrayList<>();
        for (String f : failures) {
            int p = f.indexOf(" (");
            servers.add(p < 0 ? f : f.substring(0, p));
            reasons.add(p < 0 ? "" : f.substring(p));
        }
        if (reasons.size() == 1) {
            return String.join(", ", servers) + reasons.iterator().next();
        }
        return String.join(", ", failures);
    }

    private static CompletableFuture<Step> done(Step s) {
        return CompletableFuture.completedFuture(s);
    }
}
