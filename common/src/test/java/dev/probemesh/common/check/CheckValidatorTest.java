package dev.probemesh.common.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.DnsTraceParams;
import dev.probemesh.proto.v1.HttpParams;
import dev.probemesh.proto.v1.IcmpParams;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.TlsParams;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Checks that arrive through the API, as proto messages, with no file or line to point at. */
class CheckValidatorTest {

    @Test
    void acceptsAValidCheckOfEveryKind() {
        assertThatCode(() -> CheckValidator.validateAll(List.of(
                check("ping", "icmp", "2001:db8::1").setIcmp(IcmpParams.newBuilder().setCount(100)).build(),
                check("db", "tcp", "[2001:db8::5]:5432").build(),
                check("dns", "dns", "origin.example.test").setDns(DnsParams.newBuilder()
                        .setResolver("[2001:db8::53]:5353").setTransport("tcp").setQtype("aaaa")
                        .addExpectAddresses("2001:db8::10").setExpectRcode("NXDOMAIN")).build(),
                check("trace", "dns-trace", "origin.example.test").setDnsTrace(DnsTraceParams.newBuilder()
                        .addRootServers("192.0.2.1").setQtype("AAAA")).build(),
                check("web", "http", "http://origin.example.test:8080/").setHttp(HttpParams.newBuilder()
                        .setConnectTo("[2001:db8::80]:8080").addExpectStatus(100).addExpectStatus(599)).build(),
                check("webs", "https", "https://origin.example.test/").build(),
                check("cert", "tls", "origin.example.test").setTls(TlsParams.newBuilder().setPort(65535)
                        .setConnectTo("192.0.2.80")).build())))
                .doesNotThrowAnyException();
    }

    @Test
    void rejectsDuplicateIdsNamingTheSecondCheck() {
        assertThatThrownBy(() -> CheckValidator.validateAll(List.of(
                check("web", "icmp", "origin.example.test").build(),
                check("db", "tcp", "db.example.test:5432").build(),
                check("web", "icmp", "edge.example.test").build())))
                .isInstanceOfSatisfying(CheckSpecException.class, e -> assertThat(e.problems()).containsExactly(
                        "checks[2] (web): id: duplicate id \"web\" (ids must be unique)"));
    }

    @Test
    void prefixesEveryProblemWithItsIndexAndIdAndKeepsGoingAfterTheFirstBadCheck() {
        assertThatThrownBy(() -> CheckValidator.validateAll(List.of(
                check("", "icmp", "origin.example.test").build(),
                check("ok", "icmp", "origin.example.test").build(),
                Check.newBuilder().setId("bad").setKind("tcp").setTarget("db.example.test").build())))
                .isInstanceOfSatisfying(CheckSpecException.class, e -> assertThat(e.problems()).containsExactly(
                        "checks[0]: id: is required",
                        "checks[2] (bad): interval: 0ms is out of range (1s to 1d)",
                        "checks[2] (bad): timeout: 0ms is out of range (1ms to 60s)",
                        "checks[2] (bad): target: \"db.example.test\" needs a port 1-65535 (write host:port,"
                                + " [v6]:port, or set tcp.port)"))
                .hasMessageStartingWith("checks[0]: id: is required\nchecks[2] (bad): interval:");
    }

    @Test
    void acceptsAnEmptyList() {
        assertThatCode(() -> CheckValidator.validateAll(List.of())).doesNotThrowAnyException();
    }

