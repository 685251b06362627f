package dev.probemesh.common.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.DnsTraceParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.HttpParams;
import dev.probemesh.proto.v1.IcmpParams;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.TlsParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The checks file as a user writes it. Every rejection has a fixture in
 * {@code src/test/resources/checks/invalid-*.yaml} and a row below with the exact message, as
 * blackbox_exporter does for its config: a message is part of the interface.
 */
class CheckFileTest {
    private static final String PEM = """
            -----BEGIN CERTIFICATE-----
            MIIBszCCAVmgAwIBAgIUJ0cHJvYmVtZXNoLXRlc3QtY2EwCgYIKoZIzj0EAwIw
            -----END CERTIFICATE-----
            """;

    @TempDir
    Path tmp;

    @Test
    void parsesEveryKindAndEveryParameterBlockIntoProtoChecks() throws Exception {
        Files.writeString(tmp.resolve("ca.pem"), PEM);
        Path file = tmp.resolve("checks.yaml");
        Files.writeString(file, """
                defaults:
                  interval: 10s
                  timeout: 2s
                  selector: {site: idc}
                checks:
                  - id: ping-origin
                    kind: icmp
                    target: origin.example.test
                    family: ipv4
                    icmp: {count: 5, interval: 100ms}
                  - id: tcp-db
                    kind: tcp
                    target: "[2001:db8::5]"
                    tcp: {port: 5432, tls: true, server-name: db.example.test}
                  - id: dns-origin
                    kind: dns
                    target: origin.example.test
                    family: ipv6
                    dns:
                      resolver: 198.51.100.53
                      transport: TCP
                      type: aaaa
                      expect-addresses: [2001:db8::10, 192.0.2.10]
                      expect-regex: origin
                      expect-rcode: noerror
                      port: 5353
                      recursion: false
                  - id: trace-origin
                    kind: dns-trace
                    target: origin.example.test
                    dns-trace: {roots: [192.0.2.1, 2001:db8::1], type: AAAA}
                  - id: web-origin
                    kind: http
                    target: http://origin.example.test:8080/health
                    interval: 1m
                    timeout: 500ms
                    selector: {role: edge}
                    labels: {team: web}
                    target-rate: 2.5
                    http:
                      method: post
                      expect-status: [200, 204]
                      expect-body-regex: "^ok"
                      headers: {X-Probe: probemesh}
                      connect-to: 192.0.2.80
                      ca-file: ca.pem
                      insecure-skip-verify: false
                      follow-redirects: true
                      body: "{}"
                  - id: cert-origin
                    kind: tls
                    target: origin.example.test
                    tls:
                      port: 8443
                      server-name: www.example.test
                      ca-file: ca.pem
                      warn-days: 21
                      connect-to: 2001:db8::80
                """);

        List<Check> checks = CheckFile.read(file);

        Check base = Check.newBuilder().setIntervalMs(10_000).setTimeoutMs(2_000).setFamily(Family.FAMILY_ANY)
                .putSelector("site", "idc").build();
        assertThat(checks).containsExactly(
                base.toBuilder().setId("ping-origin").setKind("icmp").setTarget("origin.example.test")
                        .setFamily(Family.FAMILY_IPV4)
                        .setIcmp(IcmpParams.newBuilder().setCount(5).setIntervalMs(100)).build(),
                base.toBuilder().setId("tcp-db").setKind("tcp").setTarget("[2001:db8::5]")
                        .setTcp(TcpParams.newBuilder().setPort(5432).setTls(true).setServerName("db.example.test"))
                        .build(),
                base.toBuilder().setId("dns-origin").setKind("dns").setTarget("origin.example.test")
                        .setFamily(Family.FAMILY_IPV6)
                        .setDns(DnsParams.newBuilder().setResolver("198.51.100.53").setTransport("tcp")
                                .setQtype("AAAA").addExpectAddresses("2001:db8::10").addExpectAddresses("192.0.2.10")
                                .setExpectRegex("origin").setExpectRcode("NOERROR").setPort(5353)
                                .setRecursionDesired(false))
                        .build(),
                base.toBuilder().setId("trace-origin").setKind("dns-trace").setTarget("origin.example.test")
                        .setDnsTrace(DnsTraceParams.newBuilder().addRootServers("192.0.2.1")
                                .addRootServers("2001:db8::1").setQtype("AAAA"))
                        .build(),
                base.toBuilder().setId("web-origin").setKind("http").setTarget("http://origin.example.test:8080/health")
                        .setIntervalMs(60_000).setTimeoutMs(500)
                        .clearSelector().putSelector("role", "edge")
                        .putLabels("team", "web").setTargetRatePerS(2.5)
                        .setHttp(HttpParams.newBuilder().setMethod("POST").addExpectStatus(200).addExpectStatus(204)
                                .setExpectBodyRegex("^ok").putHeaders("X-Probe", "probemesh")
                                .setConnectTo("192.0.2.80").setCaPem(PEM).setInsecureSkipVerify(false)
                                .setFollowRedirects(true).setBody("{}"))
                        .build(),
                base.toBuilder().setId("cert-origin").setKind("tls").setTarget("origin.example.test")
                        .setTls(TlsParams.newBuilder().setPort(8443).setServerName("www.example.test").setCaPem(PEM)
                                .setWarnDays(21).setConnectTo("2001:db8::80"))
                        .build());
    }

