package dev.probemesh.coordinator.correlate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.TlsParams;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class CheckViewTest {
    private static final Map<String, CheckView> LAB = LabMatrix.labChecks().stream().map(CheckView::from)
            .collect(Collectors.toMap(CheckView::id, Function.identity()));

    @ParameterizedTest(name = "{0}")
    @CsvSource(nullValues = "-", value = {
        // id,              kind,      target,              byName, layer,     protocol, port, family, resolver
        "icmp-resolver-v4,  icmp,      198.51.100.53,       false,  network,   icmp,     -,    ipv4,   ''",
        "icmp-origin-v6,    icmp,      2001:db8:113::10,    false,  network,   icmp,     -,    ipv6,   ''",
        "dns-origin-udp,    dns,       origin.example.test, false,  dns,       udp,      53,   ipv4,   198.51.100.53",
        "dns-origin-tcp,    dns,       origin.example.test, false,  dns,       tcp,      53,   ipv4,   198.51.100.53",
        "dns-origin-v6,     dns,       origin.example.test, false,  dns,       udp,      53,   ipv6,   2001:db8:53::53",
        "trace-home,        dns-trace, home.example.test,   false,  dns,       udp,      53,   ipv4,   ''",
        "tcp-origin-443-v4, tcp,       203.0.113.10,        false,  transport, tcp,      443,  ipv4,   ''",
        "tcp-origin-443-v6, tcp,       2001:db8:113::10,    false,  transport, tcp,      443,  ipv6,   ''",
        "https-origin-v4,   https,     origin.example.test, true,   http,      tcp,      443,  ipv4,   ''",
        "https-origin-v6,   https,     origin.example.test, true,   http,      tcp,      443,  ipv6,   ''",
        "https-home-edge,   https,     home.example.test,   false,  http,      tcp,      443,  ipv4,   ''",
    })
    void derivesWhatEachLabCheckDependsOn(String id, String kind, String target, boolean byName, String layer,
                                          String protocol, Integer port, String family, String resolver) {
        CheckView v = LAB.get(id);

        assertThat(v.kind()).isEqualTo(kind);
        assertThat(v.target()).isEqualTo(target);
        assertThat(v.byName()).isEqualTo(byName);
        assertThat(v.layer()).isEqualTo(layer);
        assertThat(v.protocol()).isEqualTo(protocol);
        assertThat(v.port()).isEqualTo(port);
        assertThat(v.family()).isEqualTo(family);
        assertThat(v.resolver()).isEqualTo(resolver);
        assertThat(v.intervalMs()).isEqualTo(5000);
    }

    @Test
    void anEdgeCheckDialsByIpButDependsOnTheNameBehindTheEdge() {
        CheckView v = LAB.get("https-home-edge");

        assertThat(v.dialed()).isEqualTo("203.0.113.80");
        assertThat(v.origin()).isEqualTo("home.example.test");
    }

    @Test
    void readsPortsWrittenInTheTargetAndFamiliesImpliedByLiterals() {
        CheckView tcp = CheckView.from(Check.newBuilder().setId("t").setKind("tcp").setTarget("192.0.2.7:8443")
                .setTcp(TcpParams.newBuilder()).build());
        CheckView tls = CheckView.from(Check.newBuilder().setId("s").setKind("tls").setTarget("api.example.test")
                .setFamily(Family.FAMILY_ANY).setTls(TlsParams.newBuilder().setPort(8443)).build());
        CheckView http = CheckView.from(Check.newBuilder().setId("h").setKind("http")
                .setTarget("http://[2001:db8::5]:8080/x").build());

        assertThat(tcp.target()).isEqualTo("192.0.2.7");
        assertThat(tcp.port()).isEqualTo(8443);
        assertThat(tcp.family()).isEqualTo("ipv4");
        assertThat(tls.byName()).isTrue();
        assertThat(tls.port()).isEqualTo(8443);
        assertThat(tls.family()).isEqualTo("any");
        assertThat(http.target()).isEqualTo("2001:db8::5");
        assertThat(http.port()).isEqualTo(8080);
        assertThat(http.family()).isEqualTo("ipv6");
        assertThat(http.byName()).isFalse();
    }
}
