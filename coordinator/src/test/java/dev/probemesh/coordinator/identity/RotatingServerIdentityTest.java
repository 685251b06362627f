package dev.probemesh.coordinator.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.proto.v1.EnrollRequest;
import dev.probemesh.proto.v1.EnrollServiceGrpc;
import dev.probemesh.testing.MutableClock;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class RotatingServerIdentityTest {
    @TempDir
    Path dir;

    @Test
    void runningServerPresentsTheRotatedCertificate() throws Exception {
        // Issued 250 days ago: past 2/3 of its 365-day life, still valid for the real clock.
        MutableClock clock = new MutableClock(Instant.now().minus(Duration.ofDays(250)));
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, clock);
        RotatingServerIdentity identity = new RotatingServerIdentity(ca, List.of("localhost"), List.of("127.0.0.1"));
        BigInteger first = identity.current().certificate().getSerialNumber();
        Server server = Grpc.newServerBuilderForPort(0, identity.serverCredentials())
                .addService(new EnrollServiceGrpc.EnrollServiceImplBase() {
                })
                .build().start();
        try {
            assertThat(servedSerial(ca, server.getPort())).isEqualTo(first);
            assertThat(identity.rotateIfDue()).as("not due at issue time").isFalse();

            clock.set(Instant.now());
            assertThat(identity.rotateIfDue()).isTrue();

            BigInteger second = identity.current().certificate().getSerialNumber();
            assertThat(second).isNotEqualTo(first);
            assertThat(servedSerial(ca, server.getPort())).isEqualTo(second);
        } finally {
            server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void fixedServerCredentialsServeTheGivenCertificate() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, new MutableClock(Instant.now()));
        ServerIdentity id = ca.issueServer(List.of("localhost"), List.of("127.0.0.1"));
        Server server = Grpc.newServerBuilderForPort(0, TlsServerSetup.serverCredentials(ca, id))
                .addService(new EnrollServiceGrpc.EnrollServiceImplBase() {
                })
                .build().start();
        try {
            assertThat(servedSerial(ca, server.getPort())).isEqualTo(id.certificate().getSerialNumber());
        } finally {
            server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** Handshakes with a fresh channel and returns the serial of the certificate the server showed. */
    private static BigInteger servedSerial(CertificateAuthority ca, int port) throws Exception {
        X509ExtendedTrustManager trust = (X509ExtendedTrustManager) KeyMaterial.trustOnly(List.of(ca.caCert()))[0];
        AtomicReference<X509Certificate> seen = new AtomicReference<>();
        X509ExtendedTrustManager recording = new X509ExtendedTrustManager() {
            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                seen.set(chain[0]);
                trust.checkServerTrusted(chain, authType, engine);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                seen.set(chain[0]);
                trust.checkServerTrusted(chain, authType, socket);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                seen.set(chain[0]);
                trust.checkServerTrusted(chain, authType);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) throws CertificateException {
                throw new CertificateException("client side only");
            }

            @Override
            public void checkClientTrusted(X509Certificate[] c, String a, Socket s) throws CertificateException {
                throw new CertificateException("client side only");
            }

            @Override
            public void checkClientTrusted(X509Certificate[] c, String a) throws CertificateException {
                throw new CertificateException("client side only");
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + port,
                TlsChannelCredentials.newBuilder().trustManager(recording).build()).build();
        try {
            EnrollServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .enroll(EnrollRequest.getDefaultInstance());
        } catch (StatusRuntimeException expected) {
            // UNIMPLEMENTED: only the handshake matters here
        } finally {
            ch.shutdownNow();
        }
        return seen.get().getSerialNumber();
    }
}