    @Test
    void appliesBuiltInDefaultsAndTheDefaultBlockOfEachKind() throws Exception {
        List<Check> checks = CheckFile.parse("checks.yaml", """
                checks:
                  - {id: ping, kind: icmp, target: 192.0.2.1}
                  - {id: db, kind: tcp, target: "db.example.test:5432"}
                  - {id: dns, kind: dns, target: example.test}
                  - {id: web, kind: http, target: "http://example.test/"}
                  - {id: webs, kind: https, target: "https://example.test/"}
                  - {id: cert, kind: tls, target: example.test}
                  - {id: trace, kind: dns-trace, target: example.test}
                """);

        assertThat(checks).allSatisfy(c -> {
            assertThat(c.getIntervalMs()).isEqualTo(30_000);
            assertThat(c.getTimeoutMs()).isEqualTo(5_000);
            assertThat(c.getFamily()).isEqualTo(Family.FAMILY_ANY);
            assertThat(c.getSelectorMap()).isEmpty();
        });
        assertThat(checks).extracting(Check::getParamsCase).containsExactly(
                Check.ParamsCase.PARAMS_NOT_SET, Check.ParamsCase.PARAMS_NOT_SET, Check.ParamsCase.DNS,
                Check.ParamsCase.HTTP, Check.ParamsCase.HTTP, Check.ParamsCase.PARAMS_NOT_SET,
                Check.ParamsCase.PARAMS_NOT_SET);
        // proto3 reads an absent bool as false; the parser makes recursion the default a user expects.
        assertThat(checks.get(2).getDns()).isEqualTo(DnsParams.newBuilder().setRecursionDesired(true).build());
        assertThat(checks.get(3).getHttp()).isEqualTo(HttpParams.getDefaultInstance());
        assertThat(checks.get(4).getHttp()).isEqualTo(HttpParams.getDefaultInstance());
    }

    @Test
    void defaultsBlockSetsFamilyAndSelectorUnlessACheckOverridesThem() throws Exception {
        List<Check> checks = CheckFile.parse("checks.yaml", """
                defaults: {family: ipv6, selector: {site: lab}}
                checks:
                  - {id: inherits, kind: icmp, target: origin.example.test}
                  - {id: overrides, kind: icmp, target: origin.example.test, family: any, selector: {role: edge}}
                """);

        assertThat(checks.get(0).getFamily()).isEqualTo(Family.FAMILY_IPV6);
        assertThat(checks.get(0).getSelectorMap()).isEqualTo(Map.of("site", "lab"));
        assertThat(checks.get(1).getFamily()).isEqualTo(Family.FAMILY_ANY);
        assertThat(checks.get(1).getSelectorMap()).isEqualTo(Map.of("role", "edge"));
    }

    @Test
    void anEmptyChecksListIsAValidFileWithNoChecks() throws Exception {
        assertThat(CheckFile.parse("checks.yaml", "checks: []\n")).isEmpty();
    }

