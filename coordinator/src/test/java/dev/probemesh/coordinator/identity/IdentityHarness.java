package dev.probemesh.coordinator.identity;

import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import dev.probemesh.common.tls.PinnedTrustManager;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.AgentInfo;
import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.ListAgentsRequest;
import dev.probemesh.proto.v1.ListAgentsResponse;
import dev.probemesh.proto.v1.RenewResponse;
import dev.probemesh.proto.v1.Welcome;
import dev.probemesh.testing.MutableClock;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import javax.sql.DataSource;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;

/**
 * A coordinator's identity stack on a real TLS gRPC server (loopback, port 0): the real
 * EnrollServiceImpl and AuthInterceptor, and trivial Agent/Admin services that echo the Principal.
 */
final class IdentityHarness implements AutoCloseable {
    final MutableClock clock;
    final CoordinatorIdentity identity;
    final DataSource dataSource;
    final CertificateAuthority ca;
    final TokenService tokens;
    final AgentRegistry registry;
    final AgentCertificates certificates;
    final Server server;
    private final List<ManagedChannel> channels = new ArrayList<>();

    IdentityHarness(Path dir, Instant start) throws IOException {
        clock = new MutableClock(start);
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL("jdbc:h2:mem:identity-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1");
        Flyway.configure().dataSource(h2).locations("classpath:db/migration").load().migrate();
        dataSource = h2;
        identity = CoordinatorIdentity.open(dir, dataSource, clock, List.of("localhost"), List.of("127.0.0.1"),
                Duration.ofHours(24));
        ca = identity.ca();
        tokens = identity.tokens();
        registry = identity.registry();
        certificates = identity.certificates();
        server = Grpc.newServerBuilderForPort(0, identity.serverCredentials())
                .maxInboundMessageSize(TlsServerSetup.MAX_INBOUND_MESSAGE_BYTES)
                .addService(identity.enrollService())
                .addService(new EchoAgentService(certificates))
                .addService(new EchoAdminService())
                .intercept(identity.interceptor())
                .build()
                .start();
    }

    String target() {
        return "127.0.0.1:" + server.getPort();
    }

    ManagedChannel channel(ChannelCredentials creds) {
        ManagedChannel ch = Grpc.newChannelBuilder(target(), creds).build();
        channels.add(ch);
        return ch;
    }

    /** What an agent has before enrollment: only the pin. */
    ManagedChannel pinnedChannel(String pin) {
        return channel(TlsChannelCredentials.newBuilder().trustManager(new PinnedTrustManager(pin)).build());
    }

    ManagedChannel clientCertChannel(PrivateKey key, X509Certificate cert) {
        return channel(TlsChannelCredentials.newBuilder()
                .keyManager(KeyMaterial.keyManagers(key, List.of(cert)))
                .trustManager(KeyMaterial.trustOnly(List.of(ca.caCert())))
                .build());
    }

    ManagedChannel noClientCertChannel() {
        return channel(TlsChannelCredentials.newBuilder()
                .trustManager(KeyMaterial.trustOnly(List.of(ca.caCert())))
                .build());
    }

    static KeyPair newKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] csr(KeyPair kp, String cn) {
        try {
            String alg = kp.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
            return new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=" + cn), kp.getPublic())
                    .build(new JcaContentSignerBuilder(alg).build(kp.getPrivate())).getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static X509Certificate cert(String pem) {
        return Pem.readCertificate(pem);
    }

    @Override
    public void close() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        server.shutdownNow();
        server.awaitTermination(10, TimeUnit.SECONDS);
    }

    /** Answers a Hello with a Welcome naming the Principal, and a RenewRequest with a renewal. */
    static final class EchoAgentService extends AgentServiceGrpc.AgentServiceImplBase {
        private final AgentCertificates certificates;

        EchoAgentService(AgentCertificates certificates) {
            this.certificates = certificates;
        }

        @Override
        public StreamObserver<AgentMessage> connect(StreamObserver<CoordinatorMessage> out) {
            Principal p = AuthInterceptor.current();
            return new StreamObserver<>() {
                @Override
                public void onNext(AgentMessage m) {
                    if (m.hasRenew()) {
                        RenewResponse.Builder r = RenewResponse.newBuilder();
                        try {
                            r.setCertificatePem(Pem.certificate(certificates.renew(p, m.getRenew().getCsrDer().toByteArray())));
                        } catch (IdentityException e) {
                            r.setError(e.getMessage());
                        }
                        out.onNext(CoordinatorMessage.newBuilder().setRenewed(r).build());
                    } else {
                        out.onNext(CoordinatorMessage.newBuilder().setWelcome(Welcome.newBuilder()
                                .setAgentName(p.name()).setSite(p.site()).putAllLabels(p.labels())).build());
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    out.onCompleted();
                }
            };
        }
    }

    /** Lists one agent named after the caller, so a test sees who the server thought it was. */
    static final class EchoAdminService extends AdminServiceGrpc.AdminServiceImplBase {
        @Override
        public void listAgents(ListAgentsRequest request, StreamObserver<ListAgentsResponse> out) {
            Principal p = AuthInterceptor.current();
            out.onNext(ListAgentsResponse.newBuilder()
                    .addAgents(AgentInfo.newBuilder().setName(p.role() + ":" + p.name())).build());
            out.onCompleted();
        }
    }
}
