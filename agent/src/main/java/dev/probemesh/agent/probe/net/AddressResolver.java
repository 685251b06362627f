package dev.probemesh.agent.probe.net;

import dev.probemesh.proto.v1.Family;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Resolves a probe target's name on every run, through the configured or system resolver
 * (dnsjava), never through {@link InetAddress#getByName}, whose process-wide cache would hide a
 * DNS fault. IP literals resolve to themselves without a query.
 */
public interface AddressResolver {

    /**
     * The addresses of {@code host} in the order a default client on this host would try them
     * (RFC 6724 destination order for {@code FAMILY_ANY}), keeping only {@code family}'s. Completes
     * exceptionally with {@link ResolveException} carrying the DNS failure code.
     */
    CompletionStage<List<InetAddress>> resolve(String host, Family family, long deadlineNanos);
}
