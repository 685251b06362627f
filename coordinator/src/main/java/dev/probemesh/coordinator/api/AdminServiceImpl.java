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
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
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
        try {
            Instant now = clock.instant();
            List<AgentInfo> agents = agentInfos().stream()
                    .filter(a -> Selectors.matches(request.getAgentSelectorMap(), a.getSite(), a.getLabelsMap()))
                    .toList();
            Set<String> wantedChecks = new HashSet<>(request.getCheckIdsList());
            List<Check> checks = store.checks().stream()
                    .filter(c -> wantedChecks.isEmpty() || wantedChecks.contains(c.getId())).toList();
            out.onNext(MatrixChunk.newBuilder().setGeneratedAtMs(now.toEpochMilli()).addAllAgents(agents)
                    .addAllChecks(checks).build());
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
            Map<String, String> explained = verdicts.cellVerdicts();
            LatestRow[][] latest = new LatestRow[agents.size()][checks.size()];
            store.forEachLatestCell(r -> {
                Integer a = agentIndex.get(r.agent());
                Integer c = a == null ? null : checkIndex.get(r.checkId());
                if (c != null) {
                    latest[a][c] = r;
                }
            });
            List<MatrixCell> chunk = new ArrayList<>();
            for (int ai = 0; ai < agents.size(); ai++) {
                AgentInfo a = agents.get(ai);
                for (int ci = 0; ci < checks.size(); ci++) {
                    Check c = checks.get(ci);
                    if (c.getSelectorCount() > 0 && !Selectors.matches(c.getSelectorMap(), a.getSite(), a.getLabelsMap())) {
                        continue;
                    }
                    LatestRow r = latest[ai][ci];
                    // Only a red cell can be explained by a verdict: look the key up for those alone.
                    String verdictId = r == null || r.status() == ProbeStatus.OK ? null
                            : explained.get(a.getName() + "|" + c.getId());
                    chunk.add(cell(a, c, r, verdictId, now));
                    if (chunk.size() == CELLS_PER_CHUNK) {
                        out.onNext(MatrixChunk.newBuilder().addAllCells(chunk).build());
                        chunk.clear();
                    }
                }
            }
            if (!chunk.isEmpty()) {
                out.onNext(MatrixChunk.newBuilder().addAllCells(chunk).build());
            }
            out.onCompleted();
        } catch (RuntimeException e) {
            log.error("matrix failed", e);
            out.onError(Status.INTERNAL.withDescription("matrix failed: " + e.getMessage()).asRuntimeException());
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
