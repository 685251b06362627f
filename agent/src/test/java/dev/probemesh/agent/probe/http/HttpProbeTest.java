package dev.probemesh.agent.probe.http;

import static dev.probemesh.agent.testing.TestTlsEnv.V4;
import static dev.probemesh.agent.testing.TestTlsEnv.V6;
import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.testing.TestCerts;
import dev.probemesh.agent.testing.TestHttpServer;
import dev.probemesh.agent.testing.TestHttpServer.Reply;
import dev.probemesh.agent.testing.TestTlsEnv;
import dev.probemesh.agent.testing.TestTlsRawServer;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.HttpParams;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@Timeout(30)
class HttpProbeTest {
    static final String ORIGIN = "origin.example.test";
    /** Known to the certificate but not to the test resolver: only connect_to can reach it. */
    static final String UNRESOLVABLE = "home.example.test";
    static final InetAddress METADATA = literal("169.254.169.254");
    static final TestCerts CA = TestCerts.ca("probemesh test CA");
    static final TestCerts ROGUE = TestCerts.ca("rogue CA");
    static final Map<String, Reply> REPLIES = Map.ofEntries(
            Map.entry("/health", Reply.of(200, "healthy")),
            Map.entry("/missing", Reply.of(404, "not here")),
            Map.entry("/cdn-dns", new Reply(530, Map.of("cf-ray", "8f1e2d3c4b5a6978-AMS", "Server", "cloudflare"),
                    "error code: 1016")),
            Map.entry("/cdn-521", new Reply(521, Map.of("Server", "cloudflare"), "error code: 521")),
            Map.entry("/cdn-522", Reply.of(522, "error code: 522")),
            Map.entry("/waf", new Reply(403, Map.of("cf-mitigated", "challenge"), "<html>blocked</html>")),
            Map.entry("/waf-page", Reply.of(503, "<title>Just a moment...</title>")),
            Map.entry("/rate", new Reply(429, Map.of("Retry-After", "7"), "slow down")),
            Map.entry("/big", Reply.of(200, "x".repeat(200 * 1024) + "TAIL")),
            Map.entry("/r1", new Reply(302, Map.of("Location", "/r2"), "")),
            Map.entry("/r2", new Reply(301, Map.of("Location", "/health?from=r2"), "")),
            Map.entry("/loop", new Reply(302, Map.of("Location", "/loop"), "")),
            Map.entry("/to-metadata", new Reply(302, Map.of("Location", "http://169.254.169.254/latest/meta-data/"), "")));
    static final Function<TestHttpServer.Seen, Reply> ROUTES = seen -> {
        String path = seen.path().contains("?") ? seen.path().substring(0, seen.path().indexOf('?')) : seen.path();
        if (path.equals("/echo")) {
            return Reply.of(200, seen.method() + " " + seen.body() + " " + seen.headers().getOrDefault("X-probe", List.of()));
        }
        return REPLIES.getOrDefault(path, Reply.of(404, "no route"));
    };

    static TestTlsEnv env;
    static HttpProbe probe;
    static TestHttpServer http;

    @BeforeAll
    static void start() throws Exception {
        env = new TestTlsEnv(Map.of(ORIGIN, List.of(V4), "dual.example.test", List.of(V6, V4)),
                TestTlsEnv.denying(METADATA), List.of(CA.certificate()));
        probe = new HttpProbe(env.env(), env.families());
        http = TestHttpServer.http(V4, ROUTES);
    }

    @AfterAll
    static void stop() {
        http.close();
        probe.close();
        env.close();
    }

    static TestCerts.Issued validLeaf() {
        return CA.leaf(List.of(ORIGIN, UNRESOLVABLE, "dual.example.test"), List.of("127.0.0.1", "::1"));
    }

    static Check check(String kind, String url, UnaryOperator<HttpParams.Builder> params, Family family) {
        return Check.newBuilder().setId("http-test").setKind(kind).setTarget(url).setFamily(family).setTimeoutMs(5000)
                .setHttp(params.apply(HttpParams.newBuilder())).build();
    }

    static ProbeResult run(Check c) throws Exception {
        return run(probe, c);
    }

