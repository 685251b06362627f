package dev.probemesh.agent.probe.net;

import dev.probemesh.common.check.Hosts;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.proto.v1.Family;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Resolvers for probe tests: IP literals resolve to themselves (no query, as the real resolver
 * does) and a fixed table answers names; anything else is NXDOMAIN. The real dnsjava resolver is
 * another engineer's and tested on its own.
 */
public final class TestResolvers {
    private TestResolvers() {
    }

    public static AddressResolver literalsOnly() {
        return table(Map.of());
    }

    /** {@code names} maps a name to its addresses in the order to try. */
    public static AddressResolver table(Map<String, List<String>> names) {
        return (host, family, deadline) -> {
            List<String> found = Hosts.isIpLiteral(host) ? List.of(host) : names.get(host);
            if (found == null) {
                return CompletableFuture.failedFuture(new ResolveException(FailureCode.DNS_NXDOMAIN, host + ": NXDOMAIN"));
            }
            List<InetAddress> out = found.stream().map(TestResolvers::literal)
                    .filter(a -> family == Family.FAMILY_ANY || family == Family.FAMILY_UNSPECIFIED
                            || FamilyDialer.familyOf(a) == family)
                    .toList();
            return CompletableFuture.completedFuture(out);
        };
    }

    static InetAddress literal(String s) {
        try {
            return InetAddress.getByName(s); // literals only: no lookup happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(s, e);
        }
    }
}
