package dev.probemesh.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.ApplyChecksRequest;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DeleteCheckRequest;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.MatrixChunk;
import dev.probemesh.proto.v1.MatrixRequest;
import dev.probemesh.proto.v1.TcpParams;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin API in-process, on a real H2 store: validation, errors, and a streamed large matrix. */
class AdminServiceInProcessTest {
    @TempDir
    Path dir;

    Store store;
    Server server;
    ManagedChannel channel;
    AdminServiceGrpc.AdminServiceBlockingStub admin;
    java.util.concurrent.ScheduledExecutorService scheduler;

    @BeforeEach
    void start() throws Exception {
        store = Store.openH2(dir);
        SessionRegistry sessions = new SessionRegistry(store::checks);
        VerdictSource none = new VerdictSource() {
            @Override
            public DiagnoseResponse diagnose(DiagnoseRequest request) {
                return DiagnoseResponse.getDefaultInstance();
            }

            @Override
            public Map<String, String> cellVerdicts() {
                return Map.of();
            }
        };
        scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        var sweeps = new dev.probemesh.coordinator.sweep.Sweeps(store, sessions, Clock.systemUTC(), scheduler);
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new AdminServiceImpl(store, sessions, none, TokenAdmin.unavailable(), sweeps,
                        new dev.probemesh.coordinator.schedule.Schedules(store, sweeps, Clock.systemUTC(),
                                dev.probemesh.coordinator.schedule.Schedules.Config.defaults()),
                        Clock.systemUTC()))
                .build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        admin = AdminServiceGrpc.newBlockingStub(channel);
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
        scheduler.shutdownNow();
        store.close();
    }

    static Check tcp(String id, String target) {
        return Check.newBuilder().setId(id).setKind("tcp").setTarget(target).setIntervalMs(10_000)
                .setTimeoutMs(2_000).setTcp(TcpParams.getDefaultInstance()).build();
    }

    @Test
    void invalidChecksAreRefusedWithEveryProblemNamedAndNothingStored() {
        assertThatThrownBy(() -> admin.applyChecks(ApplyChecksRequest.newBuilder()
                .addChecks(tcp("ok", "203.0.113.10:443"))
                .addChecks(tcp("no-port", "203.0.113.10"))
                .addChecks(tcp("ok", "203.0.113.11:443"))
                .addChecks(tcp("k", "x:1").toBuilder().setKind("gopher")).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription())
                            .contains("checks[1] (no-port): target:")
                            .contains("checks[2] (ok): id: duplicate id \"ok\"")
                            .contains("unknown probe kind \"gopher\"");
                });
        assertThat(store.checks()).isEmpty();
    }

    @Test
    void deletingAnUnknownCheckIsNotFound() {
        assertThatThrownBy(() -> admin.deleteCheck(DeleteCheckRequest.newBuilder().setId("nope").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    void tokensNeedTheCaAndSaySoInInsecureMode() {
        assertThatThrownBy(() -> admin.createToken(dev.probemesh.proto.v1.CreateTokenRequest.newBuilder()
                .setSite("idc").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("--insecure");
                });
    }

    @Test
    void largeMatrixIsStreamedInChunksWithEveryCellMissingBeforeResults() {
        List<Check> checks = IntStream.range(0, 120).mapToObj(i -> tcp("c" + i, "203.0.113.10:" + (1000 + i))).toList();
        admin.applyChecks(ApplyChecksRequest.newBuilder().addAllChecks(checks).build());
        for (int i = 0; i < 100; i++) {
            store.upsertAgent(new AgentRow("a" + i, "s" + (i % 3), Map.of(), "test", new byte[0], Instant.now(),
                    Instant.now(), 0));
        }
        List<MatrixChunk> chunks = new ArrayList<>();
        admin.getMatrix(MatrixRequest.getDefaultInstance()).forEachRemaining(chunks::add);
        assertThat(chunks.get(0).getAgentsCount()).isEqualTo(100);
        assertThat(chunks.get(0).getChecksCount()).isEqualTo(120);
        assertThat(chunks.size()).isGreaterThan(2);
        long cells = chunks.stream().mapToLong(MatrixChunk::getCellsCount).sum();
        assertThat(cells).isEqualTo(12_000);
        assertThat(chunks.stream().flatMap(c -> c.getCellsList().stream()))
                .allSatisfy(c -> assertThat(c.getStatus()).isEqualTo("MISSING"));
    }

    private static dev.probemesh.proto.v1.ProbeResult result(long seq, String checkId, Instant observedAt,
            dev.probemesh.proto.v1.Status status, String failure) {
        return dev.probemesh.proto.v1.ProbeResult.newBuilder().setSeq(seq).setCheckId(checkId).setCheckRevision(1)
                .setObservedAtMs(observedAt.toEpochMilli()).setStatus(status).setFailure(failure)
                .setTimings(dev.probemesh.proto.v1.Timings.newBuilder().setTotalUs(1500))
                .setAddress("203.0.113.10").build();
    }

    private List<dev.probemesh.proto.v1.MatrixCell> matrixCells() {
        List<dev.probemesh.proto.v1.MatrixCell> cells = new ArrayList<>();
        admin.getMatrix(MatrixRequest.getDefaultInstance()).forEachRemaining(c -> cells.addAll(c.getCellsList()));
        return cells;
    }

    @Test
    void matrixCellsFollowEachNewResultAcrossRepeatedQueriesAndAnOldResultIsMissing() {
        admin.applyChecks(ApplyChecksRequest.newBuilder().addChecks(tcp("web", "203.0.113.10:443"))
                .addChecks(tcp("dns", "203.0.113.10:53")).build());
        Instant now = Instant.now();
        store.upsertAgent(new AgentRow("a1", "idc", Map.of(), "test", new byte[0], now, now, 0));
        var ok = dev.probemesh.proto.v1.Status.STATUS_OK;
        var fail = dev.probemesh.proto.v1.Status.STATUS_FAIL;
        // dns: one result, far older than 3 intervals + the timeout: MISSING, naming the age and status.
        store.ingest("a1", "inc-1", List.of(result(1, "web", now.minusSeconds(2), ok, ""),
                result(2, "dns", now.minusSeconds(600), fail, "TIMEOUT")), now, 0);
        for (int i = 0; i < 2; i++) { // the second query serves what the first built, unchanged
            assertThat(matrixCells()).extracting(c -> c.getCheckId() + " " + c.getStatus() + " " + c.getFailure())
                    .containsExactly("dns MISSING ", "web OK ");
        }
        assertThat(matrixCells().get(0).getDetail()).startsWith("last result 6").endsWith("s ago (FAIL TIMEOUT)");
        assertThat(matrixCells().get(1).getAgent()).isEqualTo("a1");
        assertThat(matrixCells().get(1).getLatencyMs()).isEqualTo(1.5);
        assertThat(matrixCells().get(1).getAtMs()).isEqualTo(now.minusSeconds(2).toEpochMilli());

        // A newer result replaces the cell on the next query; then back to OK.
        store.ingest("a1", "inc-1", List.of(result(3, "web", now.minusSeconds(1), fail, "REFUSED")), now, 0);
        assertThat(matrixCells()).extracting(c -> c.getCheckId() + " " + c.getStatus() + " " + c.getFailure())
                .containsExactly("dns MISSING ", "web FAIL REFUSED");
        store.ingest("a1", "inc-1", List.of(result(4, "web", now, ok, ""),
                result(5, "dns", now, ok, "")), now, 0);
        for (int i = 0; i < 2; i++) {
            assertThat(matrixCells()).extracting(c -> c.getCheckId() + " " + c.getStatus() + " " + c.getAtMs())
                    .containsExactly("dns OK " + now.toEpochMilli(), "web OK " + now.toEpochMilli());
        }
    }

    @Test
    void schedulesAreAddedListedRunAndDeletedThroughTheApi() {
        admin.applyChecks(ApplyChecksRequest.newBuilder().addChecks(tcp("web", "203.0.113.10:443")).build());
        dev.probemesh.proto.v1.Schedule added = admin.addSchedule(dev.probemesh.proto.v1.AddScheduleRequest
                .newBuilder().setName("nightly").setCron("0 2 * * *").setTimeZone("Asia/Tokyo")
                .putSelector("site", "idc").addCheckIds("web").build());
        assertThat(added.getId()).startsWith("sc-");
        assertThat(added.getNextRunMs()).isGreaterThan(System.currentTimeMillis());

        var listed = admin.listSchedules(dev.probemesh.proto.v1.ListSchedulesRequest.getDefaultInstance());
        assertThat(listed.getSchedulesList()).extracting(s -> s.getName(), s -> s.getTimeZone())
                .containsExactly(org.assertj.core.groups.Tuple.tuple("nightly", "Asia/Tokyo"));

        // No agent is connected here: the run is recorded as a FAILED sweep, visible in both lists.
        var run = admin.runScheduleNow(dev.probemesh.proto.v1.RunScheduleNowRequest.newBuilder()
                .setSchedule("nightly").build());
        assertThat(run.getState()).isEqualTo("FAILED");
        assertThat(run.getError()).contains("site=idc").contains("matches no connected agent");
        assertThat(admin.listSweeps(dev.probemesh.proto.v1.ListSweepsRequest.getDefaultInstance()).getSweepsList())
                .anySatisfy(s -> {
                    assertThat(s.getId()).isEqualTo(run.getId());
                    assertThat(s.getSchedule()).isEqualTo("nightly");
                });
        assertThat(admin.listSchedules(dev.probemesh.proto.v1.ListSchedulesRequest.getDefaultInstance())
                .getSchedules(0)).satisfies(s -> {
                    assertThat(s.getLastSweepId()).isEqualTo(run.getId());
                    assertThat(s.getLastOutcome()).isEqualTo("FAILED");
                });

        admin.deleteSchedule(dev.probemesh.proto.v1.DeleteScheduleRequest.newBuilder().setSchedule(added.getId())
                .build());
        assertThat(admin.listSchedules(dev.probemesh.proto.v1.ListSchedulesRequest.getDefaultInstance())
                .getSchedulesList()).isEmpty();
    }

    @Test
    void scheduleErrorsMapToStatusCodes() {
        assertThatThrownBy(() -> admin.addSchedule(dev.probemesh.proto.v1.AddScheduleRequest.newBuilder()
                .setCron("every night").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("cron \"every night\" is invalid");
                });
        assertThatThrownBy(() -> admin.runScheduleNow(dev.probemesh.proto.v1.RunScheduleNowRequest.newBuilder()
                .setSchedule("nope").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> admin.diagnose(DiagnoseRequest.newBuilder().setSweepId("sw-nope").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }
}
