package dev.probemesh.agent.testing;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.net.AddressResolver;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.HostCapabilities;
import dev.probemesh.agent.probe.net.ResolveException;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.proto.v1.Family;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The environment the http and tls probe tests run in: a resolver that knows only the test's own
 * names (each to 127.0.0.1 and/or ::1, in the order given), a destination policy lambda, the
 * trusted test CA and a family dialer for a host that has both families.
 */
public final class TestTlsEnv implements AutoCloseable {
    public static final InetAddress V4 = literal("127.0.0.1");
    public static final InetAddress V6 = literal("::1");

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-probe-scheduler");
        t.setDaemon(true);
        return t;
    });
    private final ProbeEnv env;
    private final FamilyDialer families;

    public TestTlsEnv(Map<String, List<InetAddress>> names, DestinationPolicy policy, List<X509Certificate> extraTrust) {
        AddressResolver resolver = (host, family, deadline) -> {
            List<InetAddress> all = names.get(host);
            if (all == null) {
                return CompletableFuture.failedFuture(new ResolveException(FailureCode.DNS_NXDOMAIN, host + " does not exist"));
            }
            List<InetAddress> kept = all.stream().filter(a -> switch (family) {
                case FAMILY_IPV4 -> a instanceof Inet4Address;
                case FAMILY_IPV6 -> a instanceof Inet6Address;
                default -> true;
            }).toList();
            return CompletableFuture.completedFuture(kept);
        };
        this.env = new ProbeEnv(scheduler, resolver, policy, extraTrust);
        this.families = new FamilyDialer(policy, () -> new HostCapabilities(true, true, false, "", Optional.empty()));
    }

    public ProbeEnv env() {
        return env;
    }

    public FamilyDialer families() {
        return families;
    }

    /** A policy that denies exactly {@code denied}, naming a rule as the real policy does. */
    public static DestinationPolicy denying(InetAddress denied) {
        return a -> a.equals(denied) ? Optional.of("deny " + denied.getHostAddress() + "/32 (test rule)") : Optional.empty();
    }

    public static Family any() {
        return Family.FAMILY_ANY;
    }

    private static InetAddress literal(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
