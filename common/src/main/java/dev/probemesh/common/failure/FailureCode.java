package dev.probemesh.common.failure;

import java.util.Locale;
import java.util.Optional;

/**
 * The normalized failure taxonomy of DESIGN.md. Diagnosis depends on telling failures apart, so
 * every probe maps what it saw to exactly one of these codes.
 */
public enum FailureCode {
    // transport
    TIMEOUT(Layer.TRANSPORT),
    REFUSED(Layer.TRANSPORT),
    HOST_UNREACHABLE(Layer.NETWORK),
    NET_UNREACHABLE(Layer.NETWORK),
    ADMIN_PROHIBITED(Layer.TRANSPORT),
    NO_ROUTE(Layer.NETWORK),
    ADDRESS_FAMILY_UNAVAILABLE(Layer.NETWORK),
    // dns
    DNS_TIMEOUT(Layer.DNS),
    DNS_NXDOMAIN(Layer.DNS),
    DNS_SERVFAIL(Layer.DNS),
    DNS_REFUSED(Layer.DNS),
    DNS_NODATA(Layer.DNS),
    DNS_TRUNCATED_TCP_FAILED(Layer.DNS),
    DNS_AUTHORITY_UNREACHABLE(Layer.DNS),
    DNS_UNEXPECTED_ANSWER(Layer.DNS),
    // tls
    TLS_HANDSHAKE(Layer.TLS),
    TLS_CERT_EXPIRED(Layer.TLS),
    TLS_CERT_EXPIRING(Layer.TLS),
    TLS_CERT_UNTRUSTED(Layer.TLS),
    TLS_HOSTNAME_MISMATCH(Layer.TLS),
    // http
    HTTP_STATUS(Layer.HTTP),
    HTTP_CDN_ORIGIN_DNS(Layer.HTTP),
    HTTP_CDN_ORIGIN_DOWN(Layer.HTTP),
    HTTP_WAF_CHALLENGE(Layer.HTTP),
    HTTP_RATE_LIMITED(Layer.HTTP),
    HTTP_PROTOCOL(Layer.HTTP),
    BODY_MISMATCH(Layer.HTTP),
    // icmp
    PACKET_LOSS(Layer.NETWORK),
    // local
    LOCAL_FIREWALL(Layer.LOCAL),
    POLICY_DENIED(Layer.LOCAL),
    UNSUPPORTED(Layer.LOCAL),
    INTERNAL(Layer.LOCAL);

    /** Where in the stack a code points. */
    public enum Layer {
        NETWORK, TRANSPORT, DNS, TLS, HTTP, LOCAL;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Layer layer;

    FailureCode(Layer layer) {
        this.layer = layer;
    }

    public Layer layer() {
        return layer;
    }

    /** Parses a code from the wire; unknown or empty codes yield empty. */
    public static Optional<FailureCode> parse(String s) {
        if (s == null || s.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(valueOf(s));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
