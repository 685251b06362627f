package dev.probemesh.e2e;

import dev.probemesh.agent.Agent;
import dev.probemesh.agent.AgentMain;
import dev.probemesh.agent.link.CoordinatorLink;
import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeRunner;
import dev.probemesh.common.check.CheckKind;
import dev.probemesh.coordinator.Coordinator;
import dev.probemesh.coordinator.Diagnosis;
import dev.probemesh.coordinator.Security;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.MatrixCell;
import dev.probemesh.proto.v1.MatrixChunk;
import dev.probemesh.proto.v1.MatrixRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real coordinator (H2 in a temp dir, real gRPC over loopback) and real agents, for end-to-end tests. */
final class Mesh implements AutoCloseable {
    final Path dataDir;
    Coordinator coordinator;
    final List<Agent> agents = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    Mesh(Path dataDir) {
        this.dataDir = dataDir;
    }

    Mesh startCoordinator() throws IOException {
        coordinator = Coordinator.start(Store.openH2(dataDir.resolve("store")), Security.insecure(),
                new Coordinator.Options(new InetSocketAddress("127.0.0.1", 0), Duration.ofDays(7),
                        Diagnosis.Config.defaults()), Clock.systemUTC());
        return this;
    }

    void stopCoordinator() {
        coordinator.close();
        coordinator = null;
    }

    ManagedChannel channel() {
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", coordinator.port(),
                InsecureChannelCredentials.create()).build();
        synchronized (channels) {
            channels.add(ch);
        }
        return ch;
    }

    /** Starts an agent on loopback; loopback is allowed by this test policy only. */
    Agent startAgent(String name, String site) {
        int port = coordinator.port();
        Agent a = new Agent(new Agent.Options(new CoordinatorLink.Identity(name, site, Map.of("role", "test"), "test"),
                DestinationPolicy.allowAll(), ProbeRunner.Gate.open(), EnumSet.allOf(CheckKind.class), List.of(),
                10_000, 1_000),
                // The channel as the agent's main opens it: on the agent's own event loop and executor.
                (group, executor) -> AgentMain.channel("127.0.0.1:" + port, InsecureChannelCredentials.create(), group,
                        executor),
                CoordinatorLink.Renewal.none(), Clock.systemUTC()).start();
        agents.add(a);
        return a;
    }

    AdminServiceGrpc.AdminServiceBlockingStub admin() {
        return AdminServiceGrpc.newBlockingStub(channel()).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /** agent|check -> cell, from the streamed matrix. */
    Map<String, MatrixCell> matrix() {
        Map<String, MatrixCell> cells = new HashMap<>();
        admin().getMatrix(MatrixRequest.getDefaultInstance()).forEachRemaining((MatrixChunk c) ->
                c.getCellsList().forEach(cell -> cells.put(cell.getAgent() + "|" + cell.getCheckId(), cell)));
        return cells;
    }

    @Override
    public void close() {
        agents.forEach(Agent::close);
        synchronized (channels) {
            channels.forEach(ManagedChannel::shutdownNow);
        }
        if (coordinator != null) {
            coordinator.close();
        }
    }
}
