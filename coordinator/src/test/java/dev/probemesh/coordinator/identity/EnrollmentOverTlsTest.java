package dev.probemesh.coordinator.identity;

import static dev.probemesh.coordinator.identity.IdentityHarness.csr;
import static dev.probemesh.coordinator.identity.IdentityHarness.newKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import dev.probemesh.common.tls.PinnedTrustManager;
import dev.probemesh.common.tls.Pem;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.EnrollRequest;
import dev.probemesh.proto.v1.EnrollResponse;
import dev.probemesh.proto.v1.EnrollServiceGrpc;
import dev.probemesh.proto.v1.Hello;
import dev.probemesh.proto.v1.ListAgentsRequest;
import dev.probemesh.proto.v1.RenewRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Enrollment, authorization, revocation and renewal over the real TLS transport on loopback. */
@Timeout(60)
class EnrollmentOverTlsTest {
    @TempDir
    Path dir;

    private IdentityHarness h;

    @AfterEach
    void stop() throws InterruptedException {
        if (h != null) {
            h.close();
        }
    }

    private IdentityHarness start() throws Exception {
        return start(Instant.now());
    }

    private IdentityHarness start(Instant clockStart) throws Exception {
        h = new IdentityHarness(dir, clockStart);
        return h;
    }

    /** The agent side of an enrollment, with only the pin. */
    private record Agent(KeyPair key, X509Certificate cert, EnrollResponse response) {
    }

    private Agent enroll(String token, String name) {
        KeyPair kp = newKey();
        EnrollResponse r = enrollRaw(EnrollRequest.newBuilder().setToken(token).setAgentName(name)
                .setCsrDer(ByteString.copyFrom(csr(kp, name))).build());
        return new Agent(kp, Pem.readCertificate(r.getCertificatePem()), r);
    }

