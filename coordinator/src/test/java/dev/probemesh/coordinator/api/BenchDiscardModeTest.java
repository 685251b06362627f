package dev.probemesh.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.coordinator.Coordinator;
import dev.probemesh.coordinator.Diagnosis;
import dev.probemesh.coordinator.Security;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.Hello;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.ResultBatch;
import dev.probemesh.proto.v1.Status;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator's bench mode (--bench-discard-results) over the real gRPC transport: every
 * batch is acked, nothing reaches the store, and the stream is still read one message at a time
 * (one ack per batch, in order) with the usual batch limit.
 */
@Timeout(60)
class BenchDiscardModeTest {
    static final int BATCHES = 100;
    static final int PER_BATCH = 50;

    @TempDir
    Path dir;

    Coordinator coordinator;
    ManagedChannel channel;

    Coordinator start(boolean discard) throws Exception {
        coordinator = Coordinator.start(Store.openH2(dir.resolve("store")), Security.insecure(),
                new Coordinator.Options(new InetSocketAddress("127.0.0.1", 0), Duration.ofDays(7),
                        Diagnosis.Config.defaults(), discard), Clock.systemUTC());
        channel = Grpc.newChannelBuilderForAddress("127.0.0.1", coordinator.port(),
                InsecureChannelCredentials.create()).build();
        return coordinator;
    }

    @AfterEach
    void stop() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (coordinator != null) {
            coordinator.close();
        }
    }

    /** An agent stream that sends its batches as the transport's flow control allows, like the real agent. */
    static final class Sender implements ClientResponseObserver<AgentMessage, CoordinatorMessage> {
        final List<Long> acks = new CopyOnWriteArrayList<>();
        final CompletableFuture<io.grpc.Status> ended = new CompletableFuture<>();
        final CompletableFuture<Void> allAcked = new CompletableFuture<>();
        final int batches;
        final int perBatch;
        ClientCallStreamObserver<AgentMessage> out;
        boolean welcomed;
        int sent;

        Sender(int batches, int perBatch) {
            this.batches = batches;
            this.perBatch = perBatch;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<AgentMessage> requestStream) {
            out = requestStream;
            requestStream.setOnReadyHandler(this::pump);
        }

        synchronized void pump() {
            while (welcomed && sent < batches && out.isReady()) {
                ResultBatch.Builder b = ResultBatch.newBuilder().setIncarnation("inc-1");
                for (int i = 1; i <= perBatch; i++) {
                    b.addResults(ProbeResult.newBuilder().setSeq((long) sent * perBatch + i).setCheckId("c1")
                            .setCheckRevision(1).setObservedAtMs(System.currentTimeMillis())
                            .setStatus(Status.STATUS_OK));
                }
                out.onNext(AgentMessage.newBuilder().setResults(b).build());
                sent++;
            }
        }

        @Override
        public void onNext(CoordinatorMessage m) {
            switch (m.getMsgCase()) {
                case WELCOME -> {
                    synchronized (this) {
                        welcomed = true;
                    }
                    pump();
                }
                case ACK -> {
                    acks.add(m.getAck().getUpToSeq());
                    if (acks.size() == batches) {
                        allAcked.complete(null);
                    }
                }
                default -> {
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            ended.complete(io.grpc.Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            ended.complete(io.grpc.Status.OK);
        }

        void connect(ManagedChannel ch, String name) {
            var stream = AgentServiceGrpc.newStub(ch).connect(this);
            stream.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentName(name).setSite("bench")
                    .setIncarnation("inc-1").setVersion("test").setAgentTimeMs(System.currentTimeMillis())).build());
        }
    }

    @Test
    void acksEveryBatchInOrderAndStoresNothing() throws Exception {
        start(true);
        Sender s = new Sender(BATCHES, PER_BATCH);
        s.connect(channel, "bench-1");
        s.allAcked.get(30, TimeUnit.SECONDS);

        // One ack per batch, each covering exactly its batch: the server read one batch at a time.
        assertThat(s.acks).hasSize(BATCHES);
        for (int i = 0; i < BATCHES; i++) {
            assertThat(s.acks.get(i)).isEqualTo((long) (i + 1) * PER_BATCH);
        }
        assertThat(coordinator.store().countResults()).isZero();
        assertThat(coordinator.store().highWaterMark("bench-1", "inc-1")).isZero();
        // The agent itself is still known (hello), so the fleet view stays true in bench mode.
        assertThat(coordinator.store().agent("bench-1")).isPresent();
    }

    @Test
    void withoutBenchModeTheSameStreamIsStored() throws Exception {
        start(false);
        Sender s = new Sender(BATCHES, PER_BATCH);
        s.connect(channel, "bench-2");
        s.allAcked.get(30, TimeUnit.SECONDS);

        assertThat(s.acks.get(s.acks.size() - 1)).isEqualTo((long) BATCHES * PER_BATCH);
        assertThat(coordinator.store().countResults()).isEqualTo((long) BATCHES * PER_BATCH);
    }

    @Test
    void stillRefusesABatchOverTheLimit() throws Exception {
        start(true);
        Sender s = new Sender(1, AgentServiceImpl.MAX_BATCH + 1);
        s.connect(channel, "bench-3");

        io.grpc.Status status = s.ended.get(30, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
        assertThat(s.acks).isEmpty();
    }
}
