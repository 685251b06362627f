package dev.probemesh.coordinator.api;

import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.common.check.CheckSpecException;
import dev.probemesh.common.check.CheckValidator;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.ApplyOutcome;
import dev.probemesh.coordinator.store.LatestRow;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.coordinator.schedule.Schedules;
import dev.probemesh.coordinator.sweep.Sweeps;
import dev.probemesh.proto.v1.AddScheduleRequest;
import dev.probemesh.proto.v1.DeleteScheduleRequest;
import dev.probemesh.proto.v1.DeleteScheduleResponse;
import dev.probemesh.proto.v1.ListSchedulesRequest;
import dev.probemesh.proto.v1.ListSchedulesResponse;
import dev.probemesh.proto.v1.RunScheduleNowRequest;
import dev.probemesh.proto.v1.Schedule;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.AgentInfo;
import dev.probemesh.proto.v1.ApplyChecksRequest;
import dev.probemesh.proto.v1.ApplyChecksResponse;
import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.CreateTokenRequest;
import dev.probemesh.proto.v1.CreateTokenResponse;
import dev.probemesh.proto.v1.DeleteCheckRequest;
import dev.probemesh.proto.v1.DeleteCheckResponse;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.ListAgentsRequest;
import dev.probemesh.proto.v1.ListAgentsResponse;
import dev.probemesh.proto.v1.ListChecksRequest;
import dev.probemesh.proto.v1.ListChecksResponse;
import dev.probemesh.proto.v1.ListTokensRequest;
import dev.probemesh.proto.v1.ListTokensResponse;
import dev.probemesh.proto.v1.MatrixCell;
import dev.probemesh.proto.v1.MatrixChunk;
import dev.probemesh.proto.v1.MatrixRequest;
import dev.probemesh.proto.v1.RevokeAgentRequest;
import dev.probemesh.proto.v1.RevokeAgentResponse;
import dev.probemesh.proto.v1.RevokeTokenRequest;
import dev.probemesh.proto.v1.RevokeTokenResponse;
import dev.probemesh.proto.v1.ListSweepsRequest;
import dev.probemesh.proto.v1.ListSweepsResponse;
import dev.probemesh.proto.v1.StartSweepRequest;
import dev.probemesh.proto.v1.SweepStatus;
import dev.probemesh.proto.v1.WatchSweepRequest;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The admin API behind the CLI. Every call has passed the admin-credential check of the auth interceptor. */
public final class AdminServiceImpl extends AdminServiceGrpc.AdminServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(AdminServiceImpl.class);
    private static final int CELLS_PER_CHUNK = 5_000;
    /** Well under gRPC's default 4 MiB message limit, whatever the cells' detail strings hold. */
    private static final long BYTES_PER_CHUNK = 1 << 20;
    /** How much of a matrix answer may wait in the transport's buffers before building stops. */
    private static final int READY_BYTES = 1 << 20;
    private static final int MAX_CHECKS_PER_APPLY = 10_000;

    private final Store store;
    private final SessionRegistry sessions;
    private final VerdictSource verdicts;
    private final TokenAdmin tokens;
    private final Sweeps sweeps;
    private final Schedules schedules;
    private final Clock clock;

    public AdminServiceImpl(Store store, SessionRegistry sessions, VerdictSource verdicts, TokenAdmin tokens,
            Sweeps sweeps, Schedules schedules, Clock clock) {
        this.sweeps = sweeps;
        this.schedules = schedules;
        this.store = store;
        this.sessions = sessions;
        this.verdicts = verdicts;
        this.tokens = tokens;
        this.clock = clock;
    }

    @Override
    public void listAgents(ListAgentsRequest request, StreamObserver<ListAgentsResponse> out) {
        unary(out, () -> ListAgentsResponse.newBuilder().addAllAgents(agentInfos()).build());
    }

    private List<AgentInfo> agentInfos() {
        List<AgentInfo> out = new ArrayList<>();
        for (AgentRow a : store.agents()) {
            var live = sessions.get(a.name());
            Capabilities caps;
            try {
                caps = Capabilities.parseFrom(a.capabilities());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                caps = Capabilities.getDefaultInstance();
            }
            out.add(AgentInfo.newBuilder().setName(a.name()).setSite(a.site()).putAllLabels(a.labels())
                    .setConnected(live.map(s -> s.isOpen()).orElse(false))
                    .setLastSeenMs(live.map(s -> s.lastSeen()).orElse(a.lastSeen()).toEpochMilli())
                    .setVersion(a.version()).setCapabilities(live.map(s -> s.capabilities()).orElse(caps))
                    .setClockSkewMs(live.map(s -> s.clockSkewMs()).orElse(a.clockSkewMs())).build());
        }
        out.sort((x, y) -> x.getSite().equals(y.getSite()) ? x.getName().compareTo(y.getName())
                : x.getSite().compareTo(y.getSite()));
        return out;
    }

    @Override
    public void applyChecks(ApplyChecksRequest request, StreamObserver<ApplyChecksResponse> out) {
        unary(out, () -> {
            if (request.getChecksCount() > MAX_CHECKS_PER_APPLY) {
                throw Status.INVALID_ARGUMENT.withDescription(request.getChecksCount()
                        + " checks in one request; at most " + MAX_CHECKS_PER_APPLY).asException();
            }
            // Revisions are the coordinator's to assign; what the client sent is ignored.
            List<Check> checks = request.getChecksList().stream().map(c -> c.toBuilder().clearRevision().build())
                    .toList();
            try {
                CheckValidator.validateAll(checks);
            } catch (CheckSpecException e) {
                throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
            }
            ApplyOutcome o = store.applyChecks(checks, request.getPrune());
            if (!o.created().isEmpty() || !o.updated().isEmpty() || !o.deleted().isEmpty()) {
                sessions.pushAssignments();
            }
            log.info("checks applied: {} created, {} updated, {} unchanged, {} deleted", o.created().size(),
                    o.updated().size(), o.unchanged().size(), o.deleted().size());
            return ApplyChecksResponse.newBuilder().addAllCreated(o.created()).addAllUpdated(o.updated())
                    .addAllUnchanged(o.unchanged()).addAllDeleted(o.deleted()).build();
        });
    }

    @Override
    public void listChecks(ListChecksRequest request, StreamObserver<ListChecksResponse> out) {
        unary(out, () -> ListChecksResponse.newBuilder().addAllChecks(store.checks()).build());
    }

    @Override
    public void deleteCheck(DeleteCheckRequest request, StreamObserver<DeleteCheckResponse> out) {
        unary(out, () -> {
            boolean deleted = store.deleteCheck(request.getId());
            if (!deleted) {
                throw Status.NOT_FOUND.withDescription("no check with id \"" + request.getId() + "\"").asException();
            }
            sessions.pushAssignments();
            return DeleteCheckResponse.newBuilder().setDeleted(true).build();
        });
    }

    @Override
    public void getMatrix(MatrixRequest request, StreamObserver<MatrixChunk> out) {
        MatrixStream stream;
        try {
            Instant now = clock.instant();
            List<AgentInfo> agents = agentInfos().stream()
                    .filter(a -> Selectors.matches(request.getAgentSelectorMap(), a.getSite(), a.getLabelsMap()))
                    .toList();
            Set<String> wantedChecks = new HashSet<>(request.getCheckIdsList());
            List<Check> checks = store.checks().stream()
                    .filter(c -> wantedChecks.isEmpty() || wantedChecks.contains(c.getId())).toList();
            // Cells go into a grid indexed by agent and check position: two lookups in small maps
            // per row and no key strings, which matters at 1,000 agents x 200 checks.
            Map<String, Integer> checkIndex = new HashMap<>();
            for (int i = 0; i < checks.size(); i++) {
                checkIndex.put(checks.get(i).getId(), i);
            }
            Map<String, Integer> agentIndex = new HashMap<>();
            for (int i = 0; i < agents.size(); i++) {
                agentIndex.put(agents.get(i).getName(), i);
            }
            LatestRow[][] latest = new LatestRow[agents.size()][checks.size()];
            store.forEachLatestCell(r -> {
                Integer a = agentIndex.get(r.agent());
                Integer c = a == null ? null : checkIndex.get(r.checkId());
                if (c != null) {
                    latest[a][c] = r;
                }
            });
            stream = new MatrixStream(agents, checks, latest, verdicts.cellVerdicts(), now, out);
        } catch (RuntimeException e) {
            log.error("matrix failed", e);
            out.onError(Status.INTERNAL.withDescription("matrix failed: " + e.getMessage()).asRuntimeException());
            return;
        }
        stream.start();
    }

    /**
     * The last matrix query's cells that depend on their latest row alone (fresh, no verdict),
     * by grid position. The store replaces a cell's {@link LatestRow} object whenever its latest
     * result changes, so a cached cell is reused only while the grid holds the very same row
     * object: built once per result, not once per query.
     */
    private record CellCache(String[] agents, String[] checks, LatestRow[][] rows, MatrixCell[][] cells) {
        MatrixCell get(int ai, int ci, LatestRow r) {
            return rows[ai][ci] == r ? cells[ai][ci] : null;
        }
    }

    private volatile CellCache cellCache;

    private static final ByteString[] STATUS_BYTES = Arrays.stream(ProbeStatus.values())
            .map(st -> ByteString.copyFromUtf8(st.name())).toArray(ByteString[]::new);

    /**
     * Streams one matrix answer as the client takes it (gRPC flow control: a chunk is built and
     * sent only while the transport is ready), so the server never holds the whole answer
     * serialized in its buffers.
     */
    private final class MatrixStream implements Runnable {
        private final List<AgentInfo> agents;
        private final List<Check> checks;
        private final LatestRow[][] latest;
        private final Map<String, String> explained;
        private final Instant now;
        private final long nowMs;
        private final long[] staleMs;
        private final boolean[] selective;
        private final ByteString[] agentBytes;
        private final ByteString[] checkBytes;
        private final StreamObserver<MatrixChunk> out;
        private final CellCache previous;
        private final CellCache next;
        private int ai;
        private int ci;
        private boolean headerSent;
        private boolean done;

        MatrixStream(List<AgentInfo> agents, List<Check> checks, LatestRow[][] latest,
                Map<String, String> explained, Instant now, StreamObserver<MatrixChunk> out) {
            this.agents = agents;
            this.checks = checks;
            this.latest = latest;
            this.explained = explained;
            this.now = now;
            this.nowMs = now.toEpochMilli();
            this.out = out;
            this.staleMs = new long[checks.size()];
            this.selective = new boolean[checks.size()];
            String[] checkIds = new String[checks.size()];
            for (int i = 0; i < checks.size(); i++) {
                Check c = checks.get(i);
                staleMs[i] = (long) STALE_INTERVALS * c.getIntervalMs() + c.getTimeoutMs();
                selective[i] = c.getSelectorCount() > 0;
                checkIds[i] = c.getId();
            }
            String[] agentNames = new String[agents.size()];
            this.agentBytes = new ByteString[agents.size()];
            for (int i = 0; i < agents.size(); i++) {
                agentNames[i] = agents.get(i).getName();
                agentBytes[i] = agents.get(i).getNameBytes();
            }
            this.checkBytes = new ByteString[checks.size()];
            for (int i = 0; i < checks.size(); i++) {
                checkBytes[i] = checks.get(i).getIdBytes();
            }
            CellCache cached = cellCache;
            this.previous = cached != null && Arrays.equals(cached.agents(), agentNames)
                    && Arrays.equals(cached.checks(), checkIds) ? cached : null;
            this.next = new CellCache(agentNames, checkIds, latest, new MatrixCell[agents.size()][checks.size()]);
        }

        void start() {
            if (out instanceof ServerCallStreamObserver<MatrixChunk> call) {
                // Callbacks of one call are serialized: run() never races itself.
                call.setOnCancelHandler(() -> done = true);
                // A few chunks in flight: at the default 32 KiB every chunk (about 225 KiB at
                // 5,000 cells) waited for the one before it to drain to the client.
                call.setOnReadyThreshold(READY_BYTES);
                call.setOnReadyHandler(this);
            }
            run();
        }

        @Override
        public void run() {
            if (done) {
                return;
            }
            try {
                ServerCallStreamObserver<MatrixChunk> call =
                        out instanceof ServerCallStreamObserver<MatrixChunk> c ? c : null;
                while (!done && (call == null || call.isReady())) {
                    if (!headerSent) {
                        headerSent = true;
                        out.onNext(MatrixChunk.newBuilder().setGeneratedAtMs(nowMs).addAllAgents(agents)
                                .addAllChecks(checks).build());
                        continue;
                    }
                    MatrixChunk.Builder chunk = nextChunk();
                    if (chunk.getCellsCount() > 0) {
                        out.onNext(chunk.build());
                    }
                    if (ai >= agents.size()) {
                        done = true;
                        cellCache = next;
                        out.onCompleted();
                    }
                }
            } catch (RuntimeException e) {
                done = true;
                log.error("matrix failed", e);
                out.onError(Status.INTERNAL.withDescription("matrix failed: " + e.getMessage()).asRuntimeException());
            }
        }

        /** The next cells in grid order, up to {@link #CELLS_PER_CHUNK} or {@link #BYTES_PER_CHUNK}. */
        private MatrixChunk.Builder nextChunk() {
            MatrixChunk.Builder chunk = MatrixChunk.newBuilder();
            int cells = 0;
            long bytes = 0;
            for (; ai < agents.size(); ai++, ci = 0) {
                AgentInfo a = agents.get(ai);
                for (; ci < checks.size(); ci++) {
                    if (cells == CELLS_PER_CHUNK || bytes >= BYTES_PER_CHUNK) {
                        return chunk;
                    }
                    Check c = checks.get(ci);
                    if (selective[ci] && !Selectors.matches(c.getSelectorMap(), a.getSite(), a.getLabelsMap())) {
                        continue;
                    }
                    MatrixCell cell = cell(a, c, ai, ci);
                    chunk.addCells(cell);
                    cells++;
                    bytes += cell.getSerializedSize() + 4;
                }
            }
            return chunk;
        }

        /**
         * What {@link AdminServiceImpl#cell} builds for a fresh cell without a verdict, with the
         * strings as shared UTF-8 bytes: the cell is serialized by copying them, not re-encoding.
         */
        private MatrixCell freshCell(int ai, int ci, LatestRow r) {
            MatrixCell.Builder b = MatrixCell.newBuilder().setAgentBytes(agentBytes[ai]).setCheckIdBytes(checkBytes[ci])
                    .setAtMs(r.correctedAt().toEpochMilli()).setCheckRevision(r.checkRevision())
                    .setStatusBytes(STATUS_BYTES[r.status().ordinal()]).setLatencyMs(r.latencyMs());
            if (r.failure() != null && !r.failure().isEmpty()) {
                b.setFailure(r.failure());
            }
            if (!r.detail().isEmpty()) {
                b.setDetail(r.detail());
            }
            return b.build();
        }

        private MatrixCell cell(AgentInfo a, Check c, int ai, int ci) {
            LatestRow r = latest[ai][ci];
            if (r == null || nowMs - r.correctedAt().toEpochMilli() > staleMs[ci]) {
                return AdminServiceImpl.cell(a, c, r, null, now);
            }
            // Only a red cell can be explained by a verdict: look the key up for those alone.
            String verdictId = r.status() == ProbeStatus.OK ? null : explained.get(a.getName() + "|" + c.getId());
            if (verdictId != null) {
                return AdminServiceImpl.cell(a, c, r, verdictId, now);
            }
            MatrixCell cell = previous == null ? null : previous.get(ai, ci, r);
            if (cell == null) {
                cell = freshCell(ai, ci, r);
            }
            next.cells()[ai][ci] = cell;
            return cell;
        }
    }

    /** A cell older than this many intervals (plus the timeout) is MISSING: the agent went quiet. */
    static final int STALE_INTERVALS = 3;

    static MatrixCell cell(AgentInfo a, Check c, LatestRow r, String verdictId, Instant now) {
        MatrixCell.Builder b = MatrixCell.newBuilder().setAgent(a.getName()).setCheckId(c.getId());
        if (r == null) {
            return b.setStatus("MISSING").setDetail(a.getConnected() ? "no result yet" : "agent not connected").build();
        }
        long ageMs = now.toEpochMilli() - r.correctedAt().toEpochMilli();
        long staleMs = (long) STALE_INTERVALS * c.getIntervalMs() + c.getTimeoutMs();
        b.setAtMs(r.correctedAt().toEpochMilli()).setCheckRevision(r.checkRevision());
        if (ageMs > staleMs) {
            return b.setStatus("MISSING").setDetail("last result " + (ageMs / 1000) + " s ago ("
                    + r.status() + (r.failure() == null || r.failure().isEmpty() ? "" : " " + r.failure()) + ")").build();
        }
        b.setStatus(r.status().name()).setFailure(r.failure() == null ? "" : r.failure())
                .setLatencyMs(r.latencyMs()).setDetail(r.detail() == null ? "" : r.detail());
        if (verdictId != null && !r.status().name().equals("OK")) {
            b.setVerdictId(verdictId);
        }
        return b.build();
    }

    @Override
    public void diagnose(DiagnoseRequest request, StreamObserver<DiagnoseResponse> out) {
        unary(out, () -> request.getSweepId().isEmpty() ? verdicts.diagnose(request)
                : sweeps.diagnose(request, verdicts::diagnose));
    }

    @Override
    public void createToken(CreateTokenRequest request, StreamObserver<CreateTokenResponse> out) {
        unary(out, () -> tokens.create(request));
    }

    @Override
    public void listTokens(ListTokensRequest request, StreamObserver<ListTokensResponse> out) {
        unary(out, tokens::list);
    }

    @Override
    public void revokeToken(RevokeTokenRequest request, StreamObserver<RevokeTokenResponse> out) {
        unary(out, () -> {
            if (!tokens.revokeToken(request.getId())) {
                throw Status.NOT_FOUND.withDescription("no token with id \"" + request.getId() + "\"").asException();
            }
            return RevokeTokenResponse.newBuilder().setRevoked(true).build();
        });
    }

    @Override
    public void revokeAgent(RevokeAgentRequest request, StreamObserver<RevokeAgentResponse> out) {
        unary(out, () -> {
            if (!tokens.revokeAgent(request.getName())) {
                throw Status.NOT_FOUND.withDescription("no agent named \"" + request.getName() + "\"").asException();
            }
            sessions.revoke(request.getName(), "agent " + request.getName() + " was revoked by an administrator");
            return RevokeAgentResponse.newBuilder().setRevoked(true).build();
        });
    }

    @Override
    public void startSweep(StartSweepRequest request, StreamObserver<SweepStatus> out) {
        unary(out, () -> sweeps.start(request));
    }

    @Override
    public void watchSweep(WatchSweepRequest request, StreamObserver<SweepStatus> out) {
        try {
            sweeps.watch(request.getId(), out);
        } catch (StatusException e) {
            out.onError(e);
        } catch (RuntimeException e) {
            log.error("watch sweep failed", e);
            out.onError(Status.INTERNAL.withDescription("watch failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void listSweeps(ListSweepsRequest request, StreamObserver<ListSweepsResponse> out) {
        unary(out, () -> ListSweepsResponse.newBuilder().addAllSweeps(sweeps.list()).build());
    }

    @Override
    public void addSchedule(AddScheduleRequest request, StreamObserver<Schedule> out) {
        unary(out, () -> schedules.add(request));
    }

    @Override
    public void listSchedules(ListSchedulesRequest request, StreamObserver<ListSchedulesResponse> out) {
        unary(out, () -> ListSchedulesResponse.newBuilder().addAllSchedules(schedules.list()).build());
    }

    @Override
    public void deleteSchedule(DeleteScheduleRequest request, StreamObserver<DeleteScheduleResponse> out) {
        unary(out, () -> {
            schedules.delete(request.getSchedule());
            return DeleteScheduleResponse.newBuilder().setDeleted(true).build();
        });
    }

    @Override
    public void runScheduleNow(RunScheduleNowRequest request, StreamObserver<SweepStatus> out) {
        unary(out, () -> schedules.runNow(request.getSchedule()));
    }

    @FunctionalInterface
    interface Call<T> {
        T call() throws StatusException;
    }

    /** The one place where failures of admin calls become gRPC statuses. */
    static <T> void unary(StreamObserver<T> out, Call<T> call) {
        T value;
        try {
            value = call.call();
        } catch (StatusException e) {
            out.onError(e);
            return;
        } catch (IllegalArgumentException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException());
            return;
        } catch (RuntimeException e) {
            log.error("admin call failed", e);
            out.onError(Status.INTERNAL.withDescription("coordinator error: " + e).asException());
            return;
        }
        out.onNext(value);
        out.onCompleted();
    }
}