    private EnrollResponse enrollRaw(EnrollRequest request) {
        ManagedChannel ch = h.pinnedChannel(h.ca.caPin());
        return EnrollServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS).enroll(request);
    }

    private String token(String site, Map<String, String> labels, String boundName) {
        return h.tokens.create(site, labels, Duration.ofHours(1), 1, boundName).token();
    }

    /** Opens Connect, sends one message, returns the first answer (or throws the call's status). */
    private static CoordinatorMessage exchange(ManagedChannel ch, AgentMessage message) throws Exception {
        CompletableFuture<CoordinatorMessage> first = new CompletableFuture<>();
        StreamObserver<AgentMessage> out = AgentServiceGrpc.newStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                .connect(new StreamObserver<>() {
                    @Override
                    public void onNext(CoordinatorMessage m) {
                        first.complete(m);
                    }

                    @Override
                    public void onError(Throwable t) {
                        first.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        first.completeExceptionally(new IllegalStateException("stream ended without an answer"));
                    }
                });
        out.onNext(message);
        try {
            return first.get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw (Exception) e.getCause();
        } finally {
            out.onCompleted();
        }
    }

    private static AgentMessage hello(String claimedName) {
        return AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentName(claimedName).setSite("claimed-site"))
                .build();
    }

    private static Status statusOf(Throwable t) {
        assertThat(t).isInstanceOf(StatusRuntimeException.class);
        return ((StatusRuntimeException) t).getStatus();
    }

    @Test
    void enrollmentIssuesCertificateNamingAgentAndSiteFromToken() throws Exception {
        start();
        Agent a = enroll(token("paris", Map.of("env", "prod", "role", "edge"), null), "edge-1");

        assertThat(a.response().getAgentName()).isEqualTo("edge-1");
        assertThat(a.response().getSite()).isEqualTo("paris");
        assertThat(a.response().getLabelsMap()).containsExactlyInAnyOrderEntriesOf(Map.of("env", "prod", "role", "edge"));
        assertThat(a.cert().getSubjectX500Principal().getName()).isEqualTo("CN=edge-1,OU=paris,O=probemesh-agent");
        assertThat(a.cert().getPublicKey()).isEqualTo(a.key().getPublic());
        assertThat(Pem.readCertificate(a.response().getCaPem())).isEqualTo(h.ca.caCert());
        assertThat(h.ca.issued(a.cert())).isTrue();

        CoordinatorMessage welcome = exchange(h.clientCertChannel(a.key().getPrivate(), a.cert()), hello("edge-1"));
        assertThat(welcome.getWelcome().getAgentName()).isEqualTo("edge-1");
        assertThat(welcome.getWelcome().getSite()).isEqualTo("paris");
        assertThat(welcome.getWelcome().getLabelsMap()).containsEntry("role", "edge");
    }

    enum BadToken { REUSED, EXPIRED, REVOKED, FORGED, UNKNOWN_ID, MALFORMED }

    @ParameterizedTest
    @EnumSource(BadToken.class)
    void refusesUnusableTokenWithReason(BadToken kind) throws Exception {
        start();
        String t = token("paris", Map.of(), null);
        Status.Code expectedCode = Status.Code.UNAUTHENTICATED;
        String expectedMessage;
        switch (kind) {
            case REUSED -> {
                enroll(t, "first");
                expectedMessage = "already used";
            }
            case EXPIRED -> {
                h.clock.advance(Duration.ofHours(1));
                expectedMessage = "expired";
            }
            case REVOKED -> {
                h.tokens.revoke(t.substring(5, 21));
                expectedMessage = "revoked";
            }
            case FORGED -> {
                // right id, secret of the same shape but wrong
                t = t.substring(0, t.indexOf('.') + 1) + "A".repeat(43);
                expectedMessage = "not known";
            }
            case UNKNOWN_ID -> {
                t = "pmjt_0123456789abcdef." + t.substring(t.indexOf('.') + 1);
                expectedMessage = "not known";
            }
            case MALFORMED -> {
                t = "hello";
                expectedCode = Status.Code.INVALID_ARGUMENT;
                expectedMessage = "malformed";
            }
            default -> throw new IllegalStateException();
        }
        String token = t;
        Status s = statusOf(catchThrowableOfType(StatusRuntimeException.class, () -> enroll(token, "second")));
        assertThat(s.getCode()).isEqualTo(expectedCode);
        assertThat(s.getDescription()).contains(expectedMessage);
        assertThat(h.registry.find("second")).isEmpty();
    }

    @Test
    void tokenBoundNameWinsOverRequestedNameAndStreamIdentityComesFromCertificate() throws Exception {
        start();
        Agent a = enroll(token("berlin", Map.of(), "edge-7"), "someone-else");

        assertThat(a.response().getAgentName()).isEqualTo("edge-7");
        assertThat(a.cert().getSubjectX500Principal().getName()).startsWith("CN=edge-7,");
        // the hello claims another agent and site: the Principal (and so the Welcome) ignores it
        CoordinatorMessage welcome = exchange(h.clientCertChannel(a.key().getPrivate(), a.cert()), hello("edge-1"));
        assertThat(welcome.getWelcome().getAgentName()).isEqualTo("edge-7");
        assertThat(welcome.getWelcome().getSite()).isEqualTo("berlin");
    }

    @Test
    void refusesNameHeldByLiveAgentUnlessTokenIsBoundToIt() throws Exception {
        start();
        enroll(token("paris", Map.of(), null), "edge-1");
        String unbound = token("paris", Map.of(), null);

        Status s = statusOf(catchThrowableOfType(StatusRuntimeException.class, () -> enroll(unbound, "edge-1")));
        assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(s.getDescription()).contains("already enrolled").contains("--agent-name edge-1");
        // the refused request did not burn the token
        assertThat(enroll(unbound, "edge-2").response().getAgentName()).isEqualTo("edge-2");

        Agent again = enroll(token("lyon", Map.of(), "edge-1"), "edge-1");
        assertThat(again.response().getSite()).isEqualTo("lyon");
    }

    @Test
    void revokedAgentIsRefusedOnItsNextCallAndListenerHears() throws Exception {
        start();
        AtomicReference<String> heard = new AtomicReference<>();
        h.registry.addRevocationListener(heard::set);
        Agent a = enroll(token("paris", Map.of(), null), "edge-1");
        ManagedChannel ch = h.clientCertChannel(a.key().getPrivate(), a.cert());
        assertThat(exchange(ch, hello("edge-1")).hasWelcome()).isTrue();

        assertThat(h.registry.revokeAgent("edge-1")).isTrue();

        assertThat(heard.get()).isEqualTo("edge-1");
        Status s = statusOf(catchThrowableOfType(Exception.class, () -> exchange(ch, hello("edge-1"))));
        assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(s.getDescription()).contains("revoked");
        // and an unbound token cannot take the revoked name over
        Status taken = statusOf(catchThrowableOfType(StatusRuntimeException.class,
                () -> enroll(token("paris", Map.of(), null), "edge-1")));
        assertThat(taken.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    @Test
    void renewalKeepsIdentityWithNewKeyAndLaterExpiry() throws Exception {
        // Enrolled 17 h ago (past 2/3 of the 24 h life) and renewed now; both certificates are
        // valid for the TLS layer, which checks against the real clock.
        start(Instant.now().minus(Duration.ofHours(17)));
        Agent a = enroll(token("paris", Map.of("env", "prod"), null), "edge-1");
        h.clock.set(Instant.now());
        KeyPair next = newKey();

        CoordinatorMessage m = exchange(h.clientCertChannel(a.key().getPrivate(), a.cert()),
                AgentMessage.newBuilder().setRenew(RenewRequest.newBuilder()
                        .setCsrDer(ByteString.copyFrom(csr(next, "whatever-name")))).build());

        assertThat(m.getRenewed().getError()).isEmpty();
        X509Certificate renewed = Pem.readCertificate(m.getRenewed().getCertificatePem());
        assertThat(renewed.getSubjectX500Principal()).isEqualTo(a.cert().getSubjectX500Principal());
        assertThat(List.copyOf(renewed.getSubjectAlternativeNames()))
                .isEqualTo(List.copyOf(a.cert().getSubjectAlternativeNames()));
        assertThat(renewed.getNotAfter()).isAfter(a.cert().getNotAfter());
        assertThat(renewed.getPublicKey()).isEqualTo(next.getPublic());
        assertThat(renewed.getSerialNumber()).isNotEqualTo(a.cert().getSerialNumber());
        CoordinatorMessage welcome = exchange(h.clientCertChannel(next.getPrivate(), renewed), hello("x"));
        assertThat(welcome.getWelcome().getAgentName()).isEqualTo("edge-1");
        assertThat(welcome.getWelcome().getLabelsMap()).containsEntry("env", "prod");
    }

    @Test
    void agentWhoseCertificateExpiredIsRefusedAndCanReEnrollWithNewToken() throws Exception {
        // The coordinator's clock starts two days ago: the first certificate (24 h) is expired for
        // the TLS layer, which checks validity against the real clock.
        start(Instant.now().minus(Duration.ofDays(2)));
        Agent old = enroll(token("paris", Map.of(), null), "edge-1");
        h.clock.set(Instant.now());

        Throwable refused = catchThrowableOfType(Exception.class,
                () -> exchange(h.clientCertChannel(old.key().getPrivate(), old.cert()), hello("edge-1")));
        assertThat(statusOf(refused).getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);

        Agent fresh = enroll(token("paris", Map.of(), null), "edge-1");
        CoordinatorMessage welcome = exchange(h.clientCertChannel(fresh.key().getPrivate(), fresh.cert()), hello("x"));
        assertThat(welcome.getWelcome().getAgentName()).isEqualTo("edge-1");
    }

    @Test
    void adminApiNeedsAdminCertificate() throws Exception {
        start();
        ListAgentsRequest req = ListAgentsRequest.getDefaultInstance();

        Status none = statusOf(catchThrowableOfType(StatusRuntimeException.class, () -> AdminServiceGrpc
                .newBlockingStub(h.noClientCertChannel()).withDeadlineAfter(20, TimeUnit.SECONDS).listAgents(req)));
        assertThat(none.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(none.getDescription()).contains("probemesh context add");

        Agent a = enroll(token("paris", Map.of(), null), "edge-1");
        Status agent = statusOf(catchThrowableOfType(StatusRuntimeException.class, () -> AdminServiceGrpc
                .newBlockingStub(h.clientCertChannel(a.key().getPrivate(), a.cert()))
                .withDeadlineAfter(20, TimeUnit.SECONDS).listAgents(req)));
        assertThat(agent.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(agent.getDescription()).isEqualTo("agent certificates cannot call the admin API");

        CertificateAuthority.AdminCredential cred = h.identity.adminCredential();
        assertThat(cred.certificate()).isEqualTo(dir.resolve("admin/admin.crt"));
        ManagedChannel admin = h.clientCertChannel(
                Pem.readPrivateKey(java.nio.file.Files.readString(cred.key())),
                Pem.readCertificate(java.nio.file.Files.readString(cred.certificate())));
        assertThat(AdminServiceGrpc.newBlockingStub(admin).withDeadlineAfter(20, TimeUnit.SECONDS).listAgents(req)
                .getAgents(0).getName()).isEqualTo("ADMIN:admin");
        // and an admin certificate is not an agent
        Status adminAsAgent = statusOf(catchThrowableOfType(Exception.class, () -> exchange(admin, hello("edge-9"))));
        assertThat(adminAsAgent.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    @Test
    void agentStreamWithoutClientCertificateIsUnauthenticated() throws Exception {
        start();
        Status s = statusOf(catchThrowableOfType(Exception.class, () -> exchange(h.noClientCertChannel(), hello("edge-1"))));
        assertThat(s.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    }

    enum BadCsr { EMPTY, GARBAGE, TRUNCATED, WRONG_SIGNATURE, RSA_1024, TOO_LARGE }

    @ParameterizedTest
    @EnumSource(BadCsr.class)
    void refusesBadCsrAsInvalidArgumentAndKeepsServing(BadCsr kind) throws Exception {
        start();
        String t = token("paris", Map.of(), null);
        byte[] good = csr(newKey(), "edge-1");
        byte[] bad = switch (kind) {
            case EMPTY -> new byte[0];
            case GARBAGE -> "not a csr at all".getBytes();
            case TRUNCATED -> java.util.Arrays.copyOf(good, good.length / 2);
            case WRONG_SIGNATURE -> {
                byte[] b = good.clone();
                b[b.length - 5] ^= 0x5a;
                yield b;
            }
            case RSA_1024 -> {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(1024);
                yield csr(g.generateKeyPair(), "edge-1");
            }
            case TOO_LARGE -> new byte[Csrs.MAX_CSR_BYTES + 1];
        };
        Status s = statusOf(catchThrowableOfType(StatusRuntimeException.class, () -> enrollRaw(EnrollRequest.newBuilder()
                .setToken(t).setAgentName("edge-1").setCsrDer(ByteString.copyFrom(bad)).build())));
        assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(s.getDescription()).containsIgnoringCase("csr");
        // the token survived the refused request, and the server still works
        assertThat(enroll(t, "edge-1").response().getAgentName()).isEqualTo("edge-1");
    }

    @Test
    void refusesInvalidAgentName() throws Exception {
        start();
        Status s = statusOf(catchThrowableOfType(StatusRuntimeException.class,
                () -> enroll(token("paris", Map.of(), null), "Edge 1/..")));
        assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(s.getDescription()).contains("agent_name 'Edge 1/..' is not a valid agent name");
    }

    @Test
    void oversizedRequestIsResourceExhausted() throws Exception {
        start();
        EnrollRequest huge = EnrollRequest.newBuilder().setToken(token("paris", Map.of(), null)).setAgentName("edge-1")
                .setCsrDer(ByteString.copyFrom(new byte[TlsServerSetup.MAX_INBOUND_MESSAGE_BYTES + 1024])).build();
        Status s = statusOf(catchThrowableOfType(StatusRuntimeException.class, () -> enrollRaw(huge)));
        assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    }

    @Test
    void clientWithAnotherCoordinatorsPinRefusesTheServer() throws Exception {
        start();
        CertificateAuthority other = CertificateAuthority.loadOrCreate(dir.resolve("other-ca"), h.clock);
        ManagedChannel ch = h.pinnedChannel(other.caPin());
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> EnrollServiceGrpc
                .newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS).enroll(EnrollRequest.getDefaultInstance()));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(causes(e)).anySatisfy(c -> assertThat(c).isInstanceOf(PinnedTrustManager.PinMismatchException.class));
    }

    private static List<Throwable> causes(Throwable t) {
        List<Throwable> out = new java.util.ArrayList<>();
        for (Throwable c = t; c != null && out.size() < 20; c = c.getCause()) {
            out.add(c);
        }
        return out;
    }

    @Test
    void certificateFromOurCaThatTheRegistryNeverRecordedIsRefused() throws Exception {
        start();
        KeyPair kp = newKey();
        // signed by the CA but not through enrollment (e.g. the database was restored from an old backup)
        X509Certificate stray = h.ca.signAgent(kp.getPublic(), "edge-1", "paris", Map.of(), Duration.ofHours(1));

        Status s = statusOf(catchThrowableOfType(Exception.class,
                () -> exchange(h.clientCertChannel(kp.getPrivate(), stray), hello("edge-1"))));
        assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    @Test
    void insecureModeLetsEveryoneInAsInsecurePrincipal() throws Exception {
        io.grpc.Server plain = io.grpc.Grpc.newServerBuilderForPort(0, io.grpc.InsecureServerCredentials.create())
                .addService(new IdentityHarness.EchoAdminService())
                .intercept(AuthInterceptor.insecure())
                .build().start();
        ManagedChannel ch = io.grpc.Grpc.newChannelBuilder("127.0.0.1:" + plain.getPort(),
                io.grpc.InsecureChannelCredentials.create()).build();
        try {
            assertThat(AdminServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .listAgents(ListAgentsRequest.getDefaultInstance()).getAgents(0).getName()).isEqualTo("INSECURE:");
        } finally {
            ch.shutdownNow();
            plain.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void plaintextClientIsRefusedByTheTlsServer() throws Exception {
        start();
        ManagedChannel ch = h.channel(io.grpc.InsecureChannelCredentials.create());
        Status s = statusOf(catchThrowableOfType(StatusRuntimeException.class, () -> AdminServiceGrpc
                .newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS).listAgents(ListAgentsRequest.getDefaultInstance())));
        assertThat(s.getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.INTERNAL);
    }

    @Test
    void hostsRacingForTheSameFreeNameGetItOnlyOnce() throws Exception {
        start();
        List<String> tokens = java.util.stream.IntStream.range(0, 4)
                .mapToObj(i -> token("paris", Map.of(), null)).toList();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<Status.Code>> results = new java.util.ArrayList<>();
            for (String t : tokens) {
                results.add(pool.submit(() -> {
                    try {
                        enroll(t, "edge-1");
                        return Status.Code.OK;
                    } catch (StatusRuntimeException e) {
                        return e.getStatus().getCode();
                    }
                }));
            }
            List<Status.Code> codes = new java.util.ArrayList<>();
            for (var f : results) {
                codes.add(f.get(30, TimeUnit.SECONDS));
            }
            assertThat(codes).containsOnlyOnce(Status.Code.OK)
                    .containsOnly(Status.Code.OK, Status.Code.PERMISSION_DENIED);
        } finally {
            pool.shutdownNow();
        }
    }
}
