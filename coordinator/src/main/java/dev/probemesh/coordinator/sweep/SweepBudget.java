package dev.probemesh.coordinator.sweep;

import dev.probemesh.proto.v1.Check;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The politeness budget of a sweep (incident 2 of DESIGN.md): each target receives at most its
 * rate of probes per second from the whole fleet. A target's probes get consecutive slots of
 * {@code 1000 / rate} ms, each probe starting at a random point of its slot (jitter), in a shuffled
 * agent order; so any one-second bucket holds at most {@code ceil(rate) + 1} starts, and the target's
 * window is {@code probes / rate} seconds. Pure arithmetic: the caller supplies the randomness.
 */
public final class SweepBudget {
    /** Probes per second per target, fleet-wide, when a check does not set its own. */
    public static final double DEFAULT_RATE_PER_S = 20.0;
    /** A window up to this long is not called stretched: everything starts within a second anyway. */
    public static final long UNSTRETCHED_WINDOW_MS = 1_000;

    /** One (agent, check) probe to send. */
    public record Cell(String agent, Check check) {
    }

    /** Delay per agent per check id, the window (latest start), and whether the budget stretched it. */
    public record Plan(Map<String, Map<String, Integer>> delays, long windowMs, boolean stretched) {
    }

    private SweepBudget() {
    }

    /**
     * The target a check probes, for the budget: the host, without port, scheme or path, so
     * that port 80 and 443 of one CDN share one budget.
     */
    public static String targetKey(Check c) {
        String t = c.getTarget().trim().toLowerCase(java.util.Locale.ROOT);
        if (t.contains("://")) {
            try {
                String host = URI.create(t).getHost();
                if (host != null) {
                    return stripBrackets(host);
                }
            } catch (IllegalArgumentException ignored) {
                // not a URI after all: fall through to host[:port]
            }
        }
        if (t.startsWith("[")) {
            int end = t.indexOf(']');
            return end > 0 ? t.substring(1, end) : t;
        }
        int colon = t.indexOf(':');
        if (colon > 0 && colon == t.lastIndexOf(':')) {
            return t.substring(0, colon);
        }
        return t;
    }

    private static String stripBrackets(String h) {
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    /** The rate for a target: the strictest of its checks' rates, the default where unset. */
    static double rateOf(List<Check> checksOfTarget, double defaultRate) {
        double rate = Double.POSITIVE_INFINITY;
        for (Check c : checksOfTarget) {
            double r = c.getTargetRatePerS() > 0 ? c.getTargetRatePerS() : defaultRate;
            rate = Math.min(rate, r);
        }
        return rate;
    }

    /** Plans the start delay of every cell. */
    public static Plan plan(List<Cell> cells, double defaultRate, RandomGenerator random) {
        if (!(defaultRate > 0)) {
            throw new IllegalArgumentException("default rate must be positive, was " + defaultRate);
        }
        Map<String, List<Cell>> byTarget = new LinkedHashMap<>();
        for (Cell cell : cells) {
            byTarget.computeIfAbsent(targetKey(cell.check()), k -> new ArrayList<>()).add(cell);
        }
        Map<String, Map<String, Integer>> delays = new HashMap<>();
        long window = 0;
        for (List<Cell> group : byTarget.values()) {
            double rate = rateOf(group.stream().map(Cell::check).toList(), defaultRate);
            double slotMs = 1000.0 / rate;
            List<Cell> order = new ArrayList<>(group);
            shuffle(order, random);
            for (int i = 0; i < order.size(); i++) {
                Cell cell = order.get(i);
                long delay = (long) Math.floor(i * slotMs + random.nextDouble() * slotMs);
                delays.computeIfAbsent(cell.agent(), k -> new HashMap<>())
                        .put(cell.check().getId(), (int) Math.min(Integer.MAX_VALUE, delay));
            }
            window = Math.max(window, windowMs(order.size(), rate));
        }
        return new Plan(delays, window, window > UNSTRETCHED_WINDOW_MS);
    }

    /** The span of starts for {@code probes} probes at {@code rate} per second. */
    public static long windowMs(int probes, double rate) {
        return (long) Math.ceil(probes * 1000.0 / rate);
    }

    private static <T> void shuffle(List<T> list, RandomGenerator random) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, random.nextInt(i + 1));
        }
    }
}
