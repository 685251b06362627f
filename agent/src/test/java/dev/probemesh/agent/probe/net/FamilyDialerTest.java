package dev.probemesh.agent.probe.net;

import static dev.probemesh.agent.probe.net.SocketErrorsTest.literal;
import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Family;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FamilyDialerTest {

    private static final InetAddress V6 = literal("2001:db8::10");
    private static final InetAddress V4 = literal("203.0.113.10");
    private static final HostCapabilities DUAL = new HostCapabilities(true, true, true, "iputils ping", Optional.empty());
    private static final HostCapabilities V4_ONLY = new HostCapabilities(true, false, true, "iputils ping", Optional.empty());

    private final List<InetAddress> dialled = new ArrayList<>();

    /** An attempt function whose failing addresses time out; every other address connects. */
    private FamilyDialer.AttemptFunction<String> failing(Set<InetAddress> bad) {
        return (a, deadline) -> {
            dialled.add(a);
            return CompletableFuture.completedFuture(bad.contains(a)
                    ? new FamilyDialer.Attempt.Failure<>(FailureCode.TIMEOUT, "connect timed out", Map.of())
                    : new FamilyDialer.Attempt.Success<>("conn-" + a.getHostAddress(), Map.of()));
        };
    }

    private static long deadline() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    }

    private FamilyDialer.Outcome<String> dial(HostCapabilities caps, DestinationPolicy policy, Family family,
            Set<InetAddress> bad) {
        return new FamilyDialer(policy, () -> caps).dial(List.of(V6, V4), family, deadline(), failing(bad))
                .toCompletableFuture().join();
    }

    @Test
    void reportsDegradedWithTheFirstFailureWhenAnyFallsBackToIpv4() {
        FamilyDialer.Outcome<String> o = dial(DUAL, DestinationPolicy.allowAll(), Family.FAMILY_ANY, Set.of(V6));
        assertThat(o.status()).isEqualTo(ProbeStatus.DEGRADED);
        assertThat(o.failure()).isEqualTo(FailureCode.TIMEOUT);
        assertThat(o.family()).isEqualTo(Family.FAMILY_IPV4);
        assertThat(o.value()).isEqualTo("conn-203.0.113.10");
        assertThat(o.detail()).startsWith("ipv6 2001:db8::10 TIMEOUT, fell back to ipv4 203.0.113.10");
    }

    @Test
    void reportsOkOnThePreferredFamilyWithoutTryingTheOther() {
        FamilyDialer.Outcome<String> o = dial(DUAL, DestinationPolicy.allowAll(), Family.FAMILY_ANY, Set.of());
        assertThat(o.status()).isEqualTo(ProbeStatus.OK);
        assertThat(o.family()).isEqualTo(Family.FAMILY_IPV6);
        assertThat(dialled).containsExactly(V6);
    }

    @Test
    void pinnedFamilyNeverFallsBack() {
        FamilyDialer.Outcome<String> o = dial(DUAL, DestinationPolicy.allowAll(), Family.FAMILY_IPV6, Set.of(V6));
        assertThat(o.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(o.failure()).isEqualTo(FailureCode.TIMEOUT);
        assertThat(o.family()).isEqualTo(Family.FAMILY_IPV6);
        assertThat(dialled).containsExactly(V6);
    }

    @Test
    void reportsTheFirstFailureWhenEveryFamilyFails() {
        FamilyDialer.Outcome<String> o = dial(DUAL, DestinationPolicy.allowAll(), Family.FAMILY_ANY, Set.of(V6, V4));
        assertThat(o.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(o.address()).isEqualTo(V6);
        assertThat(o.detail()).contains("then ipv4 203.0.113.10 TIMEOUT");
    }

    @Test
    void ipv6OnAHostWithoutGlobalIpv6IsUnsupported() {
        FamilyDialer.Outcome<String> o = dial(V4_ONLY, DestinationPolicy.allowAll(), Family.FAMILY_IPV6, Set.of());
        assertThat(o.status()).isEqualTo(ProbeStatus.UNSUPPORTED);
        assertThat(o.failure()).isEqualTo(FailureCode.ADDRESS_FAMILY_UNAVAILABLE);
        assertThat(dialled).isEmpty();
    }

    @Test
    void anySkipsFamiliesTheHostLacksLikeAddrconfig() {
        FamilyDialer.Outcome<String> o = dial(V4_ONLY, DestinationPolicy.allowAll(), Family.FAMILY_ANY, Set.of());
        assertThat(o.status()).isEqualTo(ProbeStatus.OK);
        assertThat(dialled).containsExactly(V4);
    }

    @Test
    void pinnedFamilyWithoutRecordsIsNodata() {
        FamilyDialer.Outcome<String> o = new FamilyDialer(DestinationPolicy.allowAll(), () -> DUAL)
                .dial(List.of(V4), Family.FAMILY_IPV6, deadline(), failing(Set.of())).toCompletableFuture().join();
        assertThat(o.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(o.failure()).isEqualTo(FailureCode.DNS_NODATA);
    }

    @Test
    void neverDialsAnAddressThePolicyDenies() {
        DestinationPolicy denyV6 = a -> a.equals(V6) ? Optional.of("denied by rule 2001:db8::/32 (test)") : Optional.empty();
        FamilyDialer.Outcome<String> o = dial(DUAL, denyV6, Family.FAMILY_ANY, Set.of());
        assertThat(dialled).containsExactly(V4);
        assertThat(o.status()).isEqualTo(ProbeStatus.OK);
        assertThat(o.attributes()).containsKey("policy_skipped");
    }

    @Test
    void reportsPolicyDeniedWithTheRuleWhenEveryAddressIsDenied() {
        DestinationPolicy denyAll = a -> Optional.of("denied by rule 0.0.0.0/0 (test)");
        FamilyDialer.Outcome<String> o = dial(DUAL, denyAll, Family.FAMILY_ANY, Set.of());
        assertThat(o.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(o.failure()).isEqualTo(FailureCode.POLICY_DENIED);
        assertThat(o.detail()).contains("denied by rule 0.0.0.0/0 (test)");
        assertThat(dialled).isEmpty();
    }

    @Test
    void classifiesAnAttemptThatCompletesExceptionally() {
        FamilyDialer.Outcome<String> o = new FamilyDialer(DestinationPolicy.allowAll(), () -> DUAL)
                .<String>dial(List.of(V4), Family.FAMILY_IPV4, deadline(),
                        (a, d) -> CompletableFuture.failedFuture(new java.net.ConnectException("Connection refused")))
                .toCompletableFuture().join();
        assertThat(o.failure()).isEqualTo(FailureCode.REFUSED);
    }
}
