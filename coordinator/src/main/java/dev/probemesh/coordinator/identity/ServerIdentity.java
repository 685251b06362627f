package dev.probemesh.coordinator.identity;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** The coordinator's TLS server key and chain (leaf first, then the CA, so agents can pin the CA). */
public record ServerIdentity(PrivateKey key, List<X509Certificate> chain) {
    public ServerIdentity {
        Objects.requireNonNull(key, "key");
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("server chain is empty");
        }
    }

    public X509Certificate certificate() {
        return chain.get(0);
    }
}
