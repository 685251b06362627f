package dev.probemesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.probemesh.agent.Agent;
import dev.probemesh.agent.AgentMain;
import dev.probemesh.agent.enroll.AgentCredentials;
import dev.probemesh.agent.enroll.Enroller;
import dev.probemesh.agent.link.CoordinatorLink;
import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeRunner;
import dev.probemesh.common.check.CheckKind;
import dev.probemesh.coordinator.Coordinator;
import dev.probemesh.coordinator.Diagnosis;
import dev.probemesh.coordinator.SecureSetup;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.CreateTokenRequest;
import dev.probemesh.proto.v1.CreateTokenResponse;
import dev.probemesh.proto.v1.ListAgentsRequest;
import dev.probemesh.proto.v1.RevokeAgentRequest;
import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The production path over real TLS on loopback: the coordinator's own CA, a join token from the
 * admin API (called with the admin certificate), enrollment pinned to the CA, an agent whose
 * identity comes from its certificate whatever its hello claims, and revocation cutting it off.
 */
@Timeout(120)
class SecureMeshTest {
    @TempDir
    Path dir;

    Coordinator coordinator;
    SecureSetup security;
    final List<ManagedChannel> channels = new ArrayList<>();
    final List<Agent> agents = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Store store = Store.openH2(dir.resolve("coordinator/store"));
        security = SecureSetup.create(dir.resolve("coordinator"), List.of("127.0.0.1"), store.dataSource(),
                Clock.systemUTC(), Duration.ofHours(1));
        coordinator = Coordinator.start(store, security, new Coordinator.Options(
                new InetSocketAddress("127.0.0.1", 0), Duration.ofDays(7), Diagnosis.Config.defaults()),
                Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        agents.forEach(Agent::close);
        channels.forEach(ManagedChannel::shutdownNow);
        coordinator.close();
    }

    String target() {
        return "127.0.0.1:" + coordinator.port();
    }

    AdminServiceGrpc.AdminServiceBlockingStub admin() throws Exception {
        Path a = security.adminDir();
        ChannelCredentials creds = TlsChannelCredentials.newBuilder()
                .keyManager(KeyMaterial.keyManagers(Pem.readPrivateKey(Files.readString(a.resolve("admin.key"))),
                        List.of(Pem.readCertificate(Files.readString(a.resolve("admin.crt"))))))
                .trustManager(KeyMaterial.trustOnly(List.of(Pem.readCertificate(Files.readString(a.resolve("ca.crt"))))))
                .build();
        ManagedChannel ch = Grpc.newChannelBuilder(target(), creds).build();
        channels.add(ch);
        return AdminServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    Agent startAgent(AgentCredentials creds, String claimedName) {
        Agent a = new Agent(new Agent.Options(new CoordinatorLink.Identity(claimedName, "claimed-site", Map.of(),
                "test"), DestinationPolicy.allowAll(), ProbeRunner.Gate.open(), EnumSet.allOf(CheckKind.class),
                List.of(), 1000, 1000),
                (group, executor) -> AgentMain.channel(target(), creds.channelCredentials(), group, executor),
                CoordinatorLink.Renewal.none(), Clock.systemUTC()).start();
        agents.add(a);
        return a;
    }

    @Test
    void enrolledAgentIsKnownByItsCertificateNotItsHelloAndRevocationCutsItOff() throws Exception {
        CreateTokenResponse token = admin().createToken(CreateTokenRequest.newBuilder().setSite("idc")
                .setAgentName("idc-1").putLabels("role", "edge").setTtlS(600).build());
        AgentCredentials creds = new Enroller().enroll(target(), token.getToken(), token.getCaPin(), "idc-1",
                dir.resolve("agent"));
        assertThat(creds.name()).isEqualTo("idc-1");
        assertThat(creds.site()).isEqualTo("idc");

        // The hello claims another name and site; the coordinator must believe the certificate.
        Agent agent = startAgent(creds, "home-1");
        await().atMost(Duration.ofSeconds(20)).until(agent::connected);
        var listed = admin().listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList();
        assertThat(listed).extracting(a -> a.getName() + "@" + a.getSite() + ":" + a.getConnected())
                .containsExactly("idc-1@idc:true");
        assertThat(listed.get(0).getLabelsMap()).containsEntry("role", "edge");

        admin().revokeAgent(RevokeAgentRequest.newBuilder().setName("idc-1").build());
        assertThat(agent.awaitGoodbye(10, TimeUnit.SECONDS)).as("revoked agent told goodbye").isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !coordinator.sessions().isConnected("idc-1"));
    }

    @Test
    void tokenIsSingleUseAndAWrongPinIsRefusedByTheAgent() throws Exception {
        CreateTokenResponse token = admin().createToken(CreateTokenRequest.newBuilder().setSite("home").build());
        new Enroller().enroll(target(), token.getToken(), token.getCaPin(), "home-1", dir.resolve("a1"));
        assertThatThrownBy(() -> new Enroller().enroll(target(), token.getToken(), token.getCaPin(), "home-2",
                dir.resolve("a2"))).hasMessageContaining("used");

        CreateTokenResponse second = admin().createToken(CreateTokenRequest.newBuilder().setSite("home").build());
        String wrongPin = "sha256:" + "0".repeat(64);
        assertThatThrownBy(() -> new Enroller().enroll(target(), second.getToken(), wrongPin, "home-3",
                dir.resolve("a3"))).hasMessageContaining("pin");
        assertThat(Files.exists(dir.resolve("a3/agent.crt"))).isFalse();
    }

    @Test
    void adminApiWithoutCredentialsIsUnauthenticated() {
        ManagedChannel ch = Grpc.newChannelBuilder(target(), TlsChannelCredentials.newBuilder()
                .trustManager(KeyMaterial.trustOnly(List.of(security.caCertificate()))).build()).build();
        channels.add(ch);
        assertThatThrownBy(() -> AdminServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                .listAgents(ListAgentsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    }
}