    @Test
    void dnsBlockWithoutRecursionKeepsRecursionOn() throws Exception {
        List<Check> checks = CheckFile.parse("checks.yaml", """
                checks:
                  - id: dns
                    kind: dns
                    target: example.test
                    dns: {type: MX}
                """);

        assertThat(checks.get(0).getDns()).isEqualTo(
                DnsParams.newBuilder().setQtype("MX").setRecursionDesired(true).build());
    }

    @Test
    void readsRelativeCaFileFromTheChecksFilesFolderNotTheWorkingDirectory() throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("site/conf"));
        Files.createDirectories(folder.resolve("certs"));
        Files.writeString(folder.resolve("certs/origin-ca.pem"), PEM);
        Path file = folder.resolve("checks.yaml");
        Files.writeString(file, """
                checks:
                  - id: web
                    kind: https
                    target: https://origin.example.test/
                    http: {ca-file: certs/origin-ca.pem}
                """);

        assertThat(CheckFile.read(file).get(0).getHttp().getCaPem()).isEqualTo(PEM);
        assertThat(Path.of("").toAbsolutePath()).isNotEqualTo(folder);
    }

    @Test
    void readsAbsoluteCaFileAsWritten() throws Exception {
        Path ca = tmp.resolve("elsewhere/ca.pem");
        Files.createDirectories(ca.getParent());
        Files.writeString(ca, PEM);

        List<Check> checks = CheckFile.parse("checks.yaml", """
                checks:
                  - {id: cert, kind: tls, target: example.test, tls: {ca-file: "%s"}}
                """.formatted(ca));

        assertThat(checks.get(0).getTls().getCaPem()).isEqualTo(PEM);
    }

    @Test
    void reportsEveryProblemOfEveryCheckInOneRunEachOnItsOwnLine() {
        assertThatThrownBy(() -> CheckFile.parse("fleet.yaml", """
                checks:
                  - id: ping
                    kind: icmp
                    target: origin.example.test
                    family: ipv7
                  - id: db
                    kind: tcp
                    target: db.example.test
                  - id: dns
                    kind: dns
                    target: example.test
                    dns:
                      transport: quic
                      type: AXFR
                """))
                .isInstanceOfSatisfying(CheckSpecException.class, e -> assertThat(e.problems()).containsExactly(
                        "fleet.yaml:5: checks[0] (ping): family: \"ipv7\" is not one of any, ipv4, ipv6",
                        "fleet.yaml:8: checks[1] (db): target: \"db.example.test\" needs a port 1-65535"
                                + " (write host:port, [v6]:port, or set tcp.port)",
                        "fleet.yaml:13: checks[2] (dns): dns.transport: \"quic\" is not one of udp, tcp",
                        "fleet.yaml:14: checks[2] (dns): dns.type: \"AXFR\" is not a record type this probe knows"
                                + " (A, AAAA, CAA, CNAME, DNSKEY, DS, HTTPS, MX, NS, PTR, SOA, SRV, SVCB, TXT)"))
                .hasMessage(String.join("\n",
                        "fleet.yaml:5: checks[0] (ping): family: \"ipv7\" is not one of any, ipv4, ipv6",
                        "fleet.yaml:8: checks[1] (db): target: \"db.example.test\" needs a port 1-65535"
                                + " (write host:port, [v6]:port, or set tcp.port)",
                        "fleet.yaml:13: checks[2] (dns): dns.transport: \"quic\" is not one of udp, tcp",
                        "fleet.yaml:14: checks[2] (dns): dns.type: \"AXFR\" is not a record type this probe knows"
                                + " (A, AAAA, CAA, CNAME, DNSKEY, DS, HTTPS, MX, NS, PTR, SOA, SRV, SVCB, TXT)"));
    }

    @Test
    void problemFromDefaultsPointsAtTheCheckThatInheritedIt() {
        assertThatThrownBy(() -> CheckFile.parse("checks.yaml", """
                defaults:
                  interval: 2s
                  timeout: 3s
                checks:
                  - id: ping
                    kind: icmp
                    target: origin.example.test
                """))
                .isInstanceOfSatisfying(CheckSpecException.class, e -> assertThat(e.problems()).containsExactly(
                        "checks.yaml:5: checks[0] (ping): timeout: 3s is longer than the interval 2s"
                                + " (make it shorter, or the interval longer)"));
    }

    @Test
    void rejectsAFileLargerThanFourMebibytesWithoutParsingIt() throws Exception {
        Path file = tmp.resolve("huge.yaml");
        Files.write(file, new byte[(4 << 20) + 1]);

        assertThatThrownBy(() -> CheckFile.read(file))
                .isInstanceOfSatisfying(CheckSpecException.class, e -> assertThat(e.problems()).containsExactly(
                        file + ": larger than 4 MiB; split it into several files"));
    }

    static Stream<Arguments> invalidFiles() {
        return Stream.of(
                arguments("invalid-not-yaml.yaml", "invalid-not-yaml.yaml:2: not valid YAML: found character"
                        + " '\\t(TAB)' that cannot start any token. (Do not use \\t(TAB) for indentation)"),
                arguments("invalid-empty.yaml", "invalid-empty.yaml: is empty (expected a 'checks:' list)"),
                arguments("invalid-alias-bomb.yaml", "invalid-alias-bomb.yaml: not valid YAML: Number of aliases"
                        + " for non-scalar nodes exceeds the specified max=10"),
                arguments("invalid-top-level-not-a-mapping.yaml", "invalid-top-level-not-a-mapping.yaml:1:"
                        + " the top level must be a mapping with a 'checks:' list, not a list"),
                arguments("invalid-missing-checks.yaml",
                        "invalid-missing-checks.yaml:1: checks: is required (a list of checks)"),
                arguments("invalid-checks-not-a-list.yaml", "invalid-checks-not-a-list.yaml:2:"
                        + " checks: must be a list (each entry starts with '- id: ...')"),
                arguments("invalid-check-not-a-mapping.yaml",
                        "invalid-check-not-a-mapping.yaml:2: checks[0]: must be a mapping of fields"),
                arguments("invalid-unknown-top-level-key.yaml",
                        "invalid-unknown-top-level-key.yaml:5: alerts: unknown field (known: checks, defaults)"),
                arguments("invalid-defaults-unknown-field.yaml", "invalid-defaults-unknown-field.yaml:3:"
                        + " defaults.retries: unknown field (known: family, interval, selector, timeout)"),
                arguments("invalid-unknown-check-field.yaml", "invalid-unknown-check-field.yaml:5:"
                        + " checks[0] (ping-origin): tiemout: unknown field; did you mean timeout? (known: dns,"
                        + " dns-trace, family, http, icmp, id, interval, kind, labels, selector, target,"
                        + " target-rate, tcp, timeout, tls)"),
                arguments("invalid-unknown-kind.yaml", "invalid-unknown-kind.yaml:3: checks[0] (ping-origin):"
                        + " kind: unknown probe kind \"ping\" (one of icmp, tcp, dns, dns-trace, http, https, tls)"),
                arguments("invalid-missing-id.yaml", "invalid-missing-id.yaml:2: checks[0]: id: is required"),
                arguments("invalid-bad-id.yaml", "invalid-bad-id.yaml:2: checks[0] (Ping_Origin): id:"
                        + " \"Ping_Origin\" is not a valid id (1 to 63 of a-z, 0-9, '.', '_', '-', starting with"
                        + " a letter or digit)"),
                arguments("invalid-duplicate-id.yaml", "invalid-duplicate-id.yaml:5: checks[1] (ping-origin):"
                        + " id: duplicate id \"ping-origin\" (first defined on line 2)"),
                arguments("invalid-missing-target.yaml",
                        "invalid-missing-target.yaml:2: checks[0] (ping-origin): target: is required"),
                arguments("invalid-bad-family.yaml", "invalid-bad-family.yaml:5: checks[0] (ping-origin):"
                        + " family: \"ipv5\" is not one of any, ipv4, ipv6"),
                arguments("invalid-bad-duration.yaml", "invalid-bad-duration.yaml:5: checks[0] (ping-origin):"
                        + " interval: \"5 sec\" is not a duration: use a number and a unit, e.g. 500ms, 5s, 2m,"
                        + " 1h, 7d"),
                arguments("invalid-interval-out-of-range.yaml", "invalid-interval-out-of-range.yaml:5:"
                        + " checks[0] (ping-origin): interval: 500ms is out of range (1s to 1d)"),
                arguments("invalid-timeout-longer-than-interval.yaml", "invalid-timeout-longer-than-interval.yaml:6:"
                        + " checks[0] (ping-origin): timeout: 10s is longer than the interval 5s (make it shorter,"
                        + " or the interval longer)"),
                arguments("invalid-two-param-blocks.yaml", "invalid-two-param-blocks.yaml:6: checks[0] (db):"
                        + " tls: is a second parameter block after tcp: (a check has at most one, named like its"
                        + " kind)"),
                arguments("invalid-params-of-wrong-kind.yaml", "invalid-params-of-wrong-kind.yaml:5:"
                        + " checks[0] (db): dns: does not belong to a tcp check (use tcp:)"),
                arguments("invalid-tcp-without-port.yaml", "invalid-tcp-without-port.yaml:4: checks[0] (db):"
                        + " target: \"db.example.test\" needs a port 1-65535 (write host:port, [v6]:port, or set"
                        + " tcp.port)"),
                arguments("invalid-tcp-port-out-of-range.yaml", "invalid-tcp-port-out-of-range.yaml:6:"
                        + " checks[0] (db): tcp.port: 70000 is not a port (1-65535)"),
                arguments("invalid-icmp-target-with-port.yaml", "invalid-icmp-target-with-port.yaml:4:"
                        + " checks[0] (ping-origin): target: an icmp target is a host name or address, without a"
                        + " port"),
                arguments("invalid-dns-bad-transport.yaml", "invalid-dns-bad-transport.yaml:6:"
                        + " checks[0] (dns-origin): dns.transport: \"quic\" is not one of udp, tcp"),
                arguments("invalid-dns-bad-type.yaml", "invalid-dns-bad-type.yaml:6: checks[0] (dns-origin):"
                        + " dns.type: \"AXFR\" is not a record type this probe knows (A, AAAA, CAA, CNAME, DNSKEY,"
                        + " DS, HTTPS, MX, NS, PTR, SOA, SRV, SVCB, TXT)"),
                arguments("invalid-dns-resolver-not-an-ip.yaml", "invalid-dns-resolver-not-an-ip.yaml:6:"
                        + " checks[0] (dns-origin): dns.resolver: \"ns1.example.test\" must be an IP address"
                        + " (a resolver named by a name would need a resolver itself)"),
                arguments("invalid-dns-resolver-bad-port.yaml", "invalid-dns-resolver-bad-port.yaml:6:"
                        + " checks[0] (dns-origin): dns.resolver: \"198.51.100.53:65536\" is not an IP address or"
                        + " IP:port"),
                arguments("invalid-dns-target-is-an-ip.yaml", "invalid-dns-target-is-an-ip.yaml:4:"
                        + " checks[0] (dns-origin): target: a dns check queries a name, not the address"
                        + " \"192.0.2.10\" (for a reverse lookup, query its in-addr.arpa or ip6.arpa name with"
                        + " type PTR)"),
                arguments("invalid-dns-bad-expect-rcode.yaml", "invalid-dns-bad-expect-rcode.yaml:6:"
                        + " checks[0] (dns-origin): dns.expect-rcode: \"NOTAUTH\" is not one of NOERROR, NXDOMAIN,"
                        + " REFUSED, SERVFAIL"),
                arguments("invalid-dns-bad-recursion.yaml", "invalid-dns-bad-recursion.yaml:6:"
                        + " checks[0] (dns-origin): dns.recursion: \"sometimes\" is not true or false"),
                arguments("invalid-bad-regex.yaml", "invalid-bad-regex.yaml:6: checks[0] (web-origin):"
                        + " http.expect-body-regex: is not a valid regular expression: Unclosed group"),
                arguments("invalid-http-target-not-a-url.yaml", "invalid-http-target-not-a-url.yaml:4:"
                        + " checks[0] (web-origin): target: \"http://origin example/health\" is not a URL: Illegal"
                        + " character in authority"),
                arguments("invalid-http-wrong-scheme.yaml", "invalid-http-wrong-scheme.yaml:4:"
                        + " checks[0] (web-origin): target: \"https://origin.example.test/health\" must be an"
                        + " http:// URL for an http check"),
                arguments("invalid-https-target-without-scheme.yaml", "invalid-https-target-without-scheme.yaml:4:"
                        + " checks[0] (web-origin): target: \"origin.example.test\" must be an https:// URL for an"
                        + " https check"),
                arguments("invalid-http-bad-method.yaml", "invalid-http-bad-method.yaml:6: checks[0] (web-origin):"
                        + " http.method: \"DELETE\" is not one of GET, HEAD, OPTIONS, POST, PUT"),
                arguments("invalid-http-bad-expect-status.yaml", "invalid-http-bad-expect-status.yaml:6:"
                        + " checks[0] (web-origin): http.expect-status: 700 is not an HTTP status (100-599)"),
                arguments("invalid-http-expect-status-not-a-number.yaml",
                        "invalid-http-expect-status-not-a-number.yaml:6: checks[0] (web-origin):"
                                + " http.expect-status: \"ok\" is not a number"),
                arguments("invalid-http-connect-to-not-an-ip.yaml", "invalid-http-connect-to-not-an-ip.yaml:6:"
                        + " checks[0] (web-origin): http.connect-to: \"edge.example.test\" must be an IP address or"
                        + " IP:port (it replaces resolving the URL's host)"),
                arguments("invalid-tls-bad-port.yaml", "invalid-tls-bad-port.yaml:6: checks[0] (cert-origin):"
                        + " tls.port: 70000 is not a port (1-65535)"),
                arguments("invalid-tls-target-bad-port.yaml", "invalid-tls-target-bad-port.yaml:4:"
                        + " checks[0] (cert-origin): target: \"origin.example.test:https\" is not host or host:port"
                        + " (port 1-65535)"),
                arguments("invalid-ca-file-missing.yaml", "invalid-ca-file-missing.yaml:6: checks[0] (cert-origin):"
                        + " tls.ca-file: {dir}/missing-ca.pem does not exist (a relative path is read from the"
                        + " checks file's folder)"),
                arguments("invalid-ca-file-not-pem.yaml", "invalid-ca-file-not-pem.yaml:6: checks[0] (cert-origin):"
                        + " tls.ca-file: {dir}/not-a-certificate.txt holds no PEM certificate"),
                arguments("invalid-duplicate-yaml-key.yaml", "invalid-duplicate-yaml-key.yaml:5:"
                        + " checks[0] (ping-origin): target: appears twice (first on line 4); keep one"),
                arguments("invalid-duplicate-label-key.yaml", "invalid-duplicate-label-key.yaml:7:"
                        + " checks[0] (ping-origin): labels.team: appears twice (first on line 6); keep one"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidFiles")
    void rejectsInvalidFileWithExactMessage(String fixture, String expected) throws Exception {
        Path dir = fixtures();

        assertThatThrownBy(() -> CheckFile.read(dir.resolve(fixture)))
                .isInstanceOfSatisfying(CheckSpecException.class, e -> assertThat(e.problems())
                        .containsExactly(dir + "/" + expected.replace("{dir}", dir.toString())));
    }

    @Test
    void everyInvalidFixtureHasATableRowAndEveryRowAFixture() throws Exception {
        Set<String> rows = invalidFiles().map(a -> (String) a.get()[0]).collect(Collectors.toCollection(TreeSet::new));
        Set<String> files;
        try (Stream<Path> s = Files.list(fixtures())) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("invalid-"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }

        assertThat(rows).isEqualTo(files);
    }

    private static Path fixtures() throws Exception {
        return Path.of(CheckFileTest.class.getResource("/checks").toURI());
    }

    @Test
    void acceptsKeysInAnyCaseWhereTheProtocolIgnoresCase() throws Exception {
        List<Check> checks = CheckFile.parse("checks.yaml", """
                checks:
                  - id: dns
                    kind: dns
                    target: example.test
                    family: IPv6
                    dns: {transport: UDP, type: txt, expect-rcode: nxdomain}
                """);

        assertThat(checks.get(0).getFamily()).isEqualTo(Family.FAMILY_IPV6);
        assertThat(checks.get(0).getDns().getTransport()).isEqualTo("udp");
        assertThat(checks.get(0).getDns().getQtype()).isEqualTo("TXT");
        assertThat(checks.get(0).getDns().getExpectRcode()).isEqualTo("NXDOMAIN");
        assertThat(checks.get(0).getSelectorMap()).isEqualTo(Map.of());
    }
}
