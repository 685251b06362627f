package dev.probemesh.coordinator.correlate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Gives findings a lifecycle: stable ids, OPEN/CLOSED, damped flapping. Pure (time is passed in,
 * no I/O) but stateful; not thread-safe: call it from the one thread that runs correlation.
 *
 * <ul>
 * <li>A finding opens a verdict at once (cells are already confirmed over
 * {@code confirmRounds}).</li>
 * <li>A verdict keeps its id while a finding with the same key (kind, site, component, target) is
 * present; when the picture sharpens (e.g. the component widens from UDP to UDP/TCP), a finding of
 * the same kind and site, same layer, overlapping target and checks, keeps the id too.</li>
 * <li>A verdict closes only after its finding has been absent for {@code closeAfter} (default 2
 * rounds of its checks); a finding back within {@code reopenHold} of closing reopens the same
 * verdict (same id and openedAt).</li>
 * <li>No two open verdicts explain the same red cell. A verdict whose finding is absent while a
 * present finding explains one of its cells (the picture widened: the zone's authority behind a
 * name, the origin behind an edge) is superseded: it closes at once, its summary naming the
 * verdict that took over. Conversely a finding whose cells all belong to a wider open verdict
 * that is absent this round (a flap back to the narrower view) opens nothing: the wider verdict
 * keeps explaining them until it closes.</li>
 * </ul>
 */
public final class VerdictTracker {

    private static final class Entry {
        Verdict verdict;
        Instant lastPresent;
        long intervalMs;

        Entry(Verdict v, Instant lastPresent, long intervalMs) {
            this.verdict = v;
            this.lastPresent = lastPresent;
            this.intervalMs = intervalMs;
        }
    }

    private final CorrelationConfig cfg;
    private final Map<String, Entry> open = new TreeMap<>();
    private final Map<String, Entry> closed = new TreeMap<>();

    public VerdictTracker(CorrelationConfig cfg) {
        this.cfg = Objects.requireNonNull(cfg, "cfg");
    }

    /**
     * Rebuilds a tracker from the verdicts that were open when the coordinator stopped. Their
     * absence clock starts at the first update, so a restart does not close everything at once;
     * until a finding matches one again, its round is {@code defaultIntervalMs}.
     */
    public static VerdictTracker restore(List<Verdict> openVerdicts, CorrelationConfig cfg) {
        VerdictTracker t = new VerdictTracker(cfg);
        for (Verdict v : openVerdicts) {
            if (v.state() == Verdict.State.OPEN) {
                t.open.put(v.id(), new Entry(v, null, cfg.defaultIntervalMs()));
            }
        }
        return t;
    }

    /**
     * Applies one correlation result. Returns the verdicts that changed: opened, reopened, closed,
     * or open with new content (what the integrator stores and notifies about), ordered by id.
     */
    public List<Verdict> update(CorrelationResult r, Instant now) {
        Objects.requireNonNull(r, "r");
        Objects.requireNonNull(now, "now");
        Map<String, Verdict> changed = new TreeMap<>();
        Set<String> matched = new HashSet<>();
        // exact keys first, so a sharper finding never takes the verdict another finding owns
        Map<Finding, Entry> exact = new LinkedHashMap<>();
        for (Finding f : r.findings()) {
            for (Entry e : open.values()) {
                if (!matched.contains(e.verdict.id()) && e.verdict.key().equals(f.key())) {
                    exact.put(f, e);
                    matched.add(e.verdict.id());
                    break;
                }
            }
        }
        // findings that continue an open verdict first, so absorption below sees this round's owners
        Map<Finding, Entry> owner = new LinkedHashMap<>(exact);
        for (Finding f : r.findings()) {
            if (!owner.containsKey(f)) {
                Entry e = findSimilarOpen(f, matched);
                if (e != null) {
                    owner.put(f, e);
                    matched.add(e.verdict.id());
                }
            }
        }
        List<Finding> rest = new ArrayList<>();
        for (Finding f : r.findings()) {
            if (!owner.containsKey(f) && absorbedByWiderOpen(f, matched) == null) {
                rest.add(f);
            }
        }
        for (Finding f : r.findings()) {
            if (!owner.containsKey(f) && !rest.contains(f)) {
                continue;
            }
            String key = f.key();
            Entry e = owner.get(f);
            if (e == null) {
                e = findClosed(f, key, now);
                if (e != null) {
                    closed.remove(e.verdict.id());
                    open.put(e.verdict.id(), e);
                }
            }
            Verdict next;
            boolean fresh = e == null;
            if (fresh) {
                next = toVerdict(f, newId(key, now), now);
                e = new Entry(next, now, f.intervalMs());
                open.put(next.id(), e);
            } else {
                next = toVerdict(f, e.verdict.id(), e.verdict.openedAt());
            }
            matched.add(next.id());
            if (fresh || !next.equals(e.verdict)) {
                changed.put(next.id(), next);
            }
            e.verdict = next;
            e.lastPresent = now;
            e.intervalMs = f.intervalMs();
        }
        List<Verdict> present = open.values().stream().map(x -> x.verdict)
                .filter(v -> matched.contains(v.id())).toList();
        for (var it = open.entrySet().iterator(); it.hasNext(); ) {
            Entry e = it.next().getValue();
            if (matched.contains(e.verdict.id())) {
                continue;
            }
            if (e.lastPresent == null) {
                e.lastPresent = now;
            }
            Duration absent = Duration.between(e.lastPresent, now);
            List<String> by = present.stream().filter(p -> explainsPartOf(p, e.verdict)).map(Verdict::id).toList();
            if (!by.isEmpty() || absent.compareTo(cfg.closeAfterFor(e.intervalMs)) >= 0) {
                Verdict v = e.verdict;
                String summary = by.isEmpty() ? v.summary()
                        : (v.summary() == null ? "" : v.summary() + "; ") + "superseded by " + String.join(", ", by);
                e.verdict = new Verdict(v.id(), v.kind(), Verdict.State.CLOSED, v.openedAt(), now, v.site(), v.sites(),
                        v.agents(), v.component(), v.checks(), v.confidence(), summary, v.evidence(), v.remedy(),
                        v.target(), v.undecided(), v.cells());
                it.remove();
                closed.put(v.id(), e);
                changed.put(v.id(), e.verdict);
            }
        }
        Instant horizon = now.minus(cfg.keepClosed().compareTo(cfg.reopenHold()) >= 0 ? cfg.keepClosed()
                : cfg.reopenHold());
        closed.values().removeIf(e -> e.verdict.closedAt().isBefore(horizon));
        return List.copyOf(changed.values());
    }

