package dev.probemesh.common.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.TlsParams;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** What each kind of check touches on the wire, as the matrix and diagnosis read it. */
class CheckFactsTest {

    static Stream<Arguments> checks() {
        return Stream.of(
                arguments("icmp has no port", check("icmp", "origin.example.test").build(),
                        new CheckFacts("icmp", null, "any", "origin.example.test")),
                arguments("tcp host:port", check("tcp", "db.example.test:5432").build(),
                        new CheckFacts("tcp", 5432, "any", "db.example.test")),
                arguments("tcp [v6]:port", check("tcp", "[2001:db8::5]:5432").build(),
                        new CheckFacts("tcp", 5432, "any", "2001:db8::5")),
                arguments("tcp v4:port", check("tcp", "127.0.0.1:443").build(),
                        new CheckFacts("tcp", 443, "any", "127.0.0.1")),
                arguments("tcp port from its block", check("tcp", "db.example.test")
                        .setTcp(TcpParams.newBuilder().setPort(5432)).build(),
                        new CheckFacts("tcp", 5432, "any", "db.example.test")),
                arguments("dns defaults to udp/53", check("dns", "origin.example.test")
                        .setDns(DnsParams.getDefaultInstance()).build(),
                        new CheckFacts("udp", 53, "any", "origin.example.test")),
                arguments("dns over tcp", check("dns", "origin.example.test")
                        .setDns(DnsParams.newBuilder().setTransport("tcp")).build(),
                        new CheckFacts("tcp", 53, "any", "origin.example.test")),
                arguments("dns port from its block", check("dns", "origin.example.test")
                        .setDns(DnsParams.newBuilder().setResolver("198.51.100.53").setPort(5353)).build(),
                        new CheckFacts("udp", 5353, "any", "origin.example.test")),
                arguments("dns port written in the resolver wins, as in the probe", check("dns", "origin.example.test")
                        .setDns(DnsParams.newBuilder().setResolver("198.51.100.53:5300").setPort(5353)).build(),
                        new CheckFacts("udp", 5300, "any", "origin.example.test")),
                arguments("dns [v6 resolver]:port", check("dns", "origin.example.test")
                        .setDns(DnsParams.newBuilder().setResolver("[2001:db8::53]:5300").setTransport("tcp")).build(),
                        new CheckFacts("tcp", 5300, "any", "origin.example.test")),
                arguments("dns-trace is udp/53", check("dns-trace", "origin.example.test").build(),
                        new CheckFacts("udp", 53, "any", "origin.example.test")),
                arguments("http defaults to 80", check("http", "http://origin.example.test/health").build(),
                        new CheckFacts("tcp", 80, "any", "origin.example.test")),
                arguments("https defaults to 443", check("https", "https://origin.example.test/").build(),
                        new CheckFacts("tcp", 443, "any", "origin.example.test")),
                arguments("https URL port", check("https", "https://origin.example.test:8443/").build(),
                        new CheckFacts("tcp", 8443, "any", "origin.example.test")),
                arguments("https [v6] URL reports the host without brackets",
                        check("https", "https://[2001:db8::80]:8443/").build(),
                        new CheckFacts("tcp", 8443, "any", "2001:db8::80")),
                arguments("tls defaults to 443", check("tls", "origin.example.test").build(),
                        new CheckFacts("tcp", 443, "any", "origin.example.test")),
                arguments("tls port from its block", check("tls", "origin.example.test")
                        .setTls(TlsParams.newBuilder().setPort(8443)).build(),
                        new CheckFacts("tcp", 8443, "any", "origin.example.test")),
                arguments("tls host:port", check("tls", "origin.example.test:993").build(),
                        new CheckFacts("tcp", 993, "any", "origin.example.test")),
                arguments("family pinned to ipv6", check("icmp", "origin.example.test")
                        .setFamily(Family.FAMILY_IPV6).build(),
                        new CheckFacts("icmp", null, "ipv6", "origin.example.test")),
                arguments("family pinned to ipv4", check("tcp", "db.example.test:5432")
                        .setFamily(Family.FAMILY_IPV4).build(),
                        new CheckFacts("tcp", 5432, "ipv4", "db.example.test")),
                arguments("unknown kind keeps only family and target", check("ping", "origin.example.test").build(),
                        new CheckFacts(null, null, "any", "origin.example.test")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checks")
    void derivesProtocolPortFamilyAndHostPerKind(String name, Check check, CheckFacts expected) {
        assertThat(CheckFacts.of(check)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} <-> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            FAMILY_ANY  | any
            FAMILY_IPV4 | ipv4
            FAMILY_IPV6 | ipv6
            """)
    void familyNamesRoundTrip(Family family, String name) {
        assertThat(CheckFacts.familyName(family)).isEqualTo(name);
        assertThat(CheckFacts.parseFamily(name)).isEqualTo(family);
        assertThat(CheckFacts.parseFamily(name.toUpperCase())).isEqualTo(family);
    }

    @ParameterizedTest(name = "\"{0}\" reads as any")
    @CsvSource(nullValues = "NULL", textBlock = """
            NULL
            ''
            both
            """)
    void unknownFamilyNamesReadAsAny(String name) {
        assertThat(CheckFacts.parseFamily(name)).isEqualTo(Family.FAMILY_ANY);
    }

    private static Check.Builder check(String kind, String target) {
        return Check.newBuilder().setId("c").setKind(kind).setTarget(target);
    }
}