    static Stream<Arguments> badChecks() {
        return Stream.of(
                arguments(check("a", "", "origin.example.test"),
                        "kind: is required (one of icmp, tcp, dns, dns-trace, http, https, tls)"),
                arguments(check("a", "icmp", "origin.example.test").setFamilyValue(7),
                        "family: must be any, ipv4 or ipv6"),
                arguments(check("-a", "icmp", "origin.example.test"), "id: \"-a\" is not a valid id (1 to 63 of"
                        + " a-z, 0-9, '.', '_', '-', starting with a letter or digit)"),
                arguments(check("a".repeat(64), "icmp", "origin.example.test"), "id: \"" + "a".repeat(64)
                        + "\" is not a valid id (1 to 63 of a-z, 0-9, '.', '_', '-', starting with a letter or"
                        + " digit)"),
                arguments(check("a", "icmp", "  "), "target: is required"),
                arguments(check("a", "icmp", "origin.example.test").setIntervalMs(86_400_001).setTimeoutMs(1000),
                        "interval: 86400001ms is out of range (1s to 1d)"),
                arguments(check("a", "icmp", "origin.example.test").setIntervalMs(120_000).setTimeoutMs(61_000),
                        "timeout: 61s is out of range (1ms to 60s)"),
                arguments(check("a", "icmp", "origin.example.test").setTargetRatePerS(-1),
                        "target-rate: -1.0 is not a finite number >= 0"),
                arguments(check("a", "icmp", "origin.example.test").setTargetRatePerS(Double.NaN),
                        "target-rate: NaN is not a finite number >= 0"),
                arguments(check("a", "icmp", "origin.example.test").setTargetRatePerS(Double.POSITIVE_INFINITY),
                        "target-rate: Infinity is not a finite number >= 0"),
                arguments(check("a", "https", "https://origin.example.test:99999/"),
                        "target: \"https://origin.example.test:99999/\" has port 99999, which is not a port"
                                + " (1-65535)"),
                arguments(check("a", "icmp", "origin.example.test").setIcmp(IcmpParams.newBuilder().setCount(101)),
                        "icmp.count: 101 is more than 100 echo requests"),
                arguments(check("a", "icmp", "origin.example.test:443"),
                        "target: an icmp target is a host name or address, without a port"),
                arguments(check("a", "https", "https://origin.example.test/").setTls(TlsParams.getDefaultInstance()),
                        "tls: does not belong to an https check (use http:)"),
                arguments(check("a", "tcp", ":5432"), "target: \":5432\" needs a port 1-65535 (write host:port,"
                        + " [v6]:port, or set tcp.port)"),
                arguments(check("a", "tcp", "db.example.test:0"), "target: \"db.example.test:0\" needs a port"
                        + " 1-65535 (write host:port, [v6]:port, or set tcp.port)"),
                arguments(check("a", "tcp", "db.example.test").setTcp(TcpParams.newBuilder().setPort(65536)),
                        "tcp.port: 65536 is not a port (1-65535)"),
                arguments(check("a", "dns", "origin.example.test").setDns(DnsParams.newBuilder().setPort(65536)),
                        "dns.port: 65536 is not a port (1-65535)"),
                arguments(check("a", "dns", "2001:db8::1"), "target: a dns check queries a name, not the address"
                        + " \"2001:db8::1\" (for a reverse lookup, query its in-addr.arpa or ip6.arpa name with type"
                        + " PTR)"),
                arguments(check("a", "dns", "origin.example.test").setDns(
                        DnsParams.newBuilder().addExpectAddresses("origin.example.test")),
                        "dns.expect-addresses: \"origin.example.test\" is not an IP address"),
                arguments(check("a", "dns", "origin.example.test").setDns(
                        DnsParams.newBuilder().setExpectRegex("*")),
                        "dns.expect-regex: is not a valid regular expression: Dangling meta character '*'"),
                arguments(check("a", "dns-trace", "origin.example.test").setDnsTrace(
                        DnsTraceParams.newBuilder().addRootServers("a.root-servers.net")),
                        "dns-trace.roots: \"a.root-servers.net\" is not an IP address"),
                arguments(check("a", "dns-trace", "origin.example.test").setDnsTrace(
                        DnsTraceParams.newBuilder().setQtype("MX")),
                        "dns-trace.type: \"MX\" is not A or AAAA"),
                arguments(check("a", "http", "http:///health"), "target: \"http:///health\" has no host"),
                arguments(check("a", "http", "http://origin.example.test/").setHttp(
                        HttpParams.newBuilder().addExpectStatus(99)),
                        "http.expect-status: 99 is not an HTTP status (100-599)"),
                arguments(check("a", "http", "http://origin.example.test/").setHttp(
                        HttpParams.newBuilder().setConnectTo("192.0.2.80:99999")),
                        "http.connect-to: \"192.0.2.80:99999\" must be an IP address or IP:port (it replaces"
                                + " resolving the URL's host)"),
                arguments(check("a", "tls", "origin.example.test").setTls(
                        TlsParams.newBuilder().setConnectTo("edge.example.test")),
                        "tls.connect-to: \"edge.example.test\" must be an IP address (it replaces resolving the"
                                + " target; the port is tls.port)"),
                arguments(check("a", "tls", "origin.example.test:0"),
                        "target: \"origin.example.test:0\" is not host or host:port (port 1-65535)"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badChecks")
    void reportsTheOneProblemWithItsFieldAndFix(Check.Builder check, String expected) {
        assertThat(CheckValidator.problems(check.build())).extracting(CheckValidator.Problem::toString)
                .containsExactly(expected);
    }

    @Test
    void problemNamesItsFieldSeparatelyForCallersThatPointAtIt() {
        assertThat(CheckValidator.problems(check("a", "dns", "origin.example.test")
                .setDns(DnsParams.newBuilder().setTransport("quic")).build()))
                .containsExactly(new CheckValidator.Problem("dns.transport", "\"quic\" is not one of udp, tcp"));
    }

    private static Check.Builder check(String id, String kind, String target) {
        return Check.newBuilder().setId(id).setKind(kind).setTarget(target).setIntervalMs(30_000).setTimeoutMs(5_000);
    }
}
