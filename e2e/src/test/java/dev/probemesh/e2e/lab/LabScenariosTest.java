package dev.probemesh.e2e.lab;

import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import dev.probemesh.e2e.lab.LabDriver.Diagnosis;
import dev.probemesh.e2e.lab.LabDriver.Matrix;
import dev.probemesh.e2e.lab.LabDriver.Run;
import dev.probemesh.e2e.lab.LabDriver.Verdict;
import dev.probemesh.testing.RootLab;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The rehearsed incidents of DESIGN.md ("Rehearsed incidents: fault -> cells -> verdict") played on
 * the real lab, driven as a user drives it: {@code ./probemesh lab fault NAME}, then the matrix must
 * show exactly the table's red cells with their codes (every other cell OK) and diagnose must open
 * the table's verdict and no verdict of another kind; {@code lab heal NAME} must bring the matrix
 * back to all green with no open verdict. Runs as root (CI); skips on a laptop.
 *
 * <p>The lab is shared (the README's demo and other tests use it): the class brings it up if needed,
 * heals what it broke, and leaves it up unless {@code PROBEMESH_LAB_KEEP=0}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class LabScenariosTest {
    static final List<String> AGENTS = List.of("idc-1", "home-1", "vps-1");
    static final List<String> CHECKS = List.of("icmp-resolver-v4", "icmp-origin-v6", "dns-origin-udp",
            "dns-origin-tcp", "dns-origin-v6", "dns-home-udp", "dns-nas-udp", "trace-home", "tcp-origin-443-v4",
            "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6", "https-home-edge");

    static final Duration UP_LIMIT = Duration.ofMinutes(10);
    static final Duration FIRST_GREEN_LIMIT = Duration.ofSeconds(120);
    static final Duration CELLS_LIMIT = Duration.ofSeconds(60);
    static final Duration VERDICT_LIMIT = Duration.ofSeconds(60);
    static final Duration HEAL_LIMIT = Duration.ofSeconds(90);
    /** One check interval (5 s) and a little: long enough to see a further round of results and correlation. */
    static final Duration ONE_ROUND = Duration.ofSeconds(6);
    static final Duration POLL = Duration.ofSeconds(1);

    private LabDriver lab;

    @BeforeAll
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void bringUpTheLab() {
        RootLab.require();
        var repo = LabDriver.repoRoot();
        // One directory per run, so a report never mixes two runs' command logs.
        String run = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").format(LocalDateTime.now(ZoneOffset.UTC));
        LabDriver driver = new LabDriver(repo, repo.resolve("e2e/target/lab-logs").resolve(run));
        Run up = driver.lab(UP_LIMIT, "up");
        if (!up.ok()) {
            fail("lab up failed (full output in " + driver.logDir() + "):\n" + up.describe()
                    + "\nlab status:\n" + driver.status());
        }
        lab = driver;
        awaitMatrix("after lab up: 3 connected agents x 13 checks, all OK", FIRST_GREEN_LIMIT, Cells.allGreen());
    }

    @AfterAll
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void healAndLeaveTheLab() {
        if (lab == null) {
            return; // skipped (no root) or lab up failed: nothing of ours to undo
        }
        Run heal = lab.lab(Duration.ofMinutes(2), "heal");
        if ("0".equals(System.getenv("PROBEMESH_LAB_KEEP"))) {
            Run down = lab.lab(Duration.ofMinutes(3), "down");
            if (!down.ok()) {
                fail("lab down failed:\n" + down.describe());
            }
        }
        if (!heal.ok()) {
            fail("lab heal failed:\n" + heal.describe());
        }
    }

    @Test
    @Order(1)
    void healthyLabIsAllGreenAndQuiet() {
        long start = System.nanoTime();
        awaitHealthy("healthy lab", HEAL_LIMIT);
        // Quiet means it stays so for two more rounds: no flapping cell, no verdict opening.
        long holdUntil = System.nanoTime() + 2 * ONE_ROUND.toNanos();
        for (int i = 0; i < 30 && System.nanoTime() < holdUntil; i++) {
            Matrix m = lab.matrix();
            List<String> wrong = Cells.allGreen().mismatches(m);
            Diagnosis d = lab.diagnose();
            if (!wrong.isEmpty() || !d.open().isEmpty()) {
                fail("the healthy lab did not stay quiet:\n" + String.join("\n", wrong) + "\nopen verdicts: "
                        + d.open().stream().map(Verdict::brief).toList() + "\nmatrix:\n" + m.pretty()
                        + "\ndiagnosis:\n" + d.pretty());
            }
        }
        System.out.printf("scenario=healthy green_s=%.1f%n", seconds(start));
    }

    @Test
    @Order(2)
    void idcDnsBlockedIsALocalDnsBlockAtIdc() {
        play(idcDnsBlocked());
    }

    private static Scenario idcDnsBlocked() {
        Map<String, Set<String>> red = new LinkedHashMap<>();
        red.putAll(red(List.of("idc-1"), List.of("dns-origin-udp", "dns-origin-tcp", "dns-origin-v6", "dns-home-udp",
                "dns-nas-udp", "trace-home", "https-origin-v4", "https-origin-v6"), "DNS_TIMEOUT"));
        red.putAll(red(List.of("idc-1"), List.of("icmp-resolver-v4", "icmp-origin-v6"), "TIMEOUT"));
        return new Scenario("idc-dns-blocked", List.of("idc-dns-blocked"), red,
                new Expected("LOCAL_PATH_BLOCK", "idc",
                        Map.of("layer", "dns", "protocol", "any", "port", "53", "family", "any")));
    }

    @Test
    @Order(3)
    void ddnsDownIsASharedDependencyOutageOfItsZone() {
        Map<String, Set<String>> red = new LinkedHashMap<>();
        red.putAll(red(AGENTS, List.of("dns-home-udp", "dns-nas-udp"), "DNS_SERVFAIL"));
        red.putAll(red(AGENTS, List.of("trace-home"), "DNS_AUTHORITY_UNREACHABLE"));
        red.putAll(red(AGENTS, List.of("https-home-edge"), "HTTP_CDN_ORIGIN_DNS"));
        play(new Scenario("ddns-down", List.of("ddns-down"), red,
                new Expected("SHARED_DEPENDENCY_OUTAGE", null, Map.of("layer", "dns", "zone", "ddns.test"))));
    }

    @Test
    @Order(4)
    void wafChallengeOfVpsIsATargetPolicyBlockAtVps() {
        play(new Scenario("waf-challenge vps", List.of("waf-challenge", "vps"),
                red(List.of("vps-1"), List.of("https-home-edge"), "HTTP_WAF_CHALLENGE"),
                new Expected("TARGET_POLICY_BLOCK", "vps", Map.of("layer", "http"))));
    }

    @Test
    @Order(5)
    void homeIpv6BrokenIsALocalIpv6BlockAtHome() {
        play(new Scenario("home-ipv6-broken", List.of("home-ipv6-broken"),
                red(List.of("home-1"), List.of("icmp-origin-v6", "dns-origin-v6", "tcp-origin-443-v6", "https-origin-v6"),
                        "NET_UNREACHABLE", "NO_ROUTE"),
                new Expected("LOCAL_PATH_BLOCK", "home", Map.of("layer", "network", "family", "ipv6"))));
    }

    @Test
    @Order(6)
    void vpsEgress443DeniedIsALocalTcp443BlockAtVps() {
        play(new Scenario("vps-egress-443-denied", List.of("vps-egress-443-denied"),
                red(List.of("vps-1"), List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4",
                        "https-origin-v6", "https-home-edge"), "LOCAL_FIREWALL"),
                new Expected("LOCAL_PATH_BLOCK", "vps", Map.of("layer", "transport", "protocol", "tcp", "port", "443"))));
    }

    @Test
    @Order(7)
    void originDownIsATargetOutage() {
        Map<String, Set<String>> red = new LinkedHashMap<>();
        red.putAll(red(AGENTS, List.of("tcp-origin-443-v4", "tcp-origin-443-v6", "https-origin-v4", "https-origin-v6"),
                "REFUSED"));
        red.putAll(red(AGENTS, List.of("https-home-edge"), "HTTP_CDN_ORIGIN_DOWN"));
        play(new Scenario("origin-down", List.of("origin-down"), red, new Expected("TARGET_OUTAGE", null, Map.of())));
    }

    /**
     * Issue 7's lab scenario: during idc-dns-blocked an operator sweeps the fleet ("run everything
     * from every site now"). The sweep must come back complete with exactly the scenario's red cells
     * from its own fresh probes, and the diagnosis of that sweep must carry the local DNS block at idc.
     */
    @Test
    @Order(8)
    void aSweepDuringIdcDnsBlockedShowsTheBlockedCellsAndTheLocalBlockVerdict() {
        Scenario s = idcDnsBlocked();
        play(s, () -> {
            long t = System.nanoTime();
            LabDriver.SweepRun sweep = lab.sweep();
            double sweepS = seconds(t);
            List<String> wrong = new Cells(s.red()).mismatches(sweep.matrix());
            if (!sweep.complete() || !wrong.isEmpty()) {
                fail("sweep during idc-dns-blocked: want complete with the scenario's red cells; complete="
                        + sweep.complete() + "\n" + String.join("\n", wrong) + "\nsweep: " + sweep.sweep()
                        + "\nmatrix:\n" + sweep.matrix().pretty());
            }
            Diagnosis d = lab.diagnose("--sweep", sweep.id());
            if (d.open().stream().noneMatch(s.verdict()::matches) || d.open().stream().anyMatch(s.verdict()::contradicts)) {
                fail("diagnose --sweep " + sweep.id() + ": want " + s.verdict() + " and nothing contradicting\n"
                        + describe(d));
            }
            report("sweep-during-idc-dns-blocked", String.format("sweep_s=%.1f cells=%d", sweepS,
                    sweep.matrix().cells().size()));
        });
    }

    // ---------------------------------------------------------------------------------------------

    /** A rehearsed incident: the {@code lab fault} arguments, the red cells (agent|check -> allowed codes), the verdict. */
    record Scenario(String name, List<String> fault, Map<String, Set<String>> red, Expected verdict) {
        Scenario {
            fault = List.copyOf(fault);
            red = Map.copyOf(red);
        }
    }

    /**
     * The verdict the table promises: kind, site (null for a global kind, and then the JSON's site
     * must be null too) and the component fields named (as text; port 53 is "53").
     */
    record Expected(String kind, String site, Map<String, String> component) {
        Expected {
            component = Map.copyOf(component);
        }

        boolean matches(Verdict v) {
            return v.open() && kind.equals(v.kind()) && Objects.equals(site, v.site())
                    && component.entrySet().stream().allMatch(e -> e.getValue().equals(v.component(e.getKey())));
        }

        /**
         * An open verdict that contradicts the incident: another kind (a TARGET_OUTAGE while one site
         * cannot resolve), or the right site-scoped kind blaming another site.
         */
        boolean contradicts(Verdict v) {
            return v.open() && (!kind.equals(v.kind()) || (site != null && !site.equals(v.site())));
        }

        @Override
        public String toString() {
            return kind + " site=" + site + " component" + new TreeMap<>(component);
        }
    }

    /** What the matrix must show: every lab agent connected, every check, red cells as listed, every other cell OK. */
    record Cells(Map<String, Set<String>> red) {
        Cells {
            red = Map.copyOf(red);
        }

        static Cells allGreen() {
            return new Cells(Map.of());
        }

        List<String> mismatches(Matrix m) {
            List<String> out = new ArrayList<>();
            Set<String> names = new LinkedHashSet<>();
            for (LabDriver.Agent a : m.agents()) {
                names.add(a.name());
                if (!AGENTS.contains(a.name())) {
                    out.add("unexpected agent " + a.name());
                } else if (!a.connected()) {
                    out.add("agent " + a.name() + " is not connected");
                }
            }
            AGENTS.stream().filter(a -> !names.contains(a)).forEach(a -> out.add("agent " + a + " is missing"));
            if (!new LinkedHashSet<>(m.checkIds()).equals(new LinkedHashSet<>(CHECKS))) {
                out.add("checks are " + m.checkIds() + ", want " + CHECKS);
            }
            Map<String, LabDriver.Cell> cells = new LinkedHashMap<>();
            m.cells().forEach(c -> cells.put(c.key(), c));
            for (String agent : AGENTS) {
                for (String check : CHECKS) {
                    String key = agent + "|" + check;
                    LabDriver.Cell c = cells.remove(key);
                    Set<String> codes = red.get(key);
                    if (c == null) {
                        out.add(key + ": no cell");
                    } else if (codes == null && !"OK".equals(c.status())) {
                        out.add(key + ": want OK, got " + c.status() + " " + c.failure() + " (" + c.detail() + ")");
                    } else if (codes != null && !("FAIL".equals(c.status()) && codes.contains(c.failure()))) {
                        out.add(key + ": want FAIL " + codes + ", got " + c.status() + " " + c.failure()
                                + " (" + c.detail() + ")");
                    }
                }
            }
            cells.keySet().forEach(k -> out.add(k + ": unexpected cell"));
            return out;
        }
    }

    static Map<String, Set<String>> red(List<String> agents, List<String> checks, String... codes) {
        Map<String, Set<String>> m = new LinkedHashMap<>();
        for (String a : agents) {
            for (String c : checks) {
                m.put(a + "|" + c, Set.of(codes));
            }
        }
        return m;
    }

    /**
     * Fault, cells, verdict, heal. The heal runs whatever happened before, and the lab must be all
     * green and quiet again before the next scenario; a failure there is added to the scenario's own.
     */
    private void play(Scenario s) {
        play(s, () -> { });
    }

    /** As {@link #play(Scenario)}, with DURING run once the verdict is in, before the heal. */
    private void play(Scenario s, Runnable during) {
        awaitHealthy("before " + s.name(), HEAL_LIMIT);
        List<String> faultArgs = new ArrayList<>(List.of("fault"));
        faultArgs.addAll(s.fault());
        List<String> healArgs = new ArrayList<>(List.of("heal"));
        healArgs.addAll(s.fault());
        Throwable primary = null;
        boolean applied = false;
        try {
            Run f = lab.lab(Duration.ofMinutes(2), faultArgs.toArray(String[]::new));
            // Timings count from the moment the fault is in place (lab fault has returned).
            long t0 = System.nanoTime();
            if (!f.ok()) {
                fail("lab " + String.join(" ", faultArgs) + " failed:\n" + f.describe());
            }
            applied = true;
            try {
                awaitMatrix(s.name() + ": the table's red cells, every other cell OK", CELLS_LIMIT, new Cells(s.red()));
            } catch (AssertionError e) {
                report(s.name(), "cells_s=none verdict_s=none");
                throw e;
            }
            double cellsS = seconds(t0);
            VerdictOutcome verdict;
            try {
                verdict = awaitVerdict(s, t0);
            } catch (AssertionError e) {
                report(s.name(), String.format("cells_s=%.1f verdict_s=none", cellsS));
                throw e;
            }
            report(s.name(), String.format("cells_s=%.1f verdict_s=%.1f%s", cellsS, verdict.seconds(),
                    verdict.problem() == null ? "" : " contradicted"));
            if (verdict.problem() != null) {
                fail(verdict.problem());
            }
            during.run();
        } catch (AssertionError e) {
            // The lab is shared: say so when the fault is gone (healed or rebuilt by another user),
            // since then the mismatch says nothing about probemesh.
            String marker = String.join("@", s.fault());
            Set<String> active = lab.activeFaults();
            primary = !applied || active.contains(marker) ? e : new AssertionError("the fault " + marker + " is no longer active"
                    + " (active: " + active + "): another lab user healed it or rebuilt the lab, so this run proves"
                    + " nothing about probemesh; " + e.getMessage(), e);
            throw (AssertionError) primary;
        } catch (RuntimeException | Error e) {
            primary = e;
            throw e;
        } finally {
            try {
                Run h = lab.lab(Duration.ofMinutes(2), healArgs.toArray(String[]::new));
                if (!h.ok()) {
                    fail("lab " + String.join(" ", healArgs) + " failed:\n" + h.describe());
                }
                long healed = System.nanoTime();
                awaitHealthy("after lab " + String.join(" ", healArgs), HEAL_LIMIT);
                System.out.printf("scenario=%s heal_s=%.1f%n", s.name(), seconds(healed));
            } catch (RuntimeException | Error e) {
                if (primary == null) {
                    throw e;
                }
                primary.addSuppressed(e);
            }
        }
    }

    /** When the expected verdict opened (seconds after the fault) and what was wrong with the diagnosis, if anything. */
    record VerdictOutcome(double seconds, String problem) {
    }

    /**
     * Polls diagnose until the expected verdict is open, noting every contradicting verdict any poll
     * shows (a TARGET_OUTAGE that opens for a moment during a local block is the misdiagnosis the
     * product exists to avoid, and would already have notified someone); then, one round later, the
     * verdict must still be open and nothing may contradict it. Times out as a failure.
     */
    private VerdictOutcome awaitVerdict(Scenario s, long t0) {
        Expected want = s.verdict();
        List<String> contradictions = new ArrayList<>();
        AtomicReference<Diagnosis> last = new AtomicReference<>();
        AtomicReference<String> error = new AtomicReference<>();
        awaitCondition(s.name() + ": verdict " + want, VERDICT_LIMIT, () -> {
            Diagnosis d = lab.diagnose();
            last.set(d);
            d.open().stream().filter(want::contradicts)
                    .forEach(v -> contradictions.add(String.format("%.1f s: %s", seconds(t0), v.brief())));
            return d.open().stream().anyMatch(want::matches);
        }, error, () -> describe(last.get()));
        double verdictS = seconds(t0);
        sleep(ONE_ROUND);
        Diagnosis d = lab.diagnose();
        List<Verdict> wrong = d.open().stream().filter(want::contradicts).toList();
        List<String> problems = new ArrayList<>();
        if (!contradictions.isEmpty()) {
            problems.add("while waiting for " + want + " diagnose showed contradicting verdicts:\n"
                    + String.join("\n", contradictions) + "\ndiagnosis when the verdict opened:\n" + describe(last.get()));
        }
        if (d.open().stream().noneMatch(want::matches) || !wrong.isEmpty()) {
            problems.add(String.format("%.1f s (one round after it opened): want %s open and nothing contradicting;"
                    + " contradicting: %s\nmatrix:\n%s\ndiagnosis:\n%s", seconds(t0), want,
                    wrong.stream().map(Verdict::brief).toList(), lab.matrix().pretty(), describe(d)));
        }
        return new VerdictOutcome(verdictS, problems.isEmpty() ? null : s.name() + ": " + String.join("\n\n", problems));
    }

    private void awaitMatrix(String what, Duration limit, Cells want) {
        AtomicReference<String> last = new AtomicReference<>("no matrix yet");
        AtomicReference<String> error = new AtomicReference<>();
        awaitCondition(what, limit, () -> {
            Matrix m = lab.matrix();
            List<String> miss = want.mismatches(m);
            last.set(String.join("\n", miss) + "\nmatrix:\n" + m.pretty());
            return miss.isEmpty();
        }, error, last::get);
    }

    /** All 39 cells OK and no open verdict, at the same poll. */
    private void awaitHealthy(String what, Duration limit) {
        AtomicReference<String> last = new AtomicReference<>("nothing polled yet");
        AtomicReference<String> error = new AtomicReference<>();
        awaitCondition(what + ": all cells OK and no open verdict", limit, () -> {
            Matrix m = lab.matrix();
            List<String> miss = Cells.allGreen().mismatches(m);
            if (!miss.isEmpty()) {
                last.set(String.join("\n", miss) + "\nmatrix:\n" + m.pretty());
                return false;
            }
            Diagnosis d = lab.diagnose();
            last.set("open verdicts: " + d.open().stream().map(Verdict::brief).toList() + "\ndiagnosis:\n" + d.pretty());
            return d.open().isEmpty();
        }, error, last::get);
    }

    /**
     * Awaitility in the test's own thread (the JUnit timeout can interrupt it); a CLI call that fails
     * counts as "not yet" and its output goes into the failure message with the last observation and
     * {@code lab status}.
     */
    private void awaitCondition(String what, Duration limit, Supplier<Boolean> condition, AtomicReference<String> error,
                                Supplier<String> lastObservation) {
        try {
            await(what).atMost(limit).pollDelay(Duration.ZERO).pollInterval(POLL).pollInSameThread().until(() -> {
                try {
                    boolean done = condition.get();
                    error.set(null);
                    return done;
                } catch (IllegalStateException e) {
                    error.set(e.getMessage());
                    return false;
                }
            });
        } catch (ConditionTimeoutException e) {
            fail(what + ": not within " + limit.toSeconds() + " s\n"
                    + (error.get() == null ? "" : "last CLI error: " + error.get() + "\n")
                    + "last observation:\n" + lastObservation.get() + "\nlab status:\n" + lab.status());
        }
    }

    private static String describe(Diagnosis d) {
        if (d == null) {
            return "no diagnosis yet";
        }
        return "open: " + d.open().stream().map(Verdict::brief).toList() + "\n" + d.pretty();
    }

    /** Prints {@code scenario=NAME cells_s=X verdict_s=Y} (also to timings.txt in the run's log directory). */
    private void report(String scenario, String fields) {
        String line = "scenario=" + scenario + " " + fields;
        System.out.println(line);
        try {
            Files.writeString(lab.logDir().resolve("timings.txt"), line + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.out.println("cannot write timings.txt: " + e.getMessage());
        }
    }

    private static double seconds(long sinceNanos) {
        return (System.nanoTime() - sinceNanos) / 1e9;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }
}
