package dev.probemesh.coordinator.sweep;

import dev.probemesh.common.check.CheckSpecException;
import dev.probemesh.common.check.CheckValidator;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.coordinator.session.Session;
import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.IngestBatch;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.MatrixCell;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.RunNow;
import dev.probemesh.proto.v1.StartSweepRequest;
import dev.probemesh.proto.v1.SweepStatus;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fleet-wide sweeps: a sweep sends run-now requests to the selected connected agents, spread by
 * the politeness budget, collects the results as the ingestor commits them, and finishes when
 * every (agent, check) cell has answered or its deadline passed; unanswered cells are MISSING.
 * Finished sweeps are kept in memory (the most recent {@link #KEPT}) and in the database
 * ({@link SweepStore}), so they can be listed and shown again after a restart.
 */
public final class Sweeps {
    private static final Logger log = LoggerFactory.getLogger(Sweeps.class);
    /** Time after the last start plus the longest timeout for the results to travel and commit. */
    public static final long GRACE_MS = 2_000;
    /**
     * Cells per millisecond the deadline assumes the store commits (10,000 a second: well under
     * what one writer does over gRPC here, 15-22k/s, so a cold coordinator still makes it).
     */
    static final long COMMIT_CELLS_PER_MS = 10;
    static final int KEPT = 200;
    private static final long TICK_MS = 250;
    /** The sweep's last results are correlated on the next diagnosis tick: a verdict they open lands just after its end. */
    static final long DIAGNOSE_SLACK_MS = 5_000;

    /**
     * The grace after the window and the longest timeout: the results' travel plus the store's time to
     * commit them. A fleet-wide sweep of 1,000 agents x 50 checks answers 50,000 cells at once; with a
     * flat 2 s a cold coordinator (JIT, every series new) reported half of them MISSING though every
     * agent had answered. MISSING must mean "no answer", not "the coordinator was still committing".
     */
    static long graceMs(int cells) {
        return GRACE_MS + cells / COMMIT_CELLS_PER_MS;
    }

    /** How sweeps are tuned. */
    public record Config(double defaultRatePerS) {
        public static Config defaults() {
            return new Config(SweepBudget.DEFAULT_RATE_PER_S);
        }
    }

    private final Store store;
    private final SessionRegistry sessions;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final Config config;
    private final Map<String, Sweep> sweeps = new ConcurrentHashMap<>();
    private final SweepStore stored;

    public Sweeps(Store store, SessionRegistry sessions, Clock clock, ScheduledExecutorService scheduler,
            Config config) {
        this.store = store;
        this.sessions = sessions;
        this.clock = clock;
        this.scheduler = scheduler;
        this.config = config;
        this.stored = new SweepStore(store.dataSource());
    }

    public Sweeps(Store store, SessionRegistry sessions, Clock clock, ScheduledExecutorService scheduler) {
        this(store, sessions, clock, scheduler, Config.defaults());
    }

    /** Validates, plans and starts a sweep; every error is raised before anything is sent. */
    public SweepStatus start(StartSweepRequest req) throws StatusException {
        return start(req, "");
    }

    /**
     * Starts a sweep on behalf of the schedule named {@code schedule} (empty: an ad-hoc sweep);
     * the name is carried by its status so that {@code sweep list} shows where it came from.
     */
    public SweepStatus start(StartSweepRequest req, String schedule) throws StatusException {
        Map<String, String> selector = req.getSelectorMap();
        List<Session> connected = sessions.all().stream().filter(Session::isOpen).toList();
        checkSelectorKeys(selector, connected);
        List<Session> selected = connected.stream()
                .filter(s -> Selectors.matches(selector, s.site(), s.labels()))
                .sorted(Comparator.comparing(Session::agent)).toList();
        if (selected.isEmpty()) {
            Set<String> sites = new TreeSet<>();
            connected.forEach(s -> sites.add(s.site()));
            throw Status.FAILED_PRECONDITION.withDescription("selector \"" + Selectors.format(selector)
                    + "\" matches no connected agent; connected sites: "
                    + (sites.isEmpty() ? "(none)" : String.join(", ", sites))).asException();
        }
        List<Check> checks = checksOf(req);
        boolean explicit = !req.getCheckIdsList().isEmpty() || !req.getChecksList().isEmpty();
        List<SweepBudget.Cell> cells = new ArrayList<>();
        for (Session s : selected) {
            for (Check c : checks) {
                // Checks named in the request run on every selected agent; "all checks" keeps each check's own selector.
                if (explicit || Selectors.matches(c.getSelectorMap(), s.site(), s.labels())) {
                    cells.add(new SweepBudget.Cell(s.agent(), c));
                }
            }
        }
        if (cells.isEmpty()) {
            throw Status.FAILED_PRECONDITION.withDescription("no check applies to the "
                    + selected.size() + " selected agents").asException();
        }
        SweepBudget.Plan plan = SweepBudget.plan(cells, config.defaultRatePerS(), ThreadLocalRandom.current());
        long maxTimeout = checks.stream().mapToLong(Check::getTimeoutMs).max().orElse(0);
        long deadlineMs = req.getTimeoutMs() > 0 ? req.getTimeoutMs() : plan.windowMs() + maxTimeout + graceMs(cells.size());
        long now = clock.millis();
        Sweep sweep = new Sweep(newId(), now, now + deadlineMs, plan, cells,
                checks.stream().map(Check::getId).toList(), schedule);
        sweeps.put(sweep.id, sweep);
        trim();
        Map<String, List<Check>> byAgent = new LinkedHashMap<>();
        cells.forEach(c -> byAgent.computeIfAbsent(c.agent(), k -> new ArrayList<>()).add(c.check()));
        Map<String, Session> sessionOf = new java.util.HashMap<>();
        selected.forEach(s -> sessionOf.put(s.agent(), s));
        for (var e : byAgent.entrySet()) {
            RunNow run = RunNow.newBuilder().setSweepId(sweep.id).addAllChecks(e.getValue())
                    .putAllDelayPerCheckMs(plan.delays().getOrDefault(e.getKey(), Map.of())).build();
            if (!sessionOf.get(e.getKey()).send(CoordinatorMessage.newBuilder().setRunNow(run).build())) {
                log.info("sweep {}: agent {} went away before its run-now was sent", sweep.id, e.getKey());
            }
        }
        sweep.tick = scheduler.scheduleWithFixedDelay(() -> tick(sweep), TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
        log.info("sweep {} started: {} agents, {} checks, {} cells, window {} ms{}, deadline in {} ms", sweep.id,
                selected.size(), checks.size(), cells.size(), plan.windowMs(), plan.stretched() ? " (stretched)" : "",
                deadlineMs);
        return sweep.status(false);
    }

    /**
     * Records a sweep that could not start (a schedule fired while, say, its selector matched no
     * connected agent): stored as FAILED with the reason, so {@code sweep list} and the schedule show it.
     */
    public SweepStatus recordFailed(StartSweepRequest req, String schedule, String error) throws StatusException {
        long now = clock.millis();
        SweepStatus failed = SweepStatus.newBuilder().setId(newId()).setState("FAILED").setStartedAtMs(now)
                .setFinishedAtMs(now).addAllCheckIds(req.getCheckIdsList()).setSchedule(schedule).setError(error)
                .build();
        try {
            stored.save(failed);
        } catch (java.sql.SQLException e) {
            throw Status.INTERNAL.withDescription("cannot record the failed sweep: " + e.getMessage()).withCause(e)
                    .asException();
        }
        log.info("sweep {}{} FAILED: {}", failed.getId(), schedule.isEmpty() ? "" : " (schedule " + schedule + ")",
                error);
        return failed;
    }

    /** The same check as a sweep's start: every selector key is 'site' or a label some agent has. */
    public void validateSelector(Map<String, String> selector) throws StatusException {
        checkSelectorKeys(selector, sessions.all().stream().filter(Session::isOpen).toList());
    }

    /**
     * The verdicts that concern sweep {@code request.sweep_id}: open at some time during the sweep
     * or in the few seconds after its end when its own results are correlated (closed ones
     * included), naming one of its checks and one of its agents (or no agent at all).
     * {@code verdicts} answers the request without the sweep filter; the other filters still apply.
     */
    public DiagnoseResponse diagnose(DiagnoseRequest request, Function<DiagnoseRequest, DiagnoseResponse> verdicts)
            throws StatusException {
        SweepStatus s = get(request.getSweepId(), true).orElseThrow(() -> Status.NOT_FOUND
                .withDescription("no sweep with id \"" + request.getSweepId() + "\"").asException());
        long from = s.getStartedAtMs();
        long to = (s.getFinishedAtMs() != 0 ? s.getFinishedAtMs() : clock.millis()) + DIAGNOSE_SLACK_MS;
        DiagnoseResponse all = verdicts.apply(request.toBuilder().clearSweepId().setIncludeClosed(true)
                .setSinceMs(from).build());
        Set<String> checks = new HashSet<>(s.getCheckIdsList());
        Set<String> agents = new HashSet<>();
        s.getCellsList().forEach(c -> agents.add(c.getAgent()));
        agents.addAll(s.getAgentsPendingList());
        return all.toBuilder().clearVerdicts().addAllVerdicts(all.getVerdictsList().stream()
                .filter(v -> v.getOpenedAtMs() <= to && (v.getClosedAtMs() == 0 || v.getClosedAtMs() >= from))
                .filter(v -> v.getChecksList().stream().anyMatch(checks::contains))
                .filter(v -> v.getAgentsList().isEmpty() || v.getAgentsList().stream().anyMatch(agents::contains))
                .toList()).build();
    }

    private static String newId() {
        return "sw-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private void checkSelectorKeys(Map<String, String> selector, List<Session> connected) throws StatusException {
        Set<String> known = new HashSet<>();
        known.add("site");
        connected.forEach(s -> known.addAll(s.labels().keySet()));
        for (AgentRow a : store.agents()) {
            known.addAll(a.labels().keySet());
        }
        for (String key : selector.keySet()) {
            if (!known.contains(key)) {
                throw Status.INVALID_ARGUMENT.withDescription("unknown selector key \"" + key
                        + "\": not 'site' and no agent has that label; known keys: " + new TreeSet<>(known))
                        .asException();
            }
        }
    }

    private List<Check> checksOf(StartSweepRequest req) throws StatusException {
        List<Check> stored = store.checks();
        List<Check> out = new ArrayList<>();
        if (!req.getChecksList().isEmpty()) {
            try {
                CheckValidator.validateAll(req.getChecksList());
            } catch (CheckSpecException e) {
                throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
            }
            out.addAll(req.getChecksList());
        }
        if (!req.getCheckIdsList().isEmpty()) {
            Map<String, Check> byId = new LinkedHashMap<>();
            stored.forEach(c -> byId.put(c.getId(), c));
            List<String> unknown = new ArrayList<>();
            for (String id : new java.util.LinkedHashSet<>(req.getCheckIdsList())) {
                Check c = byId.get(id);
                if (c == null) {
                    unknown.add(id);
                } else {
                    out.add(c);
                }
            }
            if (!unknown.isEmpty()) {
                throw Status.NOT_FOUND.withDescription("no check with id " + String.join(", ", unknown.stream()
                        .map(i -> "\"" + i + "\"").toList())).asException();
            }
        }
        if (req.getChecksList().isEmpty() && req.getCheckIdsList().isEmpty()) {
            out.addAll(stored);
        }
        Set<String> ids = new HashSet<>();
        for (Check c : out) {
            if (!ids.add(c.getId())) {
                throw Status.INVALID_ARGUMENT.withDescription("check id \"" + c.getId()
                        + "\" appears twice in the sweep").asException();
            }
        }
        if (out.isEmpty()) {
            throw Status.FAILED_PRECONDITION.withDescription("no checks to sweep: none stored, none given")
                    .asException();
        }
        return out;
    }

    /** The ingestor's after-commit hook: results that carry a sweep id fill that sweep's cells. */
    public void resultsCommitted(List<IngestBatch> batches) {
        for (IngestBatch b : batches) {
            for (ProbeResult r : b.results()) {
                if (r.getSweepId().isEmpty()) {
                    continue;
                }
                Sweep s = sweeps.get(r.getSweepId());
                if (s != null) {
                    s.answer(b.agent(), r, b.clockSkewMs());
                }
            }
        }
    }

    /** Follows a sweep: its current status now, then on progress, then the final status with the cells. */
    public void watch(String id, StreamObserver<SweepStatus> out) throws StatusException {
        Sweep s = sweeps.get(id);
        if (s != null) {
            s.addWatcher(out);
            return;
        }
        SweepStatus done = fromDatabase(id).orElseThrow(() ->
                Status.NOT_FOUND.withDescription("no sweep with id \"" + id + "\"").asException());
        out.onNext(done);
        out.onCompleted();
    }

    /** Recent sweeps, newest first, without cells: the running and kept ones, then stored ones. */
    public List<SweepStatus> list() {
        Map<String, SweepStatus> all = new LinkedHashMap<>();
        sweeps.values().forEach(s -> all.put(s.id, s.status(false)));
        try {
            stored.recent(KEPT).forEach(s -> all.putIfAbsent(s.getId(), s));
        } catch (java.sql.SQLException e) {
            log.warn("stored sweeps unavailable; listing those in memory only", e);
        }
        return all.values().stream().sorted(Comparator.comparingLong(SweepStatus::getStartedAtMs).reversed())
                .limit(KEPT).toList();
    }

    public java.util.Optional<SweepStatus> get(String id, boolean withCells) {
        Sweep s = sweeps.get(id);
        if (s != null) {
            return java.util.Optional.of(s.status(withCells));
        }
        return fromDatabase(id).map(st -> withCells ? st : st.toBuilder().clearCells().build());
    }

    private java.util.Optional<SweepStatus> fromDatabase(String id) {
        try {
            return stored.get(id);
        } catch (java.sql.SQLException e) {
            log.warn("stored sweep {} unavailable", id, e);
            return java.util.Optional.empty();
        }
    }

    private void tick(Sweep s) {
        try {
            SweepStatus last = s.tick(clock.millis());
            if (last != null) {
                stored.save(last);
            }
        } catch (java.sql.SQLException | RuntimeException e) {
            log.error("sweep {} tick failed", s.id, e);
        }
    }

    private void trim() {
        if (sweeps.size() <= KEPT) {
            return;
        }
        sweeps.values().stream().filter(Sweep::finished).sorted(Comparator.comparingLong(s -> s.startedAt))
                .limit(sweeps.size() - KEPT).toList().forEach(s -> sweeps.remove(s.id));
    }

    private static String key(String agent, String checkId) {
        return agent + "|" + checkId;
    }

    /** One sweep's state; its monitor guards the cells and the watcher sends. */
    private static final class Sweep {
        final String id;
        final long startedAt;
        final long deadline;
        final SweepBudget.Plan plan;
        final List<SweepBudget.Cell> planned;
        final List<String> checkIds;
        final String schedule;
        final Map<String, MatrixCell> answered = new LinkedHashMap<>();
        final List<StreamObserver<SweepStatus>> watchers = new CopyOnWriteArrayList<>();
        volatile ScheduledFuture<?> tick;
        long finishedAt;
        String state = "RUNNING";
        int lastSentDone = -1;

        Sweep(String id, long startedAt, long deadline, SweepBudget.Plan plan, List<SweepBudget.Cell> planned,
                List<String> checkIds, String schedule) {
            this.id = id;
            this.schedule = schedule;
            this.startedAt = startedAt;
            this.deadline = deadline;
            this.plan = plan;
            this.planned = planned;
            this.checkIds = checkIds;
        }

        synchronized boolean finished() {
            return !state.equals("RUNNING");
        }

        synchronized void answer(String agent, ProbeResult r, long skewMs) {
            if (finished()) {
                return;
            }
            String k = key(agent, r.getCheckId());
            MatrixCell.Builder b = MatrixCell.newBuilder().setAgent(agent).setCheckId(r.getCheckId())
                    .setStatus(r.getStatus().name().replace("STATUS_", "")).setFailure(r.getFailure())
                    .setLatencyMs(r.getTimings().getTotalUs() / 1000.0).setAtMs(r.getObservedAtMs() - skewMs)
                    .setDetail(r.getDetail()).setCheckRevision(r.getCheckRevision());
            answered.put(k, b.build());
        }

        /** Advances the sweep; returns its final status when this tick finished it, else null. */
        synchronized SweepStatus tick(long now) {
            if (finished()) {
                return null;
            }
            if (answered.size() >= planned.size() || now >= deadline) {
                state = answered.size() >= planned.size() ? "DONE" : "EXPIRED";
                finishedAt = now;
                if (tick != null) {
                    tick.cancel(false);
                }
                SweepStatus last = status(true);
                for (StreamObserver<SweepStatus> w : watchers) {
                    send(w, last, true);
                }
                watchers.clear();
                log.info("sweep {} {}: {}/{} cells in {} ms", id, state, answered.size(), planned.size(),
                        now - startedAt);
                return last;
            }
            if (answered.size() != lastSentDone) {
                lastSentDone = answered.size();
                SweepStatus progress = status(false);
                for (StreamObserver<SweepStatus> w : watchers) {
                    send(w, progress, false);
                }
            }
            return null;
        }

        synchronized void addWatcher(StreamObserver<SweepStatus> out) {
            if (finished()) {
                send(out, status(true), true);
                return;
            }
            if (out instanceof ServerCallStreamObserver<SweepStatus> sc) {
                sc.setOnCancelHandler(() -> watchers.remove(out));
            }
            watchers.add(out);
            send(out, status(false), false);
        }

        private void send(StreamObserver<SweepStatus> w, SweepStatus s, boolean last) {
            try {
                if (w instanceof ServerCallStreamObserver<SweepStatus> sc && sc.isCancelled()) {
                    watchers.remove(w);
                    return;
                }
                w.onNext(s);
                if (last) {
                    w.onCompleted();
                }
            } catch (RuntimeException e) {
                // the watcher went away; the sweep goes on without it
                watchers.remove(w);
            }
        }

        synchronized SweepStatus status(boolean withCells) {
            Set<String> pending = new TreeSet<>();
            for (SweepBudget.Cell c : planned) {
                if (!answered.containsKey(key(c.agent(), c.check().getId()))) {
                    pending.add(c.agent());
                }
            }
            SweepStatus.Builder b = SweepStatus.newBuilder().setId(id).setState(state).setStartedAtMs(startedAt)
                    .setFinishedAtMs(finishedAt).setCellsTotal(planned.size()).setCellsDone(answered.size())
                    .addAllAgentsPending(pending).setStretched(plan.stretched())
                    .setWindowMs((int) Math.min(Integer.MAX_VALUE, plan.windowMs())).addAllCheckIds(checkIds)
                    .setSchedule(schedule).setDeadlineAtMs(deadline);
            if (withCells) {
                for (SweepBudget.Cell c : planned) {
                    MatrixCell cell = answered.get(key(c.agent(), c.check().getId()));
                    b.addCells(cell != null ? cell : MatrixCell.newBuilder().setAgent(c.agent())
                            .setCheckId(c.check().getId()).setStatus("MISSING")
                            .setDetail("no answer by the sweep's deadline").build());
                }
            }
            return b.build();
        }
    }
}
