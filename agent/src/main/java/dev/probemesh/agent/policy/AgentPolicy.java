package dev.probemesh.agent.policy;

import dev.probemesh.common.check.CheckKind;
import dev.probemesh.proto.v1.Check;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The agent's local safety policy, which the coordinator cannot override: which probe kinds it
 * runs, which destinations it refuses (cloud metadata, link-local, loopback, "this network" by
 * default, checked through every IPv6 form that embeds an IPv4 address and every inet_aton
 * spelling of an IPv4 literal), an allow list that re-opens ranges (the lab's documentation
 * ranges; 127.0.0.0/8 for loopback tests), the system resolvers that DNS probes may always
 * query, and the rate ceilings. See {@code deploy/agent-policy.example.yaml} for the file format.
 *
 * <p>A destination is denied when it, or an IPv4 address embedded in it, falls in a deny range
 * and in no allow range; allow always wins, so a broad allow re-opens everything under it.
 */
public final class AgentPolicy implements DestinationPolicy {

    /** The built-in denials, kept unless the file says {@code default_deny: false}. */
    public static final List<Cidr> DEFAULT_DENY = List.of(
            Cidr.parse("169.254.0.0/16", "link-local, cloud metadata"),
            Cidr.parse("fd00:ec2::254/128", "cloud metadata over IPv6"),
            Cidr.parse("fe80::/10", "IPv6 link-local"),
            Cidr.parse("127.0.0.0/8", "loopback"),
            Cidr.parse("::1/128", "IPv6 loopback"),
            Cidr.parse("0.0.0.0/8", "this network"),
            Cidr.parse("::/128", "unspecified address"));

    public static final RateLimiter.Rate DEFAULT_PER_TARGET = new RateLimiter.Rate(1, 5);
    public static final RateLimiter.Rate DEFAULT_GLOBAL = new RateLimiter.Rate(200, 200);
    public static final Path RESOLV_CONF = Path.of("/etc/resolv.conf");

    private final Set<CheckKind> kinds;
    private final List<Cidr> deny;
    private final List<Cidr> allow;
    private final Set<InetAddress> systemResolvers;
    private final RateLimiter.Rate perTarget;
    private final RateLimiter.Rate global;

