package dev.probemesh.coordinator.correlate;

import java.util.Objects;

/**
 * The failing thing a finding names (DESIGN.md "Verdicts"). layer: network, transport, dns, tls,
 * http; protocol: udp, tcp, icmp, any or null; port, zone, resolver null where they do not apply;
 * family: ipv4, ipv6 or any.
 */
public record Component(String layer, String protocol, Integer port, String family, String zone, String resolver) {
    public Component {
        Objects.requireNonNull(layer, "layer");
        family = family == null ? "any" : family;
    }

    static Component of(String layer, String protocol, Integer port, String family) {
        return new Component(layer, protocol, port, family, null, null);
    }

    /** A compact, stable rendering used in verdict keys. */
    String key() {
        return layer + "/" + (protocol == null ? "-" : protocol) + "/" + (port == null ? "-" : port) + "/" + family
                + "/" + (zone == null ? "-" : zone) + "/" + (resolver == null ? "-" : resolver);
    }

    public dev.probemesh.proto.v1.Component toProto() {
        var b = dev.probemesh.proto.v1.Component.newBuilder().setLayer(layer).setFamily(family);
        if (protocol != null) {
            b.setProtocol(protocol);
        }
        if (port != null) {
            b.setPort(port);
        }
        if (zone != null) {
            b.setZone(zone);
        }
        if (resolver != null) {
            b.setResolver(resolver);
        }
        return b.build();
    }

    static Component fromProto(dev.probemesh.proto.v1.Component p) {
        return new Component(p.getLayer(), emptyToNull(p.getProtocol()), p.getPort() == 0 ? null : p.getPort(),
                emptyToNull(p.getFamily()), emptyToNull(p.getZone()), emptyToNull(p.getResolver()));
    }

    static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
