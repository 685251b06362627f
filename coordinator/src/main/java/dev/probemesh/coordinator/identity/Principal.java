package dev.probemesh.coordinator.identity;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Who is calling, taken from the verified client certificate (or, in --insecure mode, nobody in
 * particular). Put in the gRPC Context by {@link AuthInterceptor} under {@link AuthInterceptor#PRINCIPAL}.
 *
 * @param serial    certificate serial; null for INSECURE and for unauthenticated enrollment
 * @param notAfter  certificate end; null for INSECURE
 */
public record Principal(Role role, String name, String site, Map<String, String> labels, BigInteger serial,
        Instant notAfter) {
    public enum Role { AGENT, ADMIN, INSECURE, ANONYMOUS }

    public Principal {
        Objects.requireNonNull(role, "role");
        name = name == null ? "" : name;
        site = site == null ? "" : site;
        labels = Map.copyOf(labels);
    }

    public static Principal insecure() {
        return new Principal(Role.INSECURE, "", "", Map.of(), null, null);
    }

    public static Principal anonymous() {
        return new Principal(Role.ANONYMOUS, "", "", Map.of(), null, null);
    }
}
