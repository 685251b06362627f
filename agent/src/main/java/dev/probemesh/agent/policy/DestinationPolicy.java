package dev.probemesh.agent.policy;

import java.net.InetAddress;
import java.util.Optional;

/**
 * The agent's local rule for where probes may go; the coordinator cannot override it. Checked
 * after DNS resolution and again on every connect (redirects included).
 */
public interface DestinationPolicy {

    /** Empty when allowed; otherwise the rule that denies it, e.g. {@code deny 169.254.0.0/16 (link-local, cloud metadata)}. */
    Optional<String> denied(InetAddress address);

    /**
     * As {@link #denied} for the address of a DNS server a probe is about to query on port 53.
     * The agent policy allows the system's own resolvers here (from /etc/resolv.conf, e.g.
     * 127.0.0.53) even though loopback is denied for everything else.
     */
    default Optional<String> deniedResolver(InetAddress address) {
        return denied(address);
    }

    /** A policy that allows everything (tests of a single probe only). */
    static DestinationPolicy allowAll() {
        return a -> Optional.empty();
    }
}
