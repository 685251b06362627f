package dev.probemesh.agent.schedule;

import dev.probemesh.agent.probe.ProbeRunner;
import dev.probemesh.agent.report.ResultBuffer;
import dev.probemesh.proto.v1.Check;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the assigned checks on their intervals. One scheduler thread drives every check (probes
 * are asynchronous, so no thread per check or per probe). Each check starts at a stable offset
 * within its interval, derived from its id, so a fleet does not fire in lock step and a restart
 * keeps the phase. A run still in flight when its next slot comes is skipped, not stacked.
 */
public final class CheckScheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CheckScheduler.class);

    private final ScheduledExecutorService scheduler;
    private final ProbeRunner runner;
    private final ResultBuffer buffer;
    private final Map<String, Scheduled> running = new HashMap<>();
    private final AtomicLong skipped = new AtomicLong();
    private final String agentSalt;

    private record Scheduled(Check check, ScheduledFuture<?> future, AtomicBoolean inFlight) {
    }

    public CheckScheduler(ScheduledExecutorService scheduler, ProbeRunner runner, ResultBuffer buffer, String agentSalt) {
        this.scheduler = scheduler;
        this.runner = runner;
        this.buffer = buffer;
        this.agentSalt = agentSalt;
    }

    /** Replaces the running set with {@code checks}: unchanged (same id and revision) keep their phase. */
    public synchronized void assign(List<Check> checks) {
        Map<String, Check> wanted = new HashMap<>();
        for (Check c : checks) {
            wanted.put(c.getId(), c);
        }
        running.entrySet().removeIf(e -> {
            Check w = wanted.get(e.getKey());
            if (w != null && w.equals(e.getValue().check())) {
                return false;
            }
            e.getValue().future().cancel(false);
            return true;
        });
        for (Check c : checks) {
            if (running.containsKey(c.getId())) {
                continue;
            }
            AtomicBoolean inFlight = new AtomicBoolean();
            long interval = c.getIntervalMs();
            long offset = Math.floorMod((agentSalt + "/" + c.getId()).hashCode(), (int) Math.max(1, interval));
            ScheduledFuture<?> f = scheduler.scheduleAtFixedRate(() -> tick(c, inFlight, null),
                    offset, interval, TimeUnit.MILLISECONDS);
            running.put(c.getId(), new Scheduled(c, f, inFlight));
        }
        log.info("assignment applied: {} checks", running.size());
    }

    /** Runs checks once now (a sweep or run-now request), after {@code delayMs}. */
    public void runOnce(List<Check> checks, String sweepId, Map<String, Integer> delayPerCheck, int delayMs) {
        for (Check c : checks) {
            long delay = delayPerCheck.getOrDefault(c.getId(), delayMs);
            scheduler.schedule(() -> tick(c, new AtomicBoolean(), sweepId), delay, TimeUnit.MILLISECONDS);
        }
    }

    private void tick(Check c, AtomicBoolean inFlight, String sweepId) {
        if (!inFlight.compareAndSet(false, true)) {
            skipped.incrementAndGet();
            log.debug("check {} still running, slot skipped", c.getId());
            return;
        }
        try {
            runner.run(c, sweepId).whenComplete((r, err) -> {
                inFlight.set(false);
                if (r != null) {
                    buffer.append(r);
                }
            });
        } catch (RuntimeException e) {
            inFlight.set(false);
            log.warn("check {} could not start", c.getId(), e);
        }
    }

    public synchronized int size() {
        return running.size();
    }

    public long skipped() {
        return skipped.get();
    }

    @Override
    public synchronized void close() {
        running.values().forEach(s -> s.future().cancel(false));
        running.clear();
    }
}
