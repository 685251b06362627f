package dev.probemesh.cli.context;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.probemesh.common.tls.FilePermissions;
import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.AgentInfo;
import dev.probemesh.proto.v1.ListAgentsRequest;
import dev.probemesh.proto.v1.ListAgentsResponse;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class ContextStoreTest {
    private static final Context.Key<SSLSession> SESSION = Context.key("ssl-session");

    @TempDir
    Path tmp;

    private Server server;
    private ManagedChannel channel;

    @AfterEach
    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** A CA, an admin credential as the coordinator writes it, and a server certificate for 127.0.0.1. */
    private final class Pki {
        final KeyPair caKey = newKey();
        final X509Certificate ca;
        final KeyPair adminKey = newKey();
        final X509Certificate admin;
        final KeyPair serverKey = newKey();
        final X509Certificate serverCert;

        Pki() throws Exception {
            X500Name name = new X500Name("CN=probemesh CA,O=probemesh");
            ca = cert(name, caKey.getPublic(), name, new BasicConstraints(0), null, null);
            admin = cert(name, adminKey.getPublic(), new X500Name("CN=admin,O=probemesh-admin"),
                    new BasicConstraints(false), KeyPurposeId.id_kp_clientAuth, null);
            serverCert = cert(name, serverKey.getPublic(), new X500Name("CN=coordinator"), new BasicConstraints(false),
                    KeyPurposeId.id_kp_serverAuth, new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
        }

        private X509Certificate cert(X500Name issuer, PublicKey key, X500Name subject, BasicConstraints bc,
                KeyPurposeId eku, GeneralNames san) throws Exception {
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(now.toEpochMilli()),
                    Date.from(now.minusSeconds(300)), Date.from(now.plusSeconds(3600)), subject, key)
                    .addExtension(Extension.basicConstraints, true, bc);
            if (eku != null) {
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(eku));
            }
            if (san != null) {
                b.addExtension(Extension.subjectAlternativeName, false, san);
            }
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
        }

        Path writeAdminDir(Path dir) throws Exception {
            FilePermissions.writePublic(dir.resolve("ca.crt"), Pem.certificate(ca).getBytes(StandardCharsets.US_ASCII));
            FilePermissions.writePublic(dir.resolve("admin.crt"), Pem.certificate(admin).getBytes(StandardCharsets.US_ASCII));
            FilePermissions.writePrivate(dir.resolve("admin.key"),
                    Pem.privateKey(adminKey.getPrivate()).getBytes(StandardCharsets.US_ASCII));
            return dir;
        }
    }

    private static KeyPair newKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Lists one agent named after the caller's client certificate. */
    private String startServer(ServerCredentials creds) throws Exception {
        server = Grpc.newServerBuilderForPort(0, creds)
                .addService(new AdminServiceGrpc.AdminServiceImplBase() {
                    @Override
                    public void listAgents(ListAgentsRequest r, StreamObserver<ListAgentsResponse> out) {
                        String who = "anonymous";
                        SSLSession s = SESSION.get();
                        try {
                            if (s != null) {
                                who = ((X509Certificate) s.getPeerCertificates()[0]).getSubjectX500Principal().getName();
                            }
                        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                            who = "unverified";
                        }
                        out.onNext(ListAgentsResponse.newBuilder().addAgents(AgentInfo.newBuilder().setName(who)).build());
                        out.onCompleted();
                    }
                })
                .intercept(new ServerInterceptor() {
                    @Override
                    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata h,
                            ServerCallHandler<Q, R> next) {
                        return Contexts.interceptCall(Context.current().withValue(SESSION,
                                call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)), call, h, next);
                    }
                })
                .build().start();
        return "127.0.0.1:" + server.getPort();
    }

    private String callerSeenByServer(ContextStore.Context c) throws Exception {
        channel = c.openChannel();
        return AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .listAgents(ListAgentsRequest.getDefaultInstance()).getAgents(0).getName();
    }

    @Test
    void addCopiesAdminCredentialPrivatelyAndOpensMutualTlsChannel() throws Exception {
        Pki pki = new Pki();
        String address = startServer(TlsServerCredentials.newBuilder()
                .keyManager(KeyMaterial.keyManagers(pki.serverKey.getPrivate(), List.of(pki.serverCert, pki.ca)))
                .trustManager(KeyMaterial.trustOnly(List.of(pki.ca)))
                .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                .build());
        Path adminDir = pki.writeAdminDir(tmp.resolve("coordinator-data/admin"));
        ContextStore store = new ContextStore(tmp.resolve("home/.config/probemesh/config.yaml"));

        ContextStore.Context added = new ContextCommands(store).add("lab", address, adminDir);

        assertThat(store.current()).contains(added);
        assertThat(mode(store.file())).isEqualTo("rw-------");
        assertThat(mode(store.directory())).isEqualTo("rwx------");
        assertThat(mode(Path.of(added.keyFile()))).isEqualTo("rw-------");
        assertThat(Path.of(added.keyFile())).startsWith(store.directory());
        // the copy is independent of the coordinator's directory
        Files.delete(adminDir.resolve("admin.key"));
        assertThat(callerSeenByServer(store.resolve(null))).isEqualTo("O=probemesh-admin,CN=admin");
    }

    @Test
    void insecureContextOpensPlaintextChannel() throws Exception {
        String address = startServer(InsecureServerCredentials.create());
        ContextStore store = new ContextStore(tmp.resolve("config.yaml"));

        new ContextCommands(store).addInsecure("dev", address);

        assertThat(callerSeenByServer(store.resolve("dev"))).isEqualTo("anonymous");
    }

    @Test
    void addRefusesKeyThatDoesNotBelongToTheCertificate() throws Exception {
        Pki pki = new Pki();
        Path adminDir = pki.writeAdminDir(tmp.resolve("admin"));
        FilePermissions.writePrivate(adminDir.resolve("admin.key"),
                Pem.privateKey(newKey().getPrivate()).getBytes(StandardCharsets.US_ASCII));
        ContextStore store = new ContextStore(tmp.resolve("config.yaml"));

        assertThatThrownBy(() -> new ContextCommands(store).add("lab", "127.0.0.1:7443", adminDir))
                .hasMessageContaining("does not belong to");
        assertThat(store.load().contexts()).isEmpty();
    }

    @Test
    void addRefusesMissingAdminDirectoryWithHint() {
        ContextStore store = new ContextStore(tmp.resolve("config.yaml"));
        assertThatThrownBy(() -> new ContextCommands(store).add("lab", "127.0.0.1:7443", tmp.resolve("nope")))
                .hasMessageContaining("<data-dir>/admin");
    }

    @Test
    void contextsSurviveReloadAndUseSwitchesCurrent() throws Exception {
        ContextStore store = new ContextStore(tmp.resolve("config.yaml"));
        ContextCommands commands = new ContextCommands(store);
        commands.addInsecure("a", "127.0.0.1:1");
        store.add(new ContextStore.Context("b", "[2001:db8::1]:7443", false, "/ca", "/crt", "/key"), false);

        ContextStore reread = new ContextStore(tmp.resolve("config.yaml"));
        assertThat(reread.current().map(ContextStore.Context::name)).contains("a");
        assertThat(reread.load().find("b")).contains(
                new ContextStore.Context("b", "[2001:db8::1]:7443", false, "/ca", "/crt", "/key"));

        reread.use("b");
        assertThat(store.current().map(ContextStore.Context::name)).contains("b");
        assertThatThrownBy(() -> store.use("c")).hasMessageContaining("no context named 'c'");
        assertThat(store.remove("b")).isTrue();
        assertThat(store.current()).isEmpty();
        assertThatThrownBy(() -> store.resolve(null)).hasMessageContaining("probemesh context add");
    }

    @Test
    void defaultPathHonoursEnvironment() {
        Path home = Path.of("/home/u");
        assertThat(ContextStore.defaultPath(Map.of(), home)).isEqualTo(Path.of("/home/u/.config/probemesh/config.yaml"));
        assertThat(ContextStore.defaultPath(Map.of("PROBEMESH_CONFIG", "/etc/pm.yaml"), home))
                .isEqualTo(Path.of("/etc/pm.yaml"));
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