    public AgentPolicy(Set<CheckKind> kinds, List<Cidr> deny, List<Cidr> allow, Set<InetAddress> systemResolvers,
            RateLimiter.Rate perTarget, RateLimiter.Rate global) {
        this.kinds = kinds.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(kinds));
        this.deny = List.copyOf(deny);
        this.allow = List.copyOf(allow);
        this.systemResolvers = Set.copyOf(systemResolvers);
        this.perTarget = Objects.requireNonNull(perTarget, "perTarget");
        this.global = Objects.requireNonNull(global, "global");
    }

    /** The built-in safe defaults: every kind, the default denials, resolvers from /etc/resolv.conf. */
    public static AgentPolicy defaults() {
        return new AgentPolicy(EnumSet.allOf(CheckKind.class), DEFAULT_DENY, List.of(), resolvConf(RESOLV_CONF),
                DEFAULT_PER_TARGET, DEFAULT_GLOBAL);
    }

    /** Loads a policy file; system resolvers come from /etc/resolv.conf unless the file lists them. */
    public static AgentPolicy load(Path file) throws PolicyException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PolicyException("cannot read policy file " + file + ": " + e.getMessage(), e);
        }
        return parse(text, resolvConf(RESOLV_CONF));
    }

    /**
     * Parses policy YAML. {@code defaultResolvers} are used when the file has no
     * {@code system_resolvers} list.
     *
     * @throws PolicyException naming the field and the fix
     */
    public static AgentPolicy parse(String yaml, Set<InetAddress> defaultResolvers) throws PolicyException {
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        } catch (RuntimeException e) {
            throw new PolicyException("policy file is not valid YAML: " + e.getMessage(), e);
        }
        Map<?, ?> m = root == null ? Map.of() : root instanceof Map<?, ?> map ? map : null;
        if (m == null) {
            throw new PolicyException("policy file must be a YAML mapping (kinds:, deny:, allow:, rate:, ...)");
        }
        Set<String> known = Set.of("kinds", "deny", "allow", "default_deny", "system_resolvers", "rate");
        for (Object k : m.keySet()) {
            if (!known.contains(String.valueOf(k))) {
                throw new PolicyException("unknown policy field \"" + k + "\" (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
        Set<CheckKind> kinds = EnumSet.allOf(CheckKind.class);
        if (m.get("kinds") != null) {
            kinds = EnumSet.noneOf(CheckKind.class);
            for (Object k : list(m.get("kinds"), "kinds")) {
                String name = String.valueOf(k).trim();
                kinds.add(CheckKind.fromWire(name).orElseThrow(() -> new PolicyException(
                        "kinds: \"" + name + "\" is not a probe kind (use " + CheckKind.allWireNames() + ")")));
            }
        }
        List<Cidr> deny = new ArrayList<>();
        Object dd = m.get("default_deny");
        if (dd != null && !(dd instanceof Boolean)) {
            throw new PolicyException("default_deny: must be true or false");
        }
        if (!Boolean.FALSE.equals(dd)) {
            deny.addAll(DEFAULT_DENY);
        }
        deny.addAll(ranges(m.get("deny"), "deny"));
        List<Cidr> allow = ranges(m.get("allow"), "allow");
        Set<InetAddress> resolvers = new LinkedHashSet<>(defaultResolvers);
        if (m.get("system_resolvers") != null) {
            resolvers.clear();
            for (Object r : list(m.get("system_resolvers"), "system_resolvers")) {
                resolvers.add(AddressLiterals.parse(String.valueOf(r)).orElseThrow(() -> new PolicyException(
                        "system_resolvers: \"" + r + "\" is not an IP address")));
            }
        }
        RateLimiter.Rate perTarget = DEFAULT_PER_TARGET;
        RateLimiter.Rate global = DEFAULT_GLOBAL;
        if (m.get("rate") != null) {
            if (!(m.get("rate") instanceof Map<?, ?> rate)) {
                throw new PolicyException("rate: must be a mapping with per_target: and global:");
            }
            for (Object k : rate.keySet()) {
                if (!Set.of("per_target", "global").contains(String.valueOf(k))) {
                    throw new PolicyException("rate: unknown field \"" + k + "\" (known: per_target, global)");
                }
            }
            perTarget = rate(rate.get("per_target"), "rate.per_target", DEFAULT_PER_TARGET);
            global = rate(rate.get("global"), "rate.global", DEFAULT_GLOBAL);
        }
        return new AgentPolicy(kinds, deny, allow, resolvers, perTarget, global);
    }

    private static List<?> list(Object o, String field) throws PolicyException {
        if (o instanceof List<?> l) {
            return l;
        }
        throw new PolicyException(field + ": must be a list");
    }

    private static List<Cidr> ranges(Object o, String field) throws PolicyException {
        List<Cidr> out = new ArrayList<>();
        if (o == null) {
            return out;
        }
        List<?> l = list(o, field);
        for (int i = 0; i < l.size(); i++) {
            Object e = l.get(i);
            String where = field + "[" + i + "]";
            String cidr;
            String reason = field.equals("allow") ? "allowed by policy" : "denied by policy";
            if (e instanceof Map<?, ?> em) {
                cidr = em.get("cidr") == null ? null : String.valueOf(em.get("cidr"));
                reason = em.get("reason") == null ? reason : String.valueOf(em.get("reason"));
                if (cidr == null) {
                    throw new PolicyException(where + ": needs cidr: (e.g. cidr: 10.0.0.0/8)");
                }
            } else if (e instanceof String s) {
                cidr = s;
            } else {
                throw new PolicyException(where + ": write a range (10.0.0.0/8) or {cidr: ..., reason: ...}");
            }
            try {
                out.add(Cidr.parse(cidr, reason));
            } catch (IllegalArgumentException ex) {
                throw new PolicyException(where + ": " + ex.getMessage(), ex);
            }
        }
        return out;
    }

    private static RateLimiter.Rate rate(Object o, String field, RateLimiter.Rate dflt) throws PolicyException {
        if (o == null) {
            return dflt;
        }
        if (!(o instanceof Map<?, ?> m)) {
            throw new PolicyException(field + ": must be a mapping like {per_second: 1, burst: 5}");
        }
        Object ps = m.get("per_second");
        Object b = m.get("burst");
        try {
            double perSecond = ps == null ? dflt.perSecond() : ((Number) ps).doubleValue();
            int burst = b == null ? dflt.burst() : ((Number) b).intValue();
            return new RateLimiter.Rate(perSecond, burst);
        } catch (ClassCastException | IllegalArgumentException e) {
            throw new PolicyException(field + ": per_second must be a number > 0 and burst a whole number >= 1", e);
        }
    }

    /** The nameserver addresses of a resolv.conf; empty when it cannot be read. */
    public static Set<InetAddress> resolvConf(Path file) {
        Set<InetAddress> out = new LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 2 && f[0].equals("nameserver")) {
                    AddressLiterals.parse(f[1]).ifPresent(out::add);
                }
            }
        } catch (IOException e) {
            // No resolv.conf: no system resolver is special.
        }
        return out;
    }

    @Override
    public Optional<String> denied(InetAddress address) {
        List<InetAddress> candidates = new ArrayList<>();
        candidates.add(address);
        candidates.addAll(AddressLiterals.embeddedIpv4(address));
        for (InetAddress a : candidates) {
            if (allow.stream().anyMatch(c -> c.contains(a))) {
                continue;
            }
            for (Cidr c : deny) {
                if (c.contains(a)) {
                    String via = a == address ? "" : " (embedded IPv4 " + a.getHostAddress() + ")";
                    return Optional.of("denied by rule " + c + via);
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public Optional<String> deniedResolver(InetAddress address) {
        return systemResolvers.contains(address) ? Optional.empty() : denied(address);
    }

    /**
     * Checks a target's host text before any resolution: an address literal in any spelling
     * ({@code 2852039166}, {@code 0xA9FEA9FE}, {@code [::ffff:a9fe:a9fe]}) is normalised and
     * checked; names are empty here (their addresses are checked after resolution).
     */
    public Optional<String> deniedTarget(String host) {
        return AddressLiterals.parse(host).flatMap(a -> denied(a).map(r -> "\"" + host + "\" is " + a.getHostAddress()
                + ", " + r));
    }

    public boolean kindAllowed(CheckKind kind) {
        return kinds.contains(kind);
    }

    public Set<CheckKind> allowedKinds() {
        return kinds;
    }

    /** The wire names of the allowed kinds, for the agent's capabilities. */
    public List<String> allowedKindNames() {
        return kinds.stream().sorted().map(CheckKind::wireName).toList();
    }

    /** A fresh limiter with this policy's ceilings (one per agent). */
    public RateLimiter newRateLimiter() {
        return new RateLimiter(perTarget, global);
    }

    /**
     * The local gate before a run: kind allowed, every address literal the check names allowed,
     * then a token from the rate ceilings (taken last, so refused runs cost none). Empty = run.
     * The rate key is the destination host ({@code dns.resolver} for dns checks that name one).
     */
    public Optional<String> refuse(Check check, RateLimiter limiter, long nowNanos) {
        Optional<CheckKind> kind = CheckKind.fromWire(check.getKind());
        if (kind.isEmpty()) {
            return Optional.of("unknown probe kind \"" + check.getKind() + "\"");
        }
        if (!kindAllowed(kind.get())) {
            return Optional.of("agent policy does not allow " + check.getKind() + " probes (allowed: "
                    + String.join(", ", allowedKindNames()) + ")");
        }
        for (String host : literalsOf(check, kind.get())) {
            Optional<String> d = deniedTarget(host);
            if (d.isPresent()) {
                return Optional.of("agent policy refuses " + d.get());
            }
        }
        if (kind.get() == CheckKind.DNS && !check.getDns().getResolver().isEmpty()) {
            String r = hostOf(check.getDns().getResolver());
            Optional<InetAddress> a = AddressLiterals.parse(r);
            if (a.isPresent() && deniedResolver(a.get()).isPresent()) {
                return Optional.of("agent policy refuses resolver " + r + ", " + deniedResolver(a.get()).get());
            }
        }
        return limiter.acquire(rateKey(check, kind.get()), nowNanos);
    }

    /** Every host text in a check that the agent might dial without resolving a name first. */
    static List<String> literalsOf(Check c, CheckKind kind) {
        List<String> out = new ArrayList<>();
        switch (kind) {
            case HTTP, HTTPS -> {
                out.add(urlHost(c.getTarget()));
                if (!c.getHttp().getConnectTo().isEmpty()) {
                    out.add(hostOf(c.getHttp().getConnectTo()));
                }
            }
            case TLS -> {
                out.add(hostOf(c.getTarget()));
                if (!c.getTls().getConnectTo().isEmpty()) {
                    out.add(hostOf(c.getTls().getConnectTo()));
                }
            }
            case DNS_TRACE -> c.getDnsTrace().getRootServersList().forEach(r -> out.add(hostOf(r)));
            case DNS -> {
                // The target is the name queried, not a destination; the resolver is checked separately.
            }
            default -> out.add(hostOf(c.getTarget()));
        }
        return out;
    }

    static String rateKey(Check c, CheckKind kind) {
        if (kind == CheckKind.DNS && !c.getDns().getResolver().isEmpty()) {
            return "dns@" + hostOf(c.getDns().getResolver());
        }
        String host = kind == CheckKind.HTTP || kind == CheckKind.HTTPS ? urlHost(c.getTarget()) : hostOf(c.getTarget());
        return host.toLowerCase(Locale.ROOT);
    }

    /** The host of {@code host}, {@code host:port}, {@code [v6]:port} or a bare IPv6 literal. */
    static String hostOf(String text) {
        String t = text.trim();
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            return close < 0 ? t : t.substring(1, close);
        }
        int first = t.indexOf(':');
        return first >= 0 && first == t.lastIndexOf(':') ? t.substring(0, first) : t;
    }

    static String urlHost(String url) {
        try {
            String h = new URI(url.trim()).getHost();
            if (h != null) {
                return h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
            }
        } catch (URISyntaxException e) {
            // fall through: not a URL we can read; use the text itself
        }
        String t = url.replaceFirst("^[a-zA-Z][a-zA-Z0-9+.-]*://", "");
        int slash = t.indexOf('/');
        return hostOf(slash >= 0 ? t.substring(0, slash) : t);
    }

    /** One line for the agent's start-up log. */
    public String describe() {
        return "kinds " + String.join(",", allowedKindNames()) + "; deny "
                + deny.stream().map(AgentPolicy::rangeOf).collect(Collectors.joining(" "))
                + (allow.isEmpty() ? "" : "; allow " + allow.stream().map(AgentPolicy::rangeOf).collect(Collectors.joining(" ")))
                + "; system resolvers " + systemResolvers.stream().map(InetAddress::getHostAddress).collect(Collectors.joining(" "))
                + "; rate per target " + perTarget + ", global " + global;
    }

    private static String rangeOf(Cidr c) {
        return dev.probemesh.agent.probe.net.Addresses.text(c.network()) + "/" + c.prefix();
    }

    public List<Cidr> deny() {
        return deny;
    }

    public List<Cidr> allow() {
        return allow;
    }

    public Set<InetAddress> systemResolvers() {
        return systemResolvers;
    }

    public RateLimiter.Rate perTarget() {
        return perTarget;
    }

    public RateLimiter.Rate global() {
        return global;
    }
}
