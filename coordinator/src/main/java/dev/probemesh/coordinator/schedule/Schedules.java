package dev.probemesh.coordinator.schedule;

import dev.probemesh.common.check.Selectors;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.coordinator.sweep.Sweeps;
import dev.probemesh.proto.v1.AddScheduleRequest;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Schedule;
import dev.probemesh.proto.v1.StartSweepRequest;
import dev.probemesh.proto.v1.SweepStatus;
import io.grpc.Status;
import io.grpc.StatusException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cron schedules of sweeps. Each schedule is stored with its next run; a short tick starts an
 * ordinary sweep ({@link Sweeps#start(StartSweepRequest, String)}, marked with the schedule's
 * name) for every schedule that is due, then computes the next run from now. So a schedule whose
 * runs passed while the coordinator was down runs once, not once per missed slot. A sweep that
 * cannot start when it fires (its selector matches no connected agent, a check was deleted) is
 * recorded as a FAILED sweep with the reason, and the schedule keeps going.
 *
 * <p>All times come from the injected {@link Clock}; tests drive {@link #tick()} themselves.
 */
public final class Schedules {
    private static final Logger log = LoggerFactory.getLogger(Schedules.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** A sweep's deadline longer than a day is a typo, not a plan. */
    static final long MAX_TIMEOUT_MS = Duration.ofDays(1).toMillis();

    /**
     * How schedules run.
     *
     * @param defaultZone the zone of a schedule added without one (the coordinator's)
     * @param tick how often due schedules are looked for
     * @param catchUpDelay how long after start a run missed while the coordinator was down waits,
     *     so that agents have reconnected and the sweep finds them: an agent's reconnect backoff is
     *     capped at 30 s, so after a long outage its next attempt may be that far away
     */
    public record Config(ZoneId defaultZone, Duration tick, Duration catchUpDelay) {
        public Config {
            java.util.Objects.requireNonNull(defaultZone, "defaultZone");
            java.util.Objects.requireNonNull(tick, "tick");
            java.util.Objects.requireNonNull(catchUpDelay, "catchUpDelay");
        }

        public static Config defaults() {
            return new Config(ZoneId.systemDefault(), Duration.ofSeconds(1), Duration.ofSeconds(40));
        }
    }

    private final Store store;
    private final Sweeps sweeps;
    private final Clock clock;
    private final Config config;
    private final ScheduleStore db;
    /** Guarded by {@code this}; the database is written through, so it always holds the same. */
    private final Map<String, ScheduleRow> byId = new LinkedHashMap<>();
    private final Map<String, CronSchedule> crons = new LinkedHashMap<>();

    /** Loads the stored schedules; runs missed while the coordinator was down are due once, after the catch-up delay. */
    public Schedules(Store store, Sweeps sweeps, Clock clock, Config config) {
        this.store = store;
        this.sweeps = sweeps;
        this.clock = clock;
        this.config = config;
        this.db = new ScheduleStore(store.dataSource());
        long now = clock.millis();
        try {
            for (ScheduleRow r : db.all()) {
                CronSchedule cron;
                try {
                    cron = CronSchedule.of(r.cron(), r.timeZone(), config.defaultZone());
                } catch (IllegalArgumentException e) {
                    // Validated when added; only a change of cron library or zone data could get here.
                    log.error("schedule {} ({}) is unreadable and will not run: {}", r.name(), r.id(), e.getMessage());
                    continue;
                }
                if (r.nextRunMs() <= now) {
                    long at = now + config.catchUpDelay().toMillis();
                    log.info("schedule {} missed its run at {} while the coordinator was down; it runs once at {}",
                            r.name(), Instant.ofEpochMilli(r.nextRunMs()), Instant.ofEpochMilli(at));
                    r = r.withNextRun(at);
                    db.updateRuns(r);
                }
                byId.put(r.id(), r);
                crons.put(r.id(), cron);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the stored schedules: " + e.getMessage(), e);
        }
    }

    /** Looks for due schedules every {@link Config#tick()} on {@code scheduler}. */
    public void start(ScheduledExecutorService scheduler) {
        long ms = config.tick().toMillis();
        scheduler.scheduleWithFixedDelay(this::safeTick, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Validates everything, then stores the schedule; nothing is stored when any part is wrong. */
    public synchronized Schedule add(AddScheduleRequest req) throws StatusException {
        CronSchedule cron;
        try {
            cron = CronSchedule.of(req.getCron(), req.getTimeZone(), config.defaultZone());
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
        }
        String id = "sc-" + UUID.randomUUID().toString().substring(0, 8);
        String name = req.getName().isBlank() ? id : req.getName().trim();
        if (!req.getName().isBlank()) {
            if (!NAME.matcher(name).matches() || name.startsWith("sc-")) {
                throw Status.INVALID_ARGUMENT.withDescription("name \"" + name + "\": use 1-64 letters, digits, '.', "
                        + "'_' or '-', starting with a letter or digit (names starting with sc- are ids)").asException();
            }
            if (byId.values().stream().anyMatch(r -> r.name().equals(name))) {
                throw Status.ALREADY_EXISTS.withDescription("a schedule named \"" + name + "\" exists already; "
                        + "delete it first or choose another --name").asException();
            }
        }
        Map<String, String> selector = new LinkedHashMap<>(req.getSelectorMap());
        checkStorable(selector);
        sweeps.validateSelector(selector);
        List<String> checkIds = List.copyOf(new LinkedHashSet<>(req.getCheckIdsList()));
        checkChecks(checkIds);
        if (req.getTimeoutMs() > MAX_TIMEOUT_MS || req.getTimeoutMs() < 0) {
            throw Status.INVALID_ARGUMENT.withDescription("timeout " + Integer.toUnsignedString(req.getTimeoutMs())
                    + " ms: at most a day").asException();
        }
        long now = clock.millis();
        long next = cron.nextAfter(Instant.ofEpochMilli(now)).map(Instant::toEpochMilli)
                .orElseThrow(() -> Status.INVALID_ARGUMENT.withDescription("cron \"" + cron.expression()
                        + "\" has no run after now").asException());
        ScheduleRow row = new ScheduleRow(id, name, cron.expression(), cron.zone().getId(), selector, checkIds,
                req.getTimeoutMs(), now, next, 0, "");
        try {
            db.insert(row);
        } catch (SQLException e) {
            throw Status.INTERNAL.withDescription("cannot store the schedule: " + e.getMessage()).withCause(e)
                    .asException();
        }
        byId.put(id, row);
        crons.put(id, cron);
        log.info("schedule {} ({}) added: \"{}\" {}, next run {}", name, id, cron.expression(), cron.zone(),
                Instant.ofEpochMilli(next));
        return toProto(row);
    }

    /** Every schedule, soonest next run first, with its last run's outcome. */
    public synchronized List<Schedule> list() {
        return byId.values().stream().sorted(Comparator.comparingLong(ScheduleRow::nextRunMs)
                .thenComparing(ScheduleRow::name)).map(this::toProto).toList();
    }

    /** Deletes by name or id; a sweep the schedule already started goes on. */
    public synchronized void delete(String nameOrId) throws StatusException {
        ScheduleRow r = resolve(nameOrId);
        try {
            db.delete(r.id());
        } catch (SQLException e) {
            throw Status.INTERNAL.withDescription("cannot delete the schedule: " + e.getMessage()).withCause(e)
                    .asException();
        }
        byId.remove(r.id());
        crons.remove(r.id());
        log.info("schedule {} ({}) deleted", r.name(), r.id());
    }

    /** Starts the schedule's sweep now (its next run stays); a sweep that cannot start is recorded as FAILED. */
    public synchronized SweepStatus runNow(String nameOrId) throws StatusException {
        ScheduleRow r = resolve(nameOrId);
        long now = clock.millis();
        SweepStatus s = fire(r);
        record(r.withLastRun(now, s.getId()));
        return s;
    }

    /** Starts a sweep for every due schedule and moves each one's next run past now; returns how many fired. */
    public synchronized int tick() {
        long now = clock.millis();
        int fired = 0;
        for (ScheduleRow r : new ArrayList<>(byId.values())) {
            if (r.nextRunMs() > now) {
                continue;
            }
            // The next run counts from now, not from the slot that was due: missed slots collapse into this one.
            long next = crons.get(r.id()).nextAfter(Instant.ofEpochMilli(now)).map(Instant::toEpochMilli)
                    .orElse(Long.MAX_VALUE);
            ScheduleRow updated = r.withNextRun(next);
            try {
                SweepStatus s = fire(r);
                updated = updated.withLastRun(now, s.getId());
                fired++;
            } catch (StatusException | RuntimeException e) {
                log.error("schedule {} ({}) could not start or record its sweep", r.name(), r.id(), e);
            } finally {
                record(updated);
            }
        }
        return fired;
    }

    private void safeTick() {
        try {
            tick();
        } catch (RuntimeException e) {
            log.error("schedule tick failed; will retry on the next tick", e);
        }
    }

    private SweepStatus fire(ScheduleRow r) throws StatusException {
        StartSweepRequest req = StartSweepRequest.newBuilder().putAllSelector(r.selector())
                .addAllCheckIds(r.checkIds()).setTimeoutMs(r.timeoutMs()).build();
        try {
            SweepStatus s = sweeps.start(req, r.name());
            log.info("schedule {} started sweep {}", r.name(), s.getId());
            return s;
        } catch (StatusException e) {
            String why = e.getStatus().getDescription() != null ? e.getStatus().getDescription()
                    : e.getStatus().getCode().toString();
            return sweeps.recordFailed(req, r.name(), why);
        }
    }

    private void record(ScheduleRow r) {
        if (!byId.containsKey(r.id())) {
            return;
        }
        byId.put(r.id(), r);
        try {
            db.updateRuns(r);
        } catch (SQLException e) {
            // Memory holds the truth until the next write; a restart would at worst run this slot again.
            log.error("schedule {} ({}): cannot store its runs", r.name(), r.id(), e);
        }
    }

    private ScheduleRow resolve(String nameOrId) throws StatusException {
        ScheduleRow r = byId.get(nameOrId);
        if (r != null) {
            return r;
        }
        return byId.values().stream().filter(x -> x.name().equals(nameOrId)).findFirst()
                .orElseThrow(() -> Status.NOT_FOUND.withDescription("no schedule named or with id \"" + nameOrId
                        + "\"").asException());
    }

    /** The stored form is k=v,k2=v2: a key or value holding ',' or '=' could not be read back. */
    private static void checkStorable(Map<String, String> selector) throws StatusException {
        for (var e : selector.entrySet()) {
            if (e.getKey().isBlank() || e.getValue().isBlank() || (e.getKey() + e.getValue()).matches(".*[,=].*")) {
                throw Status.INVALID_ARGUMENT.withDescription("selector " + e.getKey() + "=" + e.getValue()
                        + ": keys and values must be non-empty and hold no ',' or '='").asException();
            }
        }
        if (Selectors.format(selector).length() > ScheduleStore.SELECTOR_MAX) {
            throw Status.INVALID_ARGUMENT.withDescription("selector longer than " + ScheduleStore.SELECTOR_MAX
                    + " characters").asException();
        }
    }

    private void checkChecks(List<String> checkIds) throws StatusException {
        Set<String> stored = new HashSet<>();
        for (Check c : store.checks()) {
            stored.add(c.getId());
        }
        List<String> unknown = checkIds.stream().filter(id -> !stored.contains(id)).toList();
        if (!unknown.isEmpty()) {
            throw Status.NOT_FOUND.withDescription("no check with id " + String.join(", ", unknown.stream()
                    .map(i -> "\"" + i + "\"").toList()) + " (a schedule runs stored checks; apply them first)")
                    .asException();
        }
        if (String.join(",", checkIds).length() > ScheduleStore.CHECK_IDS_MAX) {
            throw Status.INVALID_ARGUMENT.withDescription("the check ids are longer than "
                    + ScheduleStore.CHECK_IDS_MAX + " characters together; leave --checks out to sweep every check")
                    .asException();
        }
    }

    private Schedule toProto(ScheduleRow r) {
        Schedule.Builder b = Schedule.newBuilder().setId(r.id()).setName(r.name()).setCron(r.cron())
                .setTimeZone(r.timeZone()).putAllSelector(r.selector()).addAllCheckIds(r.checkIds())
                .setTimeoutMs(r.timeoutMs()).setCreatedAtMs(r.createdAtMs())
                .setNextRunMs(r.nextRunMs() == Long.MAX_VALUE ? 0 : r.nextRunMs()).setLastRunMs(r.lastRunMs())
                .setLastSweepId(r.lastSweepId());
        if (!r.lastSweepId().isEmpty()) {
            Optional<SweepStatus> last = sweeps.get(r.lastSweepId(), false);
            b.setLastOutcome(last.map(SweepStatus::getState).orElse("UNKNOWN"))
                    .setLastError(last.map(SweepStatus::getError).orElse(""));
        }
        return b.build();
    }
}
