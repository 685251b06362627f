package dev.probemesh.common.check;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/** The probe kinds a check can name. The wire and YAML use {@link #wireName()}. */
public enum CheckKind {
    ICMP("icmp"),
    TCP("tcp"),
    DNS("dns"),
    DNS_TRACE("dns-trace"),
    HTTP("http"),
    HTTPS("https"),
    TLS("tls");

    private final String wireName;

    CheckKind(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Optional<CheckKind> fromWire(String name) {
        return Arrays.stream(values()).filter(k -> k.wireName.equals(name)).findFirst();
    }

    public static String allWireNames() {
        return Arrays.stream(values()).map(CheckKind::wireName).collect(Collectors.joining(", "));
    }
}