    /** The open verdicts, oldest first. */
    public List<Verdict> open() {
        return open.values().stream().map(e -> e.verdict)
                .sorted(Comparator.comparing(Verdict::openedAt).thenComparing(Verdict::id)).toList();
    }

    /** Verdicts closed at or after {@code since} (kept for {@code keepClosed}), most recent first. */
    public List<Verdict> recentlyClosed(Instant since) {
        return closed.values().stream().map(e -> e.verdict).filter(v -> !v.closedAt().isBefore(since))
                .sorted(Comparator.comparing(Verdict::closedAt).reversed().thenComparing(Verdict::id)).toList();
    }

    /** "agent|checkId" of every red cell an open verdict explains, to that verdict's id. */
    public Map<String, String> cellVerdicts() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Verdict v : open()) {
            for (String cell : v.cells()) {
                out.putIfAbsent(cell, v.id());
            }
        }
        return out;
    }

    /**
     * Whether verdict {@code p} (present this round) explains red cells of {@code v}. A restored
     * verdict carries no cells: then {@code p} must cover all of its checks at all of its sites.
     */
    private static boolean explainsPartOf(Verdict p, Verdict v) {
        if (!v.cells().isEmpty()) {
            return !p.cells().isEmpty() && v.cells().stream().anyMatch(Set.copyOf(p.cells())::contains);
        }
        return !v.checks().isEmpty() && p.checks().containsAll(v.checks()) && p.sites().containsAll(v.sites());
    }

    /**
     * An open verdict, absent this round, that already explains every cell of {@code f} and more:
     * {@code f} is the narrower view of a problem that verdict owns.
     */
    private Entry absorbedByWiderOpen(Finding f, Set<String> matched) {
        if (f.cells().isEmpty()) {
            return null;
        }
        for (Entry e : open.values()) {
            Verdict v = e.verdict;
            if (!matched.contains(v.id()) && v.cells().size() > f.cells().size()
                    && v.cells().containsAll(f.cells())) {
                return e;
            }
        }
        return null;
    }

    private Entry findSimilarOpen(Finding f, Set<String> matched) {
        for (Entry e : open.values()) {
            if (!matched.contains(e.verdict.id()) && sameSubject(e.verdict, f)) {
                return e;
            }
        }
        return null;
    }

    private Entry findClosed(Finding f, String key, Instant now) {
        Instant hold = now.minus(cfg.reopenHold());
        Entry best = null;
        for (Entry e : closed.values()) {
            if (e.verdict.closedAt().isBefore(hold)) {
                continue;
            }
            if (e.verdict.key().equals(key) || sameSubject(e.verdict, f)) {
                if (best == null || e.verdict.closedAt().isAfter(best.verdict.closedAt())) {
                    best = e;
                }
            }
        }
        return best;
    }

    /** Same kind and place, same layer, overlapping target and checks: the same problem, seen sharper. */
    private static boolean sameSubject(Verdict v, Finding f) {
        if (v.kind() != f.kind() || !Objects.equals(v.site(), f.site())) {
            return false;
        }
        if (f.kind() == FindingKind.AGENT_SILENT) {
            return v.agents().equals(f.agents());
        }
        String vl = v.component() == null ? null : v.component().layer();
        String fl = f.component() == null ? null : f.component().layer();
        if (!Objects.equals(vl, fl)) {
            return false;
        }
        if (v.target() != null || f.target() != null) {
            if (v.target() == null || f.target() == null) {
                return false;
            }
            Set<String> a = Set.of(v.target().split(" / "));
            if (Set.of(f.target().split(" / ")).stream().noneMatch(a::contains)) {
                return false;
            }
        }
        return v.checks().stream().anyMatch(f.checks()::contains);
    }

    private static Verdict toVerdict(Finding f, String id, Instant openedAt) {
        return new Verdict(id, f.kind(), Verdict.State.OPEN, openedAt, null, f.site(), f.sites(), f.agents(),
                f.component(), f.checks(), f.confidence(), f.summary(), f.evidence(), f.remedy(), f.target(),
                f.undecided(), f.cells());
    }

    /** "v-" + 8 hex digits of a hash of the key and the opening time: unique across restarts. */
    private String newId(String key, Instant now) {
        for (int salt = 0; ; salt++) {
            String id = "v-" + hash(key + "@" + now.toEpochMilli() + (salt == 0 ? "" : "#" + salt));
            if (!open.containsKey(id) && !closed.containsKey(id)) {
                return id;
            }
        }
    }

    private static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
