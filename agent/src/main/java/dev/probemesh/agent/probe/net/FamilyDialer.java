package dev.probemesh.agent.probe.net;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Family;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The address-family semantics of DESIGN.md for every probe that dials, over any transport.
 *
 * <ul>
 *   <li>{@code FAMILY_IPV4}/{@code FAMILY_IPV6} keep only that family's addresses. A host without
 *       that family at all (no global IPv6 address, no IPv4 address) gives status
 *       {@code UNSUPPORTED} with {@code ADDRESS_FAMILY_UNAVAILABLE}; a name without records of that
 *       family gives {@code FAIL DNS_NODATA}.
 *   <li>{@code FAMILY_ANY} (and unspecified) behaves like a default client with AI_ADDRCONFIG:
 *       addresses of families the host lacks are skipped, the rest are tried one after another in
 *       the resolver's (RFC 6724) order. Success after an earlier address failed is
 *       {@code DEGRADED}, carrying the first failure's code and a detail such as
 *       {@code "ipv6 2001:db8::10 TIMEOUT, fell back to ipv4 203.0.113.10"} (incident 3).
 *   <li>Every address is checked against the {@link DestinationPolicy} before it is dialled;
 *       denied ones are never dialled, and when none is left the outcome is
 *       {@code FAIL POLICY_DENIED} naming the rule (as the ProbeRunner reports its own refusals).
 *   <li>Each attempt gets an equal share of the time left, so a silently dropped preferred
 *       family leaves time for the fallback inside the probe's deadline.
 * </ul>
 */
public final class FamilyDialer {

    /** The result of one try at one address. */
    public sealed interface Attempt<T> {
        /** Connected (or otherwise done); {@code value} is what the caller goes on with. */
        record Success<T>(T value, Map<String, String> attributes) implements Attempt<T> {
            public Success {
                Objects.requireNonNull(value, "value");
                attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
            }
        }

        /** Failed, already classified (for instance by {@link SocketErrors}). */
        record Failure<T>(FailureCode code, String detail, Map<String, String> attributes) implements Attempt<T> {
            public Failure {
                Objects.requireNonNull(code, "code");
                detail = detail == null ? "" : detail;
                attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
            }
        }
    }

    /** Dials one address by {@code attemptDeadlineNanos}; should not complete exceptionally (if it does, the error is classified). */
    @FunctionalInterface
    public interface AttemptFunction<T> {
        CompletionStage<Attempt<T>> attempt(InetAddress address, long attemptDeadlineNanos);
    }

    /**
     * What dialling came to. {@code value} and {@code address} are set when status is OK or
     * DEGRADED; after a failure {@code address} is the first (preferred) address tried, whose
     * failure the code reports, or null when nothing was dialled.
     */
    public record Outcome<T>(ProbeStatus status, FailureCode failure, String detail, T value, InetAddress address,
            Family family, Map<String, String> attributes) {
        public Outcome {
            Objects.requireNonNull(status, "status");
            detail = detail == null ? "" : detail;
            attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
        }

        public boolean connected() {
            return value != null;
        }

        /** This outcome as a probe result (for a failed dial, or a probe that has nothing more to add). */
        public ProbeResult toResult(PhaseTimings timings, String okDetail) {
            String addr = address == null ? "" : Addresses.text(address);
            String d = status == ProbeStatus.OK ? okDetail : detail;
            return new ProbeResult(status, status == ProbeStatus.OK ? null : failure, d, timings, addr, family, attributes);
        }
    }

    private final DestinationPolicy policy;
    private final Supplier<HostCapabilities> capabilities;

