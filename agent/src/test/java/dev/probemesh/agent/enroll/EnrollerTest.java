package dev.probemesh.agent.enroll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.probemesh.common.tls.Pem;
import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.Hello;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The agent's enrollment and credential lifecycle against a TLS coordinator on loopback. */
@Timeout(60)
class EnrollerTest {
    @TempDir
    Path dataDir;

    private TestCoordinator coordinator;
    private final Enroller enroller = new Enroller(Duration.ofSeconds(20));

    @BeforeEach
    void start() throws Exception {
        coordinator = new TestCoordinator();
    }

    @AfterEach
    void stop() throws InterruptedException {
        coordinator.close();
    }

    @Test
    void enrollsAndStoresIdentityWithPrivateKeyReadableOnlyByOwner() throws Exception {
        AgentCredentials creds = enroller.enroll(coordinator.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir);

        assertThat(creds.name()).isEqualTo("edge-1");
        assertThat(creds.site()).isEqualTo("paris");
        assertThat(creds.labels()).isEqualTo(Map.of("env", "prod"));
        assertThat(creds.coordinator()).contains(coordinator.address());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve(AgentCredentials.KEY))))
                .isEqualTo("rw-------");
        assertThat(Pem.readCertificate(Files.readString(dataDir.resolve(AgentCredentials.CA))))
                .isEqualTo(coordinator.caCert);
        // the request carried a CSR for the stored key, and no private key
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(
                coordinator.lastRequest.get().getCsrDer().toByteArray());
        assertThat(csr.getSubjectPublicKeyInfo().getEncoded()).isEqualTo(creds.certificate().getPublicKey().getEncoded());
        assertThat(coordinator.lastRequest.get().getToken()).isEqualTo("pmjt_x.y");

        AgentCredentials loaded = AgentCredentials.load(dataDir);
        assertThat(loaded.name()).isEqualTo("edge-1");
        assertThat(loaded.notAfter()).isEqualTo(creds.notAfter());
    }

    @Test
    void refusesCoordinatorWhoseCaDoesNotMatchThePin() throws Exception {
        try (TestCoordinator impostor = new TestCoordinator()) {
            // the agent was given the real coordinator's pin but reaches another CA's server
            EnrollException e = catchThrowableOfType(EnrollException.class,
                    () -> enroller.enroll(impostor.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir));

            assertThat(e.reason()).isEqualTo(EnrollException.Reason.PIN_MISMATCH);
            assertThat(e.getMessage()).contains(coordinator.pin()).contains("man in")
                    .contains(impostor.pin());
            assertThat(impostor.lastRequest.get()).as("the token never reached the impostor").isNull();
            assertThat(AgentCredentials.exists(dataDir)).isFalse();
        }
    }

    @Test
    void reportsCoordinatorsRefusalWithItsReason() {
        coordinator.refuseWith.set(Status.UNAUTHENTICATED.withDescription("join token abc expired at 2026-01-01"));

        EnrollException e = catchThrowableOfType(EnrollException.class,
                () -> enroller.enroll(coordinator.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir));

        assertThat(e.reason()).isEqualTo(EnrollException.Reason.REFUSED);
        assertThat(e.getMessage()).contains("UNAUTHENTICATED").contains("join token abc expired");
        assertThat(AgentCredentials.exists(dataDir)).isFalse();
    }

    @Test
    void refusesMalformedPinBeforeDialing() {
        EnrollException e = catchThrowableOfType(EnrollException.class,
                () -> enroller.enroll(coordinator.address(), "pmjt_x.y", "sha256:abc", "edge-1", dataDir));
        assertThat(e.reason()).isEqualTo(EnrollException.Reason.INVALID_INPUT);
        assertThat(coordinator.lastRequest.get()).isNull();
    }

    @Test
    void unreachableCoordinatorIsReportedAsUnreachable() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        EnrollException e = catchThrowableOfType(EnrollException.class,
                () -> enroller.enroll("127.0.0.1:" + port, "pmjt_x.y", coordinator.pin(), "edge-1", dataDir));
        assertThat(e.reason()).isEqualTo(EnrollException.Reason.UNREACHABLE);
    }

    @Test
    void storedCredentialsAuthenticateTheAgentOverMutualTls() throws Exception {
        AgentCredentials creds = enroller.enroll(coordinator.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir);

        ManagedChannel ch = Grpc.newChannelBuilder(coordinator.address(), AgentCredentials.load(dataDir)
                .channelCredentials()).build();
        try {
            assertThat(welcomeName(ch)).isEqualTo("CN=edge-1,OU=paris,O=probemesh-agent");
        } finally {
            ch.shutdownNow();
        }
        assertThat(creds.expired(Instant.now())).isFalse();
    }

    private static String welcomeName(ManagedChannel ch) throws Exception {
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
                    }
                });
        out.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentName("edge-1")).build());
        try {
            return first.get(20, TimeUnit.SECONDS).getWelcome().getAgentName();
        } finally {
            out.onCompleted();
        }
    }

    @Test
    void renewalDueAfterTwoThirdsOfLifeAndExpiredAtNotAfter() throws Exception {
        AgentCredentials c = enroller.enroll(coordinator.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir);
        Duration life = Duration.between(c.notBefore(), c.notAfter());
        Instant twoThirds = c.notBefore().plus(life.multipliedBy(2).dividedBy(3));

        assertThat(c.renewalDue(twoThirds.minusSeconds(1))).isFalse();
        assertThat(c.renewalDue(twoThirds)).isTrue();
        assertThat(c.expired(c.notAfter().minusSeconds(1))).isFalse();
        assertThat(c.expired(c.notAfter())).isTrue();
    }

    @Test
    void storeRenewedSwapsKeyAndCertificateTogether() throws Exception {
        AgentCredentials c = enroller.enroll(coordinator.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir);
        byte[] csr = c.newCsr();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
                dataDir.resolve(AgentCredentials.PENDING_KEY)))).isEqualTo("rw-------");
        // until the certificate arrives, the old pair is what load() sees
        assertThat(AgentCredentials.load(dataDir).certificate()).isEqualTo(c.certificate());

        Instant now = Instant.now();
        AgentCredentials renewed = c.storeRenewed(coordinator.signAgent(csr, "edge-1", now.minusSeconds(60),
                now.plusSeconds(7200)));

        assertThat(renewed.notAfter()).isAfter(c.notAfter());
        assertThat(renewed.certificate().getPublicKey()).isNotEqualTo(c.certificate().getPublicKey());
        assertThat(Files.exists(dataDir.resolve(AgentCredentials.PENDING_KEY))).isFalse();
        AgentCredentials reloaded = AgentCredentials.load(dataDir);
        assertThat(reloaded.certificate()).isEqualTo(renewed.certificate());
        ManagedChannel ch = Grpc.newChannelBuilder(coordinator.address(), reloaded.channelCredentials()).build();
        try {
            assertThat(welcomeName(ch)).startsWith("CN=edge-1,");
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void storeRenewedRefusesCertificateForAnotherKeyOrIdentity() throws Exception {
        AgentCredentials c = enroller.enroll(coordinator.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir);
        Instant now = Instant.now();
        byte[] otherKeyCsr = Csr.create(Csr.newKeyPair(), "edge-1");
        c.newCsr();
        assertThatThrownBy(() -> c.storeRenewed(coordinator.signAgent(otherKeyCsr, "edge-1", now, now.plusSeconds(60))))
                .hasMessageContaining("not for the pending key");

        byte[] csr = c.newCsr();
        assertThatThrownBy(() -> c.storeRenewed(coordinator.signAgent(csr, "edge-2", now, now.plusSeconds(60))))
                .hasMessageContaining("CN=edge-2").hasMessageContaining("expected");
        assertThat(AgentCredentials.load(dataDir).certificate()).isEqualTo(c.certificate());
    }

    @Test
    void loadFinishesRenewalInterruptedAfterTheKeyMoved() throws Exception {
        AgentCredentials c = enroller.enroll(coordinator.address(), "pmjt_x.y", coordinator.pin(), "edge-1", dataDir);
        byte[] csr = c.newCsr();
        Instant now = Instant.now();
        String pem = coordinator.signAgent(csr, "edge-1", now.minusSeconds(60), now.plusSeconds(7200));
        // simulate a crash between the two renames of storeRenewed
        Files.writeString(dataDir.resolve(AgentCredentials.PENDING_CERT), pem);
        Files.move(dataDir.resolve(AgentCredentials.PENDING_KEY), dataDir.resolve(AgentCredentials.KEY),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        AgentCredentials loaded = AgentCredentials.load(dataDir);

        assertThat(loaded.certificate()).isEqualTo(Pem.readCertificate(pem));
        assertThat(Files.exists(dataDir.resolve(AgentCredentials.PENDING_CERT))).isFalse();
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        "192.0.2.1:7443 | 192.0.2.1   | 7443",
        "coord.example  | coord.example | 443",
        "[2001:db8::1]:8443 | 2001:db8::1 | 8443",
        "2001:db8::1    | 2001:db8::1 | 443",
    })
    void parsesCoordinatorAddress(String text, String host, int port) {
        assertThat(Enroller.parseAddress(text)).isEqualTo(new dev.probemesh.common.check.HostPort(host, port));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"", "host:", "host:99999", "[2001:db8::1", ":443"})
    void refusesMalformedCoordinatorAddress(String text) {
        assertThat(Enroller.parseAddress(text)).isNull();
    }

    @Test
    void refusesServerCertificateThatDoesNotNameTheDialledAddress() {
        // the test coordinator's certificate names 127.0.0.1 only; "localhost" is not in it
        String viaName = "localhost:" + coordinator.server.getPort();

        EnrollException e = catchThrowableOfType(EnrollException.class,
                () -> enroller.enroll(viaName, "pmjt_x.y", coordinator.pin(), "edge-1", dataDir));

        assertThat(e.reason()).isEqualTo(EnrollException.Reason.TLS);
        assertThat(e.getMessage()).contains("must name the address");
        assertThat(coordinator.lastRequest.get()).isNull();
    }
}
