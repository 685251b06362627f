package dev.probemesh.e2e.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Drives the lab the way a user does: {@code ./probemesh lab ...} for the lab itself, and the CLI's
 * {@code matrix --output json} and {@code diagnose --output json} for what probemesh sees, parsed into
 * small records. Every command runs with stdin from /dev/null and its output in files under
 * {@code logDir}, with a bounded wait.
 */
final class LabDriver {
    static final Duration CLI_TIMEOUT = Duration.ofSeconds(60);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path repo;
    private final Path logDir;
    private final AtomicInteger labRuns = new AtomicInteger();

    LabDriver(Path repo, Path logDir) {
        this.repo = Objects.requireNonNull(repo);
        this.logDir = Objects.requireNonNull(logDir);
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The repository root: the nearest directory up from the module's basedir holding the launcher and the lab. */
    static Path repoRoot() {
        Path dir = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isExecutable(d.resolve("probemesh")) && Files.isRegularFile(d.resolve("deploy/lab/lab.sh"))) {
                return d;
            }
        }
        throw new IllegalStateException("no probemesh launcher with deploy/lab/lab.sh above " + dir);
    }

    Path repo() {
        return repo;
    }

    Path logDir() {
        return logDir;
    }

    /** What one command did: its exit code (-1 when it was stopped at the time limit) and its output. */
    record Run(List<String> command, int exitCode, String stdout, String stderr, Duration took) {
        Run {
            command = List.copyOf(command);
        }

        boolean ok() {
            return exitCode == 0;
        }

        String describe() {
            return String.join(" ", command) + " -> exit " + exitCode + " after " + took.toMillis() + " ms\n"
                    + stdout + (stderr.isEmpty() ? "" : "\n[stderr]\n" + stderr);
        }
    }

    /**
     * {@code ./probemesh lab ARGS}: stdout and stderr together in a file of its own under the log
     * directory (and in the returned run). On the time limit the launcher gets SIGTERM, which lab.sh
     * traps to clean up like a failed command; only the launcher is signalled, never the lab's daemons.
     */
    Run lab(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(repo.resolve("probemesh").toString());
        cmd.add("lab");
        cmd.addAll(List.of(args));
        Path out = logDir.resolve(String.format("lab-%03d-%s.log", labRuns.incrementAndGet(), String.join("-", args)));
        return run(cmd, out, null, timeout);
    }

    /**
     * The faults lab.sh has marked active ({@code $LAB/faults/NAME}, {@code NAME@SITE} for a
     * site's fault): a scenario whose fault vanished was healed, or the lab rebuilt, by someone else.
     */
    Set<String> activeFaults() {
        Path dir = Path.of(Objects.requireNonNullElse(System.getenv("PROBEMESH_LAB_DIR"), "/tmp/probemesh-lab"), "faults");
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        } catch (IOException e) {
            return Set.of();
        }
    }

    /** {@code lab status} output (for failure messages); never throws. */
    String status() {
        Run r = lab(Duration.ofSeconds(30), "status");
        return r.stdout();
    }

    /**
     * The CLI with ARGS. It runs the build the lab's processes were started from
     * ({@code .probemesh/current}, which {@code lab up} made) with the launcher's JVM options, rather
     * than through the launcher: in a working tree the launcher rebuilds first whenever a source
     * changed, and a poll must neither wait a minute for Maven nor talk to the coordinator with a
     * newer CLI than the one it was built with. Without that build (never launched), the launcher.
     */
    Run cli(String... args) {
        List<String> cmd = new ArrayList<>();
        Path jar = repo.resolve(".probemesh/current/cli/probemesh-cli.jar");
        if (Files.isRegularFile(jar)) {
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-jar", jar.toString()));
        } else {
            cmd.add(repo.resolve("probemesh").toString());
        }
        cmd.addAll(List.of(args));
        String name = "cli-" + args[0];
        return run(cmd, logDir.resolve(name + ".out"), logDir.resolve(name + ".err"), CLI_TIMEOUT);
    }

    /** {@code matrix --output json}, parsed; throws {@link IllegalStateException} with the output when the CLI failed. */
    Matrix matrix() {
        return matrixOf(json(cli("matrix", "--output", "json")));
    }

    /**
     * {@code sweep run --output json} over every connected agent and every stored check, followed to
     * its end: the sweep's own matrix (its cells are the sweep's fresh results, MISSING where an agent
     * did not answer by the deadline) and its {@code sweep} object (id, state, completeness).
     */
    SweepRun sweep() {
        JsonNode root = json(cli("sweep", "run", "--output", "json"));
        return new SweepRun(matrixOf(root), root.path("sweep"));
    }

    /** A finished sweep as {@code sweep run -o json} printed it. */
    record SweepRun(Matrix matrix, JsonNode sweep) {
        String id() {
            return text(sweep, "id");
        }

        boolean complete() {
            return sweep.path("complete").asBoolean(false);
        }
    }

    private static Matrix matrixOf(JsonNode root) {
        List<Agent> agents = new ArrayList<>();
        root.path("agents").forEach(a -> agents.add(new Agent(a.path("name").asText(), a.path("site").asText(),
                a.path("connected").asBoolean(false))));
        List<String> checks = new ArrayList<>();
        root.path("checks").forEach(c -> checks.add(c.path("id").asText()));
        List<Cell> cells = new ArrayList<>();
        root.path("cells").forEach(c -> cells.add(new Cell(c.path("agent").asText(), c.path("check").asText(),
                text(c, "status"), text(c, "failure"), text(c, "verdict"), text(c, "detail"))));
        return new Matrix(root, agents, checks, cells);
    }

    /** {@code diagnose --output json [FILTERS]} (open verdicts), parsed; throws {@link IllegalStateException} when the CLI failed. */
    Diagnosis diagnose(String... filters) {
        List<String> args = new ArrayList<>(List.of("diagnose", "--output", "json"));
        args.addAll(List.of(filters));
        JsonNode root = json(cli(args.toArray(String[]::new)));
        List<Verdict> verdicts = new ArrayList<>();
        root.path("verdicts").forEach(v -> verdicts.add(new Verdict(text(v, "id"), text(v, "kind"), text(v, "state"),
                text(v, "site"), v.path("component"), text(v, "target"), text(v, "openedAt"), v)));
        return new Diagnosis(root, verdicts);
    }

    record Agent(String name, String site, boolean connected) {
    }

    /** One matrix cell; failure, verdict and detail are null when absent. */
    record Cell(String agent, String check, String status, String failure, String verdict, String detail) {
        String key() {
            return agent + "|" + check;
        }
    }

    record Matrix(JsonNode raw, List<Agent> agents, List<String> checkIds, List<Cell> cells) {
        Matrix {
            agents = List.copyOf(agents);
            checkIds = List.copyOf(checkIds);
            cells = List.copyOf(cells);
        }

        String pretty() {
            return LabDriver.pretty(raw);
        }
    }

    /** One verdict; site, target and openedAt are null when absent or null in the JSON. */
    record Verdict(String id, String kind, String state, String site, JsonNode component, String target,
                   String openedAt, JsonNode raw) {
        /** A component field as text (port 53 reads "53"), null when absent. */
        String component(String field) {
            return text(component, field);
        }

        boolean open() {
            return "OPEN".equals(state);
        }

        String brief() {
            return kind + " site=" + site + " component=" + component + " target=" + target + " (" + id + ")";
        }
    }

    record Diagnosis(JsonNode raw, List<Verdict> verdicts) {
        Diagnosis {
            verdicts = List.copyOf(verdicts);
        }

        List<Verdict> open() {
            return verdicts.stream().filter(Verdict::open).toList();
        }

        String pretty() {
            return LabDriver.pretty(raw);
        }
    }

    static String pretty(JsonNode node) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (IOException e) {
            return String.valueOf(node);
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.path(field);
        return v.isMissingNode() || v.isNull() ? null : v.asText();
    }

    private static JsonNode json(Run r) {
        if (!r.ok()) {
            throw new IllegalStateException("CLI failed: " + r.describe());
        }
        try {
            return JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new IllegalStateException("CLI printed no JSON (" + e.getMessage() + "): " + r.describe(), e);
        }
    }

    /** Runs from the repository root, as a user at the launcher would. */
    private Run run(List<String> cmd, Path out, Path err, Duration timeout) {
        long start = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(repo.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile());
        if (err == null) {
            pb.redirectErrorStream(true);
        } else {
            pb.redirectError(err.toFile());
        }
        int exit;
        try {
            Process p = pb.start();
            if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                exit = p.exitValue();
            } else {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                exit = -1;
            }
        } catch (IOException e) {
            return new Run(cmd, -1, "", "cannot start: " + e, Duration.ofNanos(System.nanoTime() - start));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Run(cmd, -1, "", "interrupted", Duration.ofNanos(System.nanoTime() - start));
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        String stderr = err == null ? "" : read(err);
        if (exit == -1) {
            stderr = stderr + "\n(stopped after the time limit of " + timeout.toSeconds() + " s)";
        }
        return new Run(cmd, exit, read(out), stderr, took);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + p + ": " + e.getMessage() + ")";
        }
    }
}
