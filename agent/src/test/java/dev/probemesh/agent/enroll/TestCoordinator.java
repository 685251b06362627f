package dev.probemesh.agent.enroll;

import dev.probemesh.common.tls.CaPin;
import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.EnrollRequest;
import dev.probemesh.proto.v1.EnrollResponse;
import dev.probemesh.proto.v1.EnrollServiceGrpc;
import dev.probemesh.proto.v1.Welcome;
import io.grpc.Grpc;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSession;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * A stand-in coordinator for the agent's side (the agent cannot depend on the coordinator
 * module): its own CA, a TLS server on loopback, an EnrollService that signs the CSR's key under
 * a fixed identity, and an AgentService that welcomes the client certificate's CN.
 */
final class TestCoordinator implements AutoCloseable {
    static final io.grpc.Context.Key<SSLSession> SESSION = io.grpc.Context.key("ssl-session");
    final KeyPair caKey = Csr.newKeyPair();
    final X509Certificate caCert;
    final Server server;
    final AtomicReference<Status> refuseWith = new AtomicReference<>();
    final AtomicReference<EnrollRequest> lastRequest = new AtomicReference<>();
    private final AtomicLong serials = new AtomicLong(1);

    TestCoordinator() throws Exception {
        X500Name caName = new X500Name("CN=test CA,O=probemesh");
        Instant now = Instant.now();
        caCert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(caName,
                BigInteger.ONE, Date.from(now.minusSeconds(300)), Date.from(now.plusSeconds(86400)), caName,
                caKey.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
        KeyPair serverKey = Csr.newKeyPair();
        X509Certificate serverCert = sign(serverKey.getPublic(), "CN=coordinator,O=probemesh-coordinator",
                now.minusSeconds(300), now.plusSeconds(86400), KeyPurposeId.id_kp_serverAuth,
                new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
        server = Grpc.newServerBuilderForPort(0, TlsServerCredentials.newBuilder()
                        .keyManager(KeyMaterial.keyManagers(serverKey.getPrivate(), List.of(serverCert, caCert)))
                        .trustManager(KeyMaterial.trustOnly(List.of(caCert)))
                        .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
                        .build())
                .addService(new Enroll())
                .addService(new Echo())
                .intercept(new io.grpc.ServerInterceptor() {
                    @Override
                    public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call,
                            io.grpc.Metadata headers, io.grpc.ServerCallHandler<Q, R> next) {
                        return io.grpc.Contexts.interceptCall(io.grpc.Context.current().withValue(SESSION,
                                call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)), call, headers, next);
                    }
                })
                .build()
                .start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    String pin() {
        return CaPin.of(caCert);
    }

    X509Certificate sign(PublicKey key, String subject, Instant from, Instant to, KeyPurposeId purpose,
            GeneralNames san) throws Exception {
        org.bouncycastle.cert.X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert,
                BigInteger.valueOf(serials.incrementAndGet()), Date.from(from), Date.from(to), new X500Name(subject), key)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
        if (san != null) {
            b.addExtension(Extension.subjectAlternativeName, false, san);
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
    }

    /** Signs an agent CSR for CN=name,OU=site as the real coordinator would. */
    String signAgent(byte[] csrDer, String name, Instant from, Instant to) throws Exception {
        PublicKey key = new JcaPKCS10CertificationRequest(new PKCS10CertificationRequest(csrDer)).getPublicKey();
        return Pem.certificate(sign(key, "O=probemesh-agent,OU=paris,CN=" + name, from, to,
                KeyPurposeId.id_kp_clientAuth, null));
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(10, TimeUnit.SECONDS);
    }

    private final class Enroll extends EnrollServiceGrpc.EnrollServiceImplBase {
        @Override
        public void enroll(EnrollRequest request, StreamObserver<EnrollResponse> out) {
            lastRequest.set(request);
            if (refuseWith.get() != null) {
                out.onError(refuseWith.get().asRuntimeException());
                return;
            }
            try {
                Instant now = Instant.now();
                out.onNext(EnrollResponse.newBuilder()
                        .setAgentName("edge-1").setSite("paris").putLabels("env", "prod")
                        .setCertificatePem(signAgent(request.getCsrDer().toByteArray(), "edge-1",
                                now.minusSeconds(300), now.plusSeconds(3600)))
                        .setCaPem(Pem.certificate(caCert))
                        .build());
                out.onCompleted();
            } catch (Exception e) {
                out.onError(Status.INVALID_ARGUMENT.withDescription(e.toString()).asRuntimeException());
            }
        }
    }

    /** Welcomes the client certificate's subject: proves the agent's mTLS credentials work. */
    private static final class Echo extends AgentServiceGrpc.AgentServiceImplBase {
        @Override
        public StreamObserver<AgentMessage> connect(StreamObserver<CoordinatorMessage> out) {
            SSLSession session = SESSION.get();
            return new StreamObserver<>() {
                @Override
                public void onNext(AgentMessage m) {
                    out.onNext(CoordinatorMessage.newBuilder().setWelcome(Welcome.newBuilder()
                            .setAgentName(String.valueOf(session == null ? "" : peer(session)))).build());
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

        private static String peer(SSLSession s) {
            try {
                return ((X509Certificate) s.getPeerCertificates()[0]).getSubjectX500Principal().getName();
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                return "anonymous";
            }
        }
    }
}