    static ProbeResult run(HttpProbe p, Check c) throws Exception {
        return p.run(c, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(c.getTimeoutMs()))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void dialsConnectToWhileHostAndSniStayTheUrlsHost() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, validLeaf(), ROUTES)) {
            String url = "https://" + UNRESOLVABLE + ":" + server.port() + "/health";
            ProbeResult r = run(check("https", url, b -> b.setConnectTo("127.0.0.1"), Family.FAMILY_ANY));

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(r.attributes()).containsEntry("http_status", "200").containsKey("tls_version");
            assertThat(r.address()).isEqualTo("127.0.0.1");
            assertThat(r.timings().connectUs()).isPositive();
            assertThat(r.timings().tlsUs()).isPositive();
            assertThat(r.timings().firstByteUs()).isPositive();
            assertThat(r.timings().totalUs()).isGreaterThanOrEqualTo(r.timings().tlsUs());
            TestHttpServer.Seen seen = server.seen().get(0);
            assertThat(seen.host()).isEqualTo(UNRESOLVABLE + ":" + server.port());
            assertThat(seen.sni()).isEqualTo(UNRESOLVABLE);
            assertThat(seen.headers().get("Connection")).containsExactly("close");
        }
    }

    static Stream<Arguments> answers() {
        return Stream.of(
                Arguments.of("/health", b(x -> x), ProbeStatus.OK, null, "http_status", "200"),
                Arguments.of("/missing", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_STATUS, "http_status", "404"),
                Arguments.of("/missing", b(x -> x.addExpectStatus(404)), ProbeStatus.OK, null, "http_status", "404"),
                Arguments.of("/health", b(x -> x.setExpectBodyRegex("^sick")), ProbeStatus.FAIL, FailureCode.BODY_MISMATCH,
                        "http_status", "200"),
                Arguments.of("/health", b(x -> x.setExpectBodyRegex("heal+thy")), ProbeStatus.OK, null, "http_status", "200"),
                Arguments.of("/cdn-dns", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_CDN_ORIGIN_DNS, "cf_error", "1016"),
                Arguments.of("/cdn-dns", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_CDN_ORIGIN_DNS, "cf_ray",
                        "8f1e2d3c4b5a6978-AMS"),
                Arguments.of("/cdn-521", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_CDN_ORIGIN_DOWN, "cf_error", "521"),
                Arguments.of("/cdn-521", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_CDN_ORIGIN_DOWN, "server", "cloudflare"),
                Arguments.of("/cdn-522", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_CDN_ORIGIN_DOWN, "http_status", "522"),
                Arguments.of("/waf", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_WAF_CHALLENGE, "http_status", "403"),
                Arguments.of("/waf-page", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_WAF_CHALLENGE, "http_status", "503"),
                Arguments.of("/rate", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_RATE_LIMITED, "retry_after", "7"),
                Arguments.of("/big", b(x -> x.setExpectBodyRegex("TAIL")), ProbeStatus.FAIL, FailureCode.BODY_MISMATCH,
                        "body_truncated", "true"),
                Arguments.of("/r1", b(x -> x), ProbeStatus.FAIL, FailureCode.HTTP_STATUS, "http_status", "302"),
                Arguments.of("/r1", b(x -> x.setFollowRedirects(true)), ProbeStatus.OK, null, "redirects", "2"),
                Arguments.of("/loop", b(x -> x.setFollowRedirects(true)), ProbeStatus.FAIL, FailureCode.HTTP_STATUS,
                        "redirects", "5"),
                Arguments.of("/to-metadata", b(x -> x.setFollowRedirects(true)), ProbeStatus.FAIL, FailureCode.POLICY_DENIED,
                        "redirects", "1"));
    }

    static UnaryOperator<HttpParams.Builder> b(UnaryOperator<HttpParams.Builder> f) {
        return f;
    }

    @ParameterizedTest(name = "{0} {2} {3} ({4}={5})")
    @MethodSource("answers")
    void judgesTheAnswer(String path, UnaryOperator<HttpParams.Builder> params, ProbeStatus status, FailureCode code,
            String attribute, String value) throws Exception {
        ProbeResult r = run(check("http", "http://" + ORIGIN + ":" + http.port() + path, params, Family.FAMILY_IPV4));

        assertThat(r.status()).as(r.detail()).isEqualTo(status);
        assertThat(r.failure()).as(r.detail()).isEqualTo(code);
        assertThat(r.attributes()).as(r.detail()).containsEntry(attribute, value);
    }

    @Test
    void followsARedirectChainToTheFinalUrl() throws Exception {
        ProbeResult r = run(check("http", "http://" + ORIGIN + ":" + http.port() + "/r1", x -> x.setFollowRedirects(true),
                Family.FAMILY_ANY));

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("final_url", "http://" + ORIGIN + ":" + http.port() + "/health?from=r2");
    }

    @Test
    void refusesARedirectToADeniedAddressNamingTheRule() throws Exception {
        ProbeResult r = run(check("http", "http://" + ORIGIN + ":" + http.port() + "/to-metadata",
                x -> x.setFollowRedirects(true), Family.FAMILY_ANY));

        assertThat(r.failure()).isEqualTo(FailureCode.POLICY_DENIED);
        assertThat(r.detail()).contains("169.254.169.254").contains("test rule").contains("redirect");
    }

    @Test
    void sendsMethodBodyAndHeaders() throws Exception {
        ProbeResult r = run(check("http", "http://" + ORIGIN + ":" + http.port() + "/echo",
                x -> x.setMethod("POST").setBody("ping=1").putHeaders("X-Probe", "yes").setExpectBodyRegex("^POST ping=1 \\[yes\\]$"),
                Family.FAMILY_ANY));

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
    }

    static Stream<Arguments> tlsFailures() {
        Instant now = Instant.now();
        return Stream.of(
                Arguments.of("expired", CA.leaf(List.of(ORIGIN), List.of(), now.minus(Duration.ofDays(90)),
                        now.minus(Duration.ofDays(2))), FailureCode.TLS_CERT_EXPIRED),
                Arguments.of("untrusted CA", ROGUE.leaf(List.of(ORIGIN), List.of()), FailureCode.TLS_CERT_UNTRUSTED),
                Arguments.of("wrong host", CA.leaf(List.of("other.example.test"), List.of("127.0.0.1")),
                        FailureCode.TLS_HOSTNAME_MISMATCH));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("tlsFailures")
    void classifiesCertificateFailures(String name, TestCerts.Issued leaf, FailureCode code) throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, leaf, ROUTES)) {
            ProbeResult r = run(check("https", "https://" + ORIGIN + ":" + server.port() + "/health", x -> x,
                    Family.FAMILY_IPV4));

            assertThat(r.status()).isEqualTo(ProbeStatus.FAIL);
            assertThat(r.failure()).as(r.detail()).isEqualTo(code);
            assertThat(server.seen()).isEmpty();
        }
    }

    @Test
    void skipsVerificationOnlyWhenAsked() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, ROGUE.leaf(List.of("other.example.test"), List.of()), ROUTES)) {
            ProbeResult r = run(check("https", "https://" + ORIGIN + ":" + server.port() + "/health",
                    x -> x.setInsecureSkipVerify(true), Family.FAMILY_IPV4));

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        }
    }

    @Test
    void trustsOnlyTheChecksCaPemWhenSet() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, validLeaf(), ROUTES)) {
            String url = "https://" + ORIGIN + ":" + server.port() + "/health";
            ProbeResult own = run(check("https", url, x -> x.setCaPem(CA.pem()), Family.FAMILY_IPV4));
            ProbeResult other = run(check("https", url, x -> x.setCaPem(ROGUE.pem()), Family.FAMILY_IPV4));

            assertThat(own.status()).as(own.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(other.failure()).as(other.detail()).isEqualTo(FailureCode.TLS_CERT_UNTRUSTED);
        }
    }

    static Stream<Arguments> brokenServers() {
        return Stream.of(
                Arguments.of("https", TestTlsRawServer.Mode.PLAIN_HTTP, FailureCode.TLS_HANDSHAKE, "TLS handshake failed"),
                Arguments.of("https", TestTlsRawServer.Mode.CLOSE_AFTER_ACCEPT, FailureCode.TLS_HANDSHAKE, "TLS handshake failed"),
                Arguments.of("https", TestTlsRawServer.Mode.SILENT, FailureCode.TIMEOUT, "TLS handshake not finished within"),
                Arguments.of("http", TestTlsRawServer.Mode.SILENT, FailureCode.TIMEOUT,
                        "no response within"),
                Arguments.of("http", TestTlsRawServer.Mode.CLOSE_AFTER_ACCEPT, FailureCode.HTTP_PROTOCOL,
                        "before any response"));
    }

    @ParameterizedTest(name = "{0} to a server that {1} -> {2}")
    @MethodSource("brokenServers")
    void namesThePhaseABrokenServerFailedIn(String scheme, TestTlsRawServer.Mode mode, FailureCode code, String detail)
            throws Exception {
        try (TestTlsRawServer server = new TestTlsRawServer(V4, mode)) {
            // A short deadline: the silent server makes the probe wait for all of it.
            ProbeResult r = run(check(scheme, scheme + "://" + ORIGIN + ":" + server.port() + "/health", x -> x,
                    Family.FAMILY_IPV4).toBuilder().setTimeoutMs(1000).build());

            assertThat(r.failure()).as(r.detail()).isEqualTo(code);
            assertThat(r.detail()).contains(detail);
        }
    }

    @Test
    void verifiesAnIpLiteralUrlAgainstTheCertificatesAddress() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V4, validLeaf(), ROUTES)) {
            ProbeResult r = run(check("https", "https://127.0.0.1:" + server.port() + "/health", x -> x, Family.FAMILY_ANY));

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(server.seen().get(0).host()).isEqualTo("127.0.0.1:" + server.port());
        }
    }

    @Test
    void dialsAnIpv6LiteralUrlWithABracketedHostHeader() throws Exception {
        try (TestHttpServer server = TestHttpServer.http(V6, ROUTES)) {
            ProbeResult r = run(check("http", "http://[::1]:" + server.port() + "/health", x -> x, Family.FAMILY_ANY));

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(r.family()).isEqualTo(Family.FAMILY_IPV6);
            assertThat(server.seen().get(0).host()).isEqualTo("[::1]:" + server.port());
        }
    }

    @Test
    void reportsAnErrorOnceClosed() throws Exception {
        HttpProbe closed = new HttpProbe(env.env(), env.families());
        closed.close();

        ProbeResult r = run(closed, check("http", "http://" + ORIGIN + ":" + http.port() + "/health", x -> x, Family.FAMILY_ANY));

        assertThat(r.status()).isEqualTo(ProbeStatus.ERROR);
    }

    @Test
    void reportsRefusedWhenPortClosed() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, V4)) {
            port = s.getLocalPort();
        }
        ProbeResult r = run(check("https", "https://" + ORIGIN + ":" + port + "/", x -> x, Family.FAMILY_IPV4));

        assertThat(r.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.REFUSED);
        assertThat(r.family()).isEqualTo(Family.FAMILY_IPV4);
    }

    @Test
    void reachesAnIpv6OnlyServerWhenPinnedToIpv6() throws Exception {
        try (TestHttpServer server = TestHttpServer.https(V6, validLeaf(), ROUTES)) {
            ProbeResult r = run(check("https", "https://dual.example.test:" + server.port() + "/health", x -> x,
                    Family.FAMILY_IPV6));

            assertThat(r.status()).as(r.detail() + " " + r.timings()).isEqualTo(ProbeStatus.OK);
            assertThat(r.family()).isEqualTo(Family.FAMILY_IPV6);
            assertThat(InetAddress.getByName(r.address())).isEqualTo(V6);
        }
    }

    @Test
    void fallsBackToIpv4AsDegradedWithTheIpv6FailureInTheDetail() throws Exception {
        try (TestHttpServer server = TestHttpServer.http(V4, ROUTES)) {
            ProbeResult r = run(check("http", "http://dual.example.test:" + server.port() + "/health", x -> x,
                    Family.FAMILY_ANY));

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.DEGRADED);
            assertThat(r.failure()).isEqualTo(FailureCode.REFUSED);
            assertThat(r.family()).isEqualTo(Family.FAMILY_IPV4);
            assertThat(r.detail()).contains("HTTP 200").contains("ipv6").contains("fell back to ipv4");
        }
    }

    @Test
    void reportsTheResolversFailureCode() throws Exception {
        ProbeResult r = run(check("https", "https://missing.example.test/", x -> x, Family.FAMILY_ANY));

        assertThat(r.failure()).isEqualTo(FailureCode.DNS_NXDOMAIN);
    }

    @Test
    void neverDialsADeniedConnectToAddress() throws Exception {
        try (TestTlsEnv strictEnv = new TestTlsEnv(Map.of(), TestTlsEnv.denying(V4), List.of());
                HttpProbe strict = new HttpProbe(strictEnv.env(), strictEnv.families());
                TestHttpServer server = TestHttpServer.http(V4, ROUTES)) {
            ProbeResult r = run(strict, check("http", "http://" + ORIGIN + ":" + server.port() + "/health",
                    x -> x.setConnectTo("127.0.0.1"), Family.FAMILY_ANY));

            assertThat(r.failure()).isEqualTo(FailureCode.POLICY_DENIED);
            assertThat(r.detail()).contains("test rule");
            assertThat(server.seen()).isEmpty();
        }
    }

    private static InetAddress literal(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
