package dev.probemesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.proto.v1.AgentMessage;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.Hello;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.ResultBatch;
import dev.probemesh.proto.v1.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent protocol spoken by hand over the real gRPC transport: a replayed batch never doubles
 * a row, a reconnect learns what was committed, and one malformed result is rejected without
 * losing its neighbours.
 */
@Timeout(60)
class AgentStreamReplayTest {
    @TempDir
    Path dir;

    Mesh mesh;

    @BeforeEach
    void start() throws Exception {
        mesh = new Mesh(dir).startCoordinator();
    }

    @AfterEach
    void stop() {
        mesh.close();
    }

    /** One hand-driven agent stream. */
    final class RawStream implements AutoCloseable {
        final BlockingQueue<CoordinatorMessage> in = new LinkedBlockingQueue<>();
        final StreamObserver<AgentMessage> out;

        RawStream(String incarnation) {
            out = AgentServiceGrpc.newStub(mesh.channel()).connect(new StreamObserver<>() {
                @Override
                public void onNext(CoordinatorMessage m) {
                    in.add(m);
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            });
            out.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentName("replayer")
                    .setSite("lab").setIncarnation(incarnation).setVersion("test")
                    .setAgentTimeMs(System.currentTimeMillis())).build());
        }

        CoordinatorMessage next(CoordinatorMessage.MsgCase kind) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                CoordinatorMessage m = in.poll(200, TimeUnit.MILLISECONDS);
                if (m != null && m.getMsgCase() == kind) {
                    return m;
                }
            }
            throw new AssertionError("no " + kind + " within 10 s");
        }

        void send(String incarnation, List<ProbeResult> results) {
            out.onNext(AgentMessage.newBuilder().setResults(ResultBatch.newBuilder().setIncarnation(incarnation)
                    .addAllResults(results)).build());
        }

        @Override
        public void close() {
            out.onCompleted();
        }
    }

    static ProbeResult result(long seq) {
        return ProbeResult.newBuilder().setSeq(seq).setCheckId("tcp-x").setCheckRevision(1)
                .setObservedAtMs(System.currentTimeMillis() - 1000 + seq).setStatus(Status.STATUS_OK).build();
    }

    static List<ProbeResult> results(long from, long to) {
        return LongStream.rangeClosed(from, to).mapToObj(AgentStreamReplayTest::result).toList();
    }

    @Test
    void replayedBatchIsAckedAgainWithoutADuplicateRow() throws Exception {
        try (RawStream s = new RawStream("inc-1")) {
            assertThat(s.next(CoordinatorMessage.MsgCase.WELCOME).getWelcome().getAckedSeq()).isZero();
            s.send("inc-1", results(1, 3));
            assertThat(s.next(CoordinatorMessage.MsgCase.ACK).getAck().getUpToSeq()).isEqualTo(3);
        }
        assertThat(mesh.coordinator.store().countResults()).isEqualTo(3);

        try (RawStream s = new RawStream("inc-1")) {
            // The welcome tells a reconnecting agent what is already committed ...
            assertThat(s.next(CoordinatorMessage.MsgCase.WELCOME).getWelcome().getAckedSeq()).isEqualTo(3);
            // ... and a replay of the same batch (an ack lost in flight) is acked without storing twice.
            s.send("inc-1", results(1, 4));
            assertThat(s.next(CoordinatorMessage.MsgCase.ACK).getAck().getUpToSeq()).isEqualTo(4);
        }
        assertThat(mesh.coordinator.store().countResults()).isEqualTo(4);
    }

    @Test
    void malformedResultIsRejectedAloneAndItsNeighboursAreStored() throws Exception {
        try (RawStream s = new RawStream("inc-2")) {
            s.next(CoordinatorMessage.MsgCase.WELCOME);
            s.send("inc-2", List.of(result(1), result(2).toBuilder().setCheckId("").build(), result(3)));
            var ack = s.next(CoordinatorMessage.MsgCase.ACK).getAck();
            assertThat(ack.getUpToSeq()).isEqualTo(3);
            assertThat(ack.getRejectedList()).singleElement().satisfies(r -> {
                assertThat(r.getSeq()).isEqualTo(2);
                assertThat(r.getReason()).contains("check");
            });
        }
        assertThat(mesh.coordinator.store().countResults()).isEqualTo(2);
    }

    @Test
    void batchForAnotherIncarnationEndsTheStreamAndStoresNothing() throws Exception {
        try (RawStream s = new RawStream("inc-3")) {
            s.next(CoordinatorMessage.MsgCase.WELCOME);
            s.send("someone-else", results(1, 2));
            Thread.sleep(500);
        }
        assertThat(mesh.coordinator.store().countResults()).isZero();
    }
}
