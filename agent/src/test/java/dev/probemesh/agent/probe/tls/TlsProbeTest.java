package dev.probemesh.agent.probe.tls;

import static dev.probemesh.agent.testing.TestTlsEnv.V4;
import static dev.probemesh.agent.testing.TestTlsEnv.V6;
import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.testing.TestCerts;
import dev.probemesh.agent.testing.TestHttpServer;
import dev.probemesh.agent.testing.TestTlsEnv;
import dev.probemesh.agent.testing.TestTlsRawServer;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.TlsParams;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@Timeout(30)
class TlsProbeTest {
    static final String HOST = "origin.example.test";
    static final TestCerts CA = TestCerts.ca("probemesh test CA");
    static final TestCerts ROGUE = TestCerts.ca("rogue CA");

    static TestTlsEnv env;
    static TlsProbe probe;

    @BeforeAll
    static void start() {
        env = new TestTlsEnv(Map.of(HOST, List.of(V4), "dual.example.test", List.of(V6, V4)),
                DestinationPolicy.allowAll(), List.of(CA.certificate()));
        probe = new TlsProbe(env.env(), env.families());
    }

    @AfterAll
    static void stop() {
        probe.close();
        env.close();
    }

    static Check check(String target, TlsParams.Builder params, Family family) {
        return Check.newBuilder().setId("tls-test").setKind("tls").setTarget(target).setFamily(family)
                .setTimeoutMs(5000).setTls(params).build();
    }

