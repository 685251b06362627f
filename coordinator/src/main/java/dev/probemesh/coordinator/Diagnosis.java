package dev.probemesh.coordinator;

import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.coordinator.api.VerdictSource;
import dev.probemesh.coordinator.correlate.AgentView;
import dev.probemesh.coordinator.correlate.CheckView;
import dev.probemesh.coordinator.correlate.CorrelationConfig;
import dev.probemesh.coordinator.correlate.CorrelationResult;
import dev.probemesh.coordinator.correlate.Correlator;
import dev.probemesh.coordinator.correlate.Observation;
import dev.probemesh.coordinator.correlate.Verdict;
import dev.probemesh.coordinator.correlate.VerdictTracker;
import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.IngestBatch;
import dev.probemesh.coordinator.store.ResultRow;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.coordinator.store.VerdictRow;
import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.ProbeResult;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs correlation as results arrive. Committed results feed an in-memory window (the last few
 * results per agent and check, on the coordinator's corrected clock); a short tick runs the pure
 * {@link Correlator} over it, the {@link VerdictTracker} gives verdicts their lifecycle, and
 * changed verdicts go to the store's history. The window is seeded from the store at start, and
 * open verdicts are restored, so a restart neither forgets nor reopens them.
 */
public final class Diagnosis implements VerdictSource {
    private static final Logger log = LoggerFactory.getLogger(Diagnosis.class);
    /** Results kept per (agent, check): enough for N-of-M confirmation and recovery. */
    private static final int PER_CELL = 8;
    /** How long after its stream ends an agent still counts as connected for correlation. */
    static final Duration SILENCE_GRACE = Duration.ofSeconds(30);

    /** Correlation settings, the window length and how often correlation runs. */
    public record Config(CorrelationConfig correlation, Duration window, Duration tick) {
        public static Config defaults() {
            return new Config(CorrelationConfig.defaults(), Duration.ofMinutes(5), Duration.ofSeconds(1));
        }

        public Config withConfirmRounds(int n) {
            return new Config(correlation.withConfirmRounds(n), window, tick);
        }
    }

    private final Store store;
    private final SessionRegistry sessions;
    private final Config config;
    private final Clock clock;
    private final Correlator correlator = new Correlator();
    private final Map<String, Deque<Observation>> window = new HashMap<>();
    private final Map<String, Verdict> saved = new HashMap<>();
    private VerdictTracker tracker;
    private volatile List<Verdict> open = List.of();
    private volatile Map<String, String> cells = Map.of();
    private volatile Instant windowFrom;
    private volatile Instant windowTo;
    private boolean dirty = true;

    public Diagnosis(Store store, SessionRegistry sessions, Config config, Clock clock) {
        this.store = store;
        this.sessions = sessions;
        this.config = config;
        this.clock = clock;
        Instant now = clock.instant();
        this.windowFrom = now.minus(config.window());
        this.windowTo = now;
        List<Verdict> restored = new ArrayList<>();
        for (VerdictRow row : store.verdicts(false, now)) {
            try {
                Verdict v = Verdict.fromProto(dev.probemesh.proto.v1.Verdict.parseFrom(row.payload()));
                restored.add(v);
                saved.put(v.id(), v);
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                log.warn("verdict {} in the store is unreadable; dropped", row.id());
            }
        }
        this.tracker = VerdictTracker.restore(restored, config.correlation());
        this.open = tracker.open();
        synchronized (window) {
            for (ResultRow r : store.resultsSince(now.minus(config.window()))) {
                add(new Observation(r.agent(), r.checkId(), r.status(), emptyToNull(r.failure()), r.detail(),
                        r.attributes(), r.correctedAt()));
            }
        }
    }

    /**
     * Runs correlation every tick, but never more than a fifth of one core: after a run that took
     * longer than a fifth of the tick, the next waits four times that run. At 1,000 agents x 200
     * checks a run costs a few hundred ms of CPU on a busy 2-core machine, and a fixed 1 s tick
     * would take that from the ingest writer during a burst.
     */
    public void start(ScheduledExecutorService scheduler) {
        scheduleTick(scheduler, config.tick().toMillis());
    }

    private void scheduleTick(ScheduledExecutorService scheduler, long delayMs) {
        try {
            scheduler.schedule(() -> {
                long t0 = System.nanoTime();
                safeTick();
                long tookMs = (System.nanoTime() - t0) / 1_000_000;
                scheduleTick(scheduler, Math.max(config.tick().toMillis(), 4 * tookMs));
            }, delayMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the coordinator is shutting down
        }
    }

    /** Called by the ingest writer after each commit, with what it committed. */
    public void resultsCommitted(List<IngestBatch> batches) {
        synchronized (window) {
            for (IngestBatch b : batches) {
                for (ProbeResult r : b.results()) {
                    String family = dev.probemesh.common.check.CheckFacts.familyName(r.getFamily());
                    Map<String, String> attrs;
                    if (r.getAttributesCount() == 0) {
                        // The common case, built immutable at once (Observation would copy a HashMap).
                        attrs = r.getAddress().isEmpty() ? Map.of("family", family)
                                : Map.of("address", r.getAddress(), "family", family);
                    } else {
                        attrs = new HashMap<>(r.getAttributesMap());
                        if (!r.getAddress().isEmpty()) {
                            attrs.put("address", r.getAddress());
                        }
                        attrs.put("family", family);
                    }
                    add(new Observation(b.agent(), r.getCheckId(), ProbeStatus.fromProto(r.getStatus()),
                            emptyToNull(r.getFailure()), r.getDetail(), attrs,
                            Instant.ofEpochMilli(r.getObservedAtMs() - b.clockSkewMs())));
                }
            }
            dirty = true;
        }
    }

    /**
     * Keeps each cell's results in time order: a replayed (late) result lands where it belongs,
     * so it never poses as the newest and cannot reopen what newer results closed.
     */
    private void add(Observation o) {
        Deque<Observation> cell = window.computeIfAbsent(o.agent() + "|" + o.checkId(), k -> new ArrayDeque<>());
        if (cell.isEmpty() || !o.at().isBefore(cell.peekLast().at())) {
            if (!cell.isEmpty() && cell.peekLast().at().equals(o.at())) {
                return; // a replayed result already in the window
            }
            cell.addLast(o);
        } else {
            List<Observation> sorted = new ArrayList<>(cell);
            if (sorted.stream().anyMatch(x -> x.at().equals(o.at()))) {
                return;
            }
            sorted.add(o);
            sorted.sort(Comparator.comparing(Observation::at));
            cell.clear();
            cell.addAll(sorted);
        }
        while (cell.size() > PER_CELL) {
            cell.removeFirst();
        }
    }

    private void safeTick() {
        try {
            tick();
        } catch (RuntimeException e) {
            log.error("correlation failed; will retry on the next tick", e);
        }
    }

    /** One correlation run over the current window (also called by tests). */
    public synchronized void tick() {
        Instant now = clock.instant();
        List<Observation> obs = new ArrayList<>();
        synchronized (window) {
            Instant cutoff = now.minus(config.window());
            window.values().removeIf(cell -> {
                cell.removeIf(o -> o.at().isBefore(cutoff));
                return cell.isEmpty();
            });
            window.values().forEach(obs::addAll);
            dirty = false;
        }
        List<AgentView> agents = new ArrayList<>();
        for (AgentRow a : store.agents()) {
            var live = sessions.get(a.name()).filter(s -> s.isOpen());
            Capabilities caps = live.map(s -> s.capabilities()).orElseGet(() -> parseCaps(a.capabilities()));
            // A stream that dropped a moment ago (agent or coordinator restart) is not silence yet.
            boolean recentlySeen = a.lastSeen() != null && a.lastSeen().isAfter(now.minus(SILENCE_GRACE));
            agents.add(new AgentView(a.name(), a.site(), a.labels(), live.isPresent() || recentlySeen,
                    live.map(s -> s.lastSeen()).orElse(a.lastSeen()), caps.getIpv6(), caps.getIcmp()));
        }
        List<CheckView> checks = store.checks().stream().map(CheckView::from).toList();
        CorrelationResult result = correlator.correlate(agents, checks, obs, now, config.correlation());
        List<Verdict> verdicts = tracker.update(result, now);
        for (Verdict v : verdicts) {
            Verdict prev = saved.get(v.id());
            if (prev == null || prev.state() != v.state() || !prev.checks().equals(v.checks())
                    || !prev.summary().equals(v.summary())) {
                store.upsertVerdict(new VerdictRow(v.id(), v.kind().name(), v.state().name(), v.openedAt(),
                        v.closedAt(), v.site(), v.toProto().toByteArray()));
                saved.put(v.id(), v);
                log.info("verdict {} {} {} {}: {}", v.id(), v.state(), v.kind(), v.site() == null ? "" : v.site(),
                        v.summary());
            }
        }
        saved.keySet().retainAll(verdicts.stream().map(Verdict::id).toList());
        open = tracker.open();
        cells = tracker.cellVerdicts();
        windowFrom = result.windowFrom();
        windowTo = result.windowTo();
    }

    private static Capabilities parseCaps(byte[] bytes) {
        try {
            return Capabilities.parseFrom(bytes);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            return Capabilities.getDefaultInstance();
        }
    }

    @Override
    public DiagnoseResponse diagnose(DiagnoseRequest request) {
        Instant now = clock.instant();
        List<Verdict> list = new ArrayList<>(open);
        if (request.getIncludeClosed()) {
            Instant since = request.getSinceMs() == 0 ? now.minus(Duration.ofHours(1))
                    : Instant.ofEpochMilli(request.getSinceMs());
            synchronized (this) {
                list.addAll(tracker.recentlyClosed(since));
            }
        }
        DiagnoseResponse.Builder b = DiagnoseResponse.newBuilder().setGeneratedAtMs(now.toEpochMilli())
                .setWindowFromMs(windowFrom.toEpochMilli()).setWindowToMs(windowTo.toEpochMilli());
        list.stream()
                .filter(v -> request.getSite().isEmpty() || request.getSite().equals(v.site())
                        || v.sites().contains(request.getSite()))
                .filter(v -> request.getTarget().isEmpty() || request.getTarget().equals(v.target()))
                .sorted(Comparator.comparing(Verdict::openedAt).thenComparing(Verdict::id))
                .forEach(v -> b.addVerdicts(v.toProto()));
        return b.build();
    }

    @Override
    public Map<String, String> cellVerdicts() {
        return cells;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