    /**
     * @param capabilities the host's current capabilities (re-detected by the agent every 30 s)
     */
    public FamilyDialer(DestinationPolicy policy, Supplier<HostCapabilities> capabilities) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.capabilities = Objects.requireNonNull(capabilities, "capabilities");
    }

    /** The wire family of an address. */
    public static Family familyOf(InetAddress a) {
        return a instanceof Inet6Address ? Family.FAMILY_IPV6 : Family.FAMILY_IPV4;
    }

    /** "ipv4" / "ipv6" / "any", as DESIGN.md writes families. */
    public static String familyName(Family f) {
        return switch (f) {
            case FAMILY_IPV4 -> "ipv4";
            case FAMILY_IPV6 -> "ipv6";
            default -> "any";
        };
    }

    /**
     * Dials {@code resolved} (already in RFC 6724 order) under {@code family}'s rules, calling
     * {@code attempt} for each address until one succeeds or the deadline passes.
     */
    public <T> CompletionStage<Outcome<T>> dial(List<InetAddress> resolved, Family family, long deadlineNanos,
            AttemptFunction<T> attempt) {
        Family fam = family == null || family == Family.FAMILY_UNSPECIFIED || family == Family.UNRECOGNIZED
                ? Family.FAMILY_ANY : family;
        HostCapabilities caps = capabilities.get();
        if (fam != Family.FAMILY_ANY && !hostHas(caps, fam)) {
            return done(new Outcome<>(ProbeStatus.UNSUPPORTED, FailureCode.ADDRESS_FAMILY_UNAVAILABLE,
                    "this host has no " + (fam == Family.FAMILY_IPV6 ? "global IPv6" : "IPv4") + " address",
                    null, null, fam, Map.of()));
        }
        List<InetAddress> ofFamily = resolved.stream()
                .filter(a -> fam == Family.FAMILY_ANY || familyOf(a) == fam)
                .filter(a -> fam != Family.FAMILY_ANY || hostHas(caps, familyOf(a)))
                .toList();
        if (ofFamily.isEmpty()) {
            if (fam == Family.FAMILY_ANY && !resolved.isEmpty()) {
                return done(new Outcome<>(ProbeStatus.UNSUPPORTED, FailureCode.ADDRESS_FAMILY_UNAVAILABLE,
                        "this host has no address of the target's families (" + render(resolved) + ")",
                        null, null, fam, Map.of()));
            }
            String what = fam == Family.FAMILY_IPV6 ? "IPv6 (AAAA)" : fam == Family.FAMILY_IPV4 ? "IPv4 (A)" : "any";
            return done(new Outcome<>(ProbeStatus.FAIL, FailureCode.DNS_NODATA,
                    "the target has no " + what + " address", null, null, fam, Map.of()));
        }
        List<InetAddress> allowed = new ArrayList<>();
        String firstDenial = null;
        for (InetAddress a : ofFamily) {
            Optional<String> rule = policy.denied(a);
            if (rule.isPresent()) {
                firstDenial = firstDenial == null ? Addresses.text(a) + " " + rule.get() : firstDenial;
            } else {
                allowed.add(a);
            }
        }
        if (allowed.isEmpty()) {
            return done(new Outcome<>(ProbeStatus.FAIL, FailureCode.POLICY_DENIED,
                    "agent policy refuses " + firstDenial, null, ofFamily.get(0), familyOf(ofFamily.get(0)),
                    Map.of("policy", firstDenial)));
        }
        CompletableFuture<Outcome<T>> result = new CompletableFuture<>();
        Map<String, String> extra = new LinkedHashMap<>();
        if (firstDenial != null) {
            extra.put("policy_skipped", firstDenial);
        }
        next(allowed, 0, deadlineNanos, attempt, new ArrayList<>(), extra, result);
        return result;
    }

    private record Tried(InetAddress address, Attempt.Failure<?> failure) {
    }

    private <T> void next(List<InetAddress> addrs, int i, long deadlineNanos, AttemptFunction<T> attempt,
            List<Tried> failures, Map<String, String> extra, CompletableFuture<Outcome<T>> result) {
        long now = System.nanoTime();
        if (i >= addrs.size() || (i > 0 && now - deadlineNanos >= 0)) {
            result.complete(failed(failures, extra));
            return;
        }
        InetAddress a = addrs.get(i);
        long share = Math.max(0, deadlineNanos - now) / (addrs.size() - i);
        long attemptDeadline = i == addrs.size() - 1 ? deadlineNanos : now + share;
        CompletionStage<Attempt<T>> stage;
        try {
            stage = attempt.attempt(a, attemptDeadline);
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((r, err) -> {
            Attempt<T> outcome = r;
            if (err != null || r == null) {
                SocketErrors.Classified c = err == null
                        ? new SocketErrors.Classified(FailureCode.INTERNAL, "attempt returned nothing")
                        : SocketErrors.classify(err, a);
                outcome = new Attempt.Failure<>(c.code(), c.detail(), Map.of());
            }
            if (outcome instanceof Attempt.Success<T> s) {
                result.complete(succeeded(s, a, failures, extra));
            } else if (outcome instanceof Attempt.Failure<T> f) {
                failures.add(new Tried(a, f));
                next(addrs, i + 1, deadlineNanos, attempt, failures, extra, result);
            }
        });
    }

    private static <T> Outcome<T> succeeded(Attempt.Success<T> s, InetAddress a, List<Tried> failures,
            Map<String, String> extra) {
        Map<String, String> attrs = new LinkedHashMap<>(extra);
        attrs.putAll(s.attributes());
        if (failures.isEmpty()) {
            return new Outcome<>(ProbeStatus.OK, null, "", s.value(), a, familyOf(a), attrs);
        }
        Tried first = failures.get(0);
        StringBuilder d = new StringBuilder();
        for (Tried t : failures) {
            d.append(familyName(familyOf(t.address()))).append(' ').append(Addresses.text(t.address()))
                    .append(' ').append(t.failure().code()).append(", ");
        }
        d.append("fell back to ").append(familyName(familyOf(a))).append(' ').append(Addresses.text(a));
        d.append(" (").append(first.failure().detail()).append(')');
        attrs.put("fallback_from", Addresses.text(first.address()));
        attrs.put("fallback_failure", first.failure().code().name());
        return new Outcome<>(ProbeStatus.DEGRADED, first.failure().code(), d.toString(), s.value(), a, familyOf(a), attrs);
    }

    private static <T> Outcome<T> failed(List<Tried> failures, Map<String, String> extra) {
        Tried first = failures.get(0);
        Map<String, String> attrs = new LinkedHashMap<>(extra);
        attrs.putAll(first.failure().attributes());
        String detail = first.failure().detail();
        if (failures.size() > 1) {
            StringBuilder d = new StringBuilder(detail);
            for (Tried t : failures.subList(1, failures.size())) {
                d.append("; then ").append(familyName(familyOf(t.address()))).append(' ')
                        .append(Addresses.text(t.address())).append(' ').append(t.failure().code());
            }
            detail = d.toString();
        }
        return new Outcome<>(ProbeStatus.FAIL, first.failure().code(), detail, null, first.address(),
                familyOf(first.address()), attrs);
    }

    private static boolean hostHas(HostCapabilities caps, Family f) {
        return f == Family.FAMILY_IPV6 ? caps.ipv6() : caps.ipv4();
    }

    private static String render(List<InetAddress> as) {
        return String.join(", ", as.stream().map(Addresses::text).toList());
    }

    private static <T> CompletionStage<Outcome<T>> done(Outcome<T> o) {
        return CompletableFuture.completedFuture(o);
    }
}