    static ProbeResult run(Check c) throws Exception {
        return probe.run(c, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(c.getTimeoutMs()))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static TestCerts.Issued validLeaf() {
        return CA.leaf(List.of(HOST), List.of("127.0.0.1"));
    }

    @Test
    void reportsOkWithDaysLeftAndSubjectForAValidCertificate() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, validLeaf(), s -> TestHttpServer.Reply.of(200, "ok"))) {
            ProbeResult r = run(check(HOST, TlsParams.newBuilder().setPort(server.port()), Family.FAMILY_IPV4));

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(Long.parseLong(r.attributes().get("days_left"))).isBetween(363L, 365L);
            assertThat(r.attributes().get("subject")).isEqualTo("CN=" + HOST);
            assertThat(r.attributes().get("issuer")).isEqualTo("CN=probemesh test CA");
            assertThat(Instant.parse(r.attributes().get("not_after"))).isAfter(Instant.now().plus(Duration.ofDays(300)));
            assertThat(r.address()).isEqualTo("127.0.0.1");
            assertThat(r.family()).isEqualTo(Family.FAMILY_IPV4);
            assertThat(r.timings().tlsUs()).isPositive();
        }
    }

    static Stream<Arguments> certificateFailures() {
        Instant now = Instant.now();
        return Stream.of(
                Arguments.of("expiring in 5 days", CA.leaf(List.of(HOST), List.of(), now.minus(Duration.ofDays(80)),
                        now.plus(Duration.ofDays(5)).plusSeconds(3600)), ProbeStatus.DEGRADED, FailureCode.TLS_CERT_EXPIRING, "5"),
                Arguments.of("expired 3 days ago", CA.leaf(List.of(HOST), List.of(), now.minus(Duration.ofDays(90)),
                        now.minus(Duration.ofDays(3)).plusSeconds(3600)), ProbeStatus.FAIL, FailureCode.TLS_CERT_EXPIRED, "-3"),
                Arguments.of("issued by an untrusted CA", ROGUE.leaf(List.of(HOST), List.of()), ProbeStatus.FAIL,
                        FailureCode.TLS_CERT_UNTRUSTED, null),
                Arguments.of("issued for another name", CA.leaf(List.of("other.example.test"), List.of()), ProbeStatus.FAIL,
                        FailureCode.TLS_HOSTNAME_MISMATCH, null));
    }

    @ParameterizedTest(name = "{0} -> {2} {3}")
    @MethodSource("certificateFailures")
    void classifiesCertificateProblemsAndStillReportsTheLeaf(String name, TestCerts.Issued leaf, ProbeStatus status,
            FailureCode code, String daysLeft) throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, leaf, s -> TestHttpServer.Reply.of(200, "ok"))) {
            ProbeResult r = run(check(HOST, TlsParams.newBuilder().setPort(server.port()).setConnectTo("127.0.0.1"),
                    Family.FAMILY_ANY));

            assertThat(r.status()).as(r.detail()).isEqualTo(status);
            assertThat(r.failure()).as(r.detail()).isEqualTo(code);
            if (daysLeft != null) {
                assertThat(r.attributes()).containsEntry("days_left", daysLeft);
            } else {
                assertThat(r.attributes()).containsKeys("days_left", "not_after", "subject", "issuer");
            }
        }
    }

    static Stream<Arguments> brokenServers() {
        return Stream.of(
                Arguments.of(TestTlsRawServer.Mode.PLAIN_HTTP, FailureCode.TLS_HANDSHAKE, "TLS handshake failed"),
                Arguments.of(TestTlsRawServer.Mode.CLOSE_AFTER_ACCEPT, FailureCode.TLS_HANDSHAKE, "TLS handshake failed"),
                Arguments.of(TestTlsRawServer.Mode.SILENT, FailureCode.TIMEOUT, "TLS handshake not finished within"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("brokenServers")
    void reportsHandshakeFailuresOfServersThatDoNotSpeakTls(TestTlsRawServer.Mode mode, FailureCode code, String detail)
            throws Exception {
        try (TestTlsRawServer server = new TestTlsRawServer(V4, mode)) {
            ProbeResult r = run(check(HOST, TlsParams.newBuilder().setPort(server.port()), Family.FAMILY_IPV4)
                    .toBuilder().setTimeoutMs(1000).build());

            assertThat(r.failure()).as(r.detail()).isEqualTo(code);
            assertThat(r.detail()).contains(detail);
        }
    }

    @Test
    void trustsOnlyTheChecksOwnCaWhenCaPemIsSet() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, validLeaf(), s -> TestHttpServer.Reply.of(200, "ok"))) {
            ProbeResult own = run(check(HOST, TlsParams.newBuilder().setPort(server.port()).setCaPem(CA.pem()), Family.FAMILY_IPV4));
            ProbeResult other = run(check(HOST, TlsParams.newBuilder().setPort(server.port()).setCaPem(ROGUE.pem()),
                    Family.FAMILY_IPV4));

            assertThat(own.status()).as(own.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(other.failure()).as(other.detail()).isEqualTo(FailureCode.TLS_CERT_UNTRUSTED);
        }
    }

    @Test
    void reportsAnUnreadableCaPemAsAnError() throws Exception {
        ProbeResult r = run(check(HOST, TlsParams.newBuilder().setPort(443).setCaPem("not a certificate"), Family.FAMILY_ANY));

        assertThat(r.status()).isEqualTo(ProbeStatus.ERROR);
        assertThat(r.failure()).isEqualTo(FailureCode.INTERNAL);
        assertThat(r.detail()).startsWith("tls.ca_pem");
    }

    @Test
    void usesServerNameForSniAndVerification() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, validLeaf(), s -> TestHttpServer.Reply.of(200, "ok"))) {
            ProbeResult byIp = run(check("127.0.0.1:" + server.port(), TlsParams.newBuilder().setServerName(HOST), Family.FAMILY_ANY));
            ProbeResult wrongName = run(check("127.0.0.1:" + server.port(), TlsParams.newBuilder().setServerName("nope.example.test"),
                    Family.FAMILY_ANY));

            assertThat(byIp.status()).as(byIp.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(wrongName.failure()).as(wrongName.detail()).isEqualTo(FailureCode.TLS_HOSTNAME_MISMATCH);
        }
    }

    @Test
    void reportsRefusedWhenPortClosed() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, V4)) {
            port = s.getLocalPort();
        }
        ProbeResult r = run(check(HOST, TlsParams.newBuilder().setPort(port), Family.FAMILY_IPV4));

        assertThat(r.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.REFUSED);
    }

    @Test
    void fallsBackToIpv4AsDegradedWhenIpv6Refuses() throws Exception {
        // The server listens on 127.0.0.1 only, so [::1] on the same port refuses.
        try (TestHttpServer server = TestHttpServer.https(V4, CA.leaf(List.of("dual.example.test"), List.of()),
                s -> TestHttpServer.Reply.of(200, "ok"))) {
            ProbeResult r = run(check("dual.example.test", TlsParams.newBuilder().setPort(server.port()), Family.FAMILY_ANY));

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.DEGRADED);
            assertThat(r.failure()).isEqualTo(FailureCode.REFUSED);
            assertThat(r.family()).isEqualTo(Family.FAMILY_IPV4);
            assertThat(r.detail()).contains("ipv6").contains("REFUSED").contains("fell back to ipv4");
        }
    }

    @Test
    void neverDialsAnAddressThePolicyDenies() throws Exception {
        try (TestTlsEnv denying = new TestTlsEnv(Map.of(HOST, List.of(V4)), TestTlsEnv.denying(V4), List.of(CA.certificate()));
                TlsProbe strict = new TlsProbe(denying.env(), denying.families());
                TestHttpServer server = TestHttpServer.https(V4, validLeaf(), s -> TestHttpServer.Reply.of(200, "ok"))) {
            ProbeResult r = strict.run(check(HOST, TlsParams.newBuilder().setPort(server.port()), Family.FAMILY_ANY),
                    System.nanoTime() + TimeUnit.SECONDS.toNanos(2)).toCompletableFuture().get(10, TimeUnit.SECONDS);

            assertThat(r.failure()).isEqualTo(FailureCode.POLICY_DENIED);
            assertThat(r.detail()).contains("test rule");
        }
    }

    @Test
    void reportsTheResolversFailureCode() throws Exception {
        ProbeResult r = run(check("missing.example.test", TlsParams.newBuilder().setPort(443), Family.FAMILY_ANY));

        assertThat(r.failure()).isEqualTo(FailureCode.DNS_NXDOMAIN);
    }
}
