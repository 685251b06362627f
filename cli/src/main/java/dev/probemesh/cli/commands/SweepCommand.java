package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.cli.CliException;
import dev.probemesh.cli.ExitCodes;
import dev.probemesh.cli.OutputFormat;
import dev.probemesh.cli.render.Json;
import dev.probemesh.cli.render.MatrixView;
import dev.probemesh.cli.render.Table;
import dev.probemesh.cli.render.VerdictView;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.common.check.Durations;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.AgentInfo;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.ListAgentsRequest;
import dev.probemesh.proto.v1.ListChecksRequest;
import dev.probemesh.proto.v1.ListSweepsRequest;
import dev.probemesh.proto.v1.MatrixCell;
import dev.probemesh.proto.v1.StartSweepRequest;
import dev.probemesh.proto.v1.SweepStatus;
import dev.probemesh.proto.v1.WatchSweepRequest;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Fleet-wide sweeps: run now from every selected agent, follow the progress, show the sweep's
 * matrix. Exit 0 when every cell answered, 1 when cells were MISSING at the deadline.
 * Cron schedules of sweeps are {@link ScheduleCommand}; their runs are listed here with the schedule's name.
 */
@Command(name = "sweep", description = "Fleet-wide sweeps: run checks now from every selected agent.",
        subcommands = {SweepCommand.Run.class, SweepCommand.Watch.class, SweepCommand.ListSweeps.class})
public final class SweepCommand {

    /** How long past the sweep's own window a watcher waits; the coordinator ends every sweep by its deadline. */
    static final long WATCH_SLACK_MS = 120_000;

    @Command(name = "run", description = "Start a sweep and follow it to its matrix.")
    public static final class Run extends AdminCall {
        @Option(names = "--selector", description = "Only agents matching k=v[,k=v] (site=idc matches the site).")
        String selector;

        @Option(names = "--checks", split = ",", description = "Stored check ids to run (default: all stored checks).")
        List<String> checks;

        @Option(names = "--file", description = "Ad-hoc checks from a checks file (not stored).")
        Path file;

        @Option(names = "--detach", description = "Print the sweep id and return at once; the sweep goes on.")
        boolean detach;

        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) throws CliException {
            StartSweepRequest.Builder req = StartSweepRequest.newBuilder();
            try {
                req.putAllSelector(Selectors.parse(selector));
                // The connection's --timeout, when given, is also the sweep's deadline; without it the
                // coordinator derives one from the budget's window, the longest check timeout and a grace.
                if (spec.commandLine().getParseResult().hasMatchedOption("--timeout")) {
                    req.setTimeoutMs((int) Math.min(Integer.MAX_VALUE, connection.timeoutMs()));
                }
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCodes.USAGE, e.getMessage());
            }
            if (checks != null) {
                req.addAllCheckIds(checks);
            }
            List<Check> adHoc = file == null ? List.of() : ChecksCommand.read(file);
            req.addAllChecks(adHoc);
            SweepStatus started = admin.startSweep(req.build());
            if (detach) {
                if (output == OutputFormat.json) {
                    out().println(Json.write(sweepJson(started)));
                } else {
                    out().println(started.getId());
                }
                return ExitCodes.OK;
            }
            return follow(admin, started, adHoc, output, out(), err());
        }
    }

    @Command(name = "watch", aliases = "show",
            description = "Re-attach to a sweep (or show a finished one again) and print its matrix when it ends.")
    public static final class Watch extends AdminCall {
        @Parameters(index = "0", description = "Sweep id.")
        String id;

        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) throws CliException {
            SweepStatus known = admin.listSweeps(ListSweepsRequest.getDefaultInstance()).getSweepsList().stream()
                    .filter(s -> s.getId().equals(id)).findFirst()
                    .orElseThrow(() -> new CliException(ExitCodes.FINDINGS, "no sweep with id \"" + id + "\""));
            return follow(admin, known, List.of(), output, out(), err());
        }
    }

    @Command(name = "list", description = "Recent sweeps, newest first.")
    public static final class ListSweeps extends AdminCall {
        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            List<SweepStatus> sweeps = admin.listSweeps(ListSweepsRequest.getDefaultInstance()).getSweepsList();
            if (output == OutputFormat.json) {
                out().println(Json.write(sweeps.stream().map(SweepCommand::sweepJson).toList()));
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (SweepStatus s : sweeps) {
                rows.add(List.of(s.getId(), s.getState(), Json.time(s.getStartedAtMs()),
                        s.getCellsDone() + "/" + s.getCellsTotal(), String.join(",", s.getCheckIdsList()),
                        s.getSchedule().isEmpty() ? "-" : s.getSchedule(), !s.getError().isEmpty() ? s.getError()
                                : s.getStretched() ? "stretched to " + Durations.format(s.getWindowMs()) : ""));
            }
            StringBuilder b = new StringBuilder();
            Table.render(b, List.of("ID", "STATE", "STARTED", "CELLS", "CHECKS", "SCHEDULE", "NOTE"), rows, false);
            out().print(b);
            return ExitCodes.OK;
        }
    }

    /** Follows a sweep to its end with a progress line on stderr, then prints its matrix. */
    static int follow(AdminServiceGrpc.AdminServiceBlockingStub admin, SweepStatus start, List<Check> adHoc,
            OutputFormat output, PrintWriter out, PrintWriter err) {
        SweepStatus last = start;
        boolean progressShown = false;
        if (start.getState().equals("RUNNING")) {
            // The coordinator ends every sweep by its deadline; the call's own deadline is only a safety net.
            long sweepMs = Math.max(start.getWindowMs(), start.getDeadlineAtMs() - start.getStartedAtMs());
            Iterator<SweepStatus> it = admin.withDeadlineAfter(sweepMs + WATCH_SLACK_MS,
                    TimeUnit.MILLISECONDS).watchSweep(WatchSweepRequest.newBuilder().setId(start.getId()).build());
            while (it.hasNext()) {
                last = it.next();
                if (last.getState().equals("RUNNING")) {
                    err.print("\r" + progress(last));
                    err.flush();
                    progressShown = true;
                }
            }
        } else if (start.getCellsCount() == 0) {
            // A finished sweep from the list carries no cells: watching it returns the final status at once.
            Iterator<SweepStatus> it = admin.watchSweep(WatchSweepRequest.newBuilder().setId(start.getId()).build());
            while (it.hasNext()) {
                last = it.next();
            }
        }
        if (progressShown) {
            err.println("\r" + progress(last));
        }
        if (last.getState().equals("FAILED")) {
            // Nothing was sent: there is no matrix, only the reason.
            if (output == OutputFormat.json) {
                out.println(Json.write(Map.of("sweep", sweepJson(last))));
            } else {
                out.println(summary(last));
            }
            return ExitCodes.REFUSED;
        }
        MatrixView m = matrixOf(admin, last, adHoc);
        if (output == OutputFormat.json) {
            Map<String, Object> root = new LinkedHashMap<>(m.toJson());
            root.put("sweep", sweepJson(last));
            out.println(Json.write(root));
        } else {
            out.print(m.toTable(Table.colorWanted(), false));
            out.println(summary(last));
            diagnosis(admin, last).ifPresent(out::print);
        }
        return last.getState().equals("DONE") ? ExitCodes.OK : ExitCodes.FINDINGS;
    }

    /**
     * The verdicts that concern this sweep (its window, checks and agents), as text; empty when every cell is OK or
     * MISSING (nothing to explain) or the diagnosis is unavailable (the matrix stands on its own).
     */
    static java.util.Optional<String> diagnosis(AdminServiceGrpc.AdminServiceBlockingStub admin, SweepStatus s) {
        boolean red = s.getCellsList().stream().anyMatch(c -> !c.getStatus().equals("OK")
                && !c.getStatus().equals("MISSING"));
        if (!red) {
            return java.util.Optional.empty();
        }
        try {
            DiagnoseResponse r = admin.diagnose(DiagnoseRequest.newBuilder().setSweepId(s.getId()).build());
            // The coordinator keeps the verdicts of the sweep's window, checks and agents.
            return java.util.Optional.of("\n" + VerdictView.toText(r, Table.colorWanted()));
        } catch (io.grpc.StatusRuntimeException e) {
            return java.util.Optional.of("\n(diagnosis unavailable: " + e.getStatus().getCode() + ")\n");
        }
    }

    static String progress(SweepStatus s) {
        int width = 30;
        int filled = s.getCellsTotal() == 0 ? width : (int) ((long) s.getCellsDone() * width / s.getCellsTotal());
        return "sweep " + s.getId() + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                + s.getCellsDone() + "/" + s.getCellsTotal() + " cells, " + s.getAgentsPendingCount()
                + " agents pending" + (s.getStretched() ? " (budget window " + Durations.format(s.getWindowMs()) + ")"
                : "");
    }

    static String summary(SweepStatus s) {
        long missing = s.getCellsList().stream().filter(c -> c.getStatus().equals("MISSING")).count();
        if (s.getState().equals("FAILED")) {
            return "sweep " + s.getId() + (s.getSchedule().isEmpty() ? "" : " (schedule " + s.getSchedule() + ")")
                    + ": FAILED, could not start: " + s.getError();
        }
        StringBuilder b = new StringBuilder("sweep ").append(s.getId()).append(": ").append(s.getState())
                .append(", ").append(s.getCellsDone()).append('/').append(s.getCellsTotal()).append(" cells in ")
                .append(Durations.format(Math.max(0, s.getFinishedAtMs() - s.getStartedAtMs())));
        if (missing > 0) {
            b.append(", ").append(missing).append(" MISSING at the deadline (agents: ")
                    .append(String.join(", ", s.getAgentsPendingList())).append(')');
        }
        if (s.getStretched()) {
            b.append("; stretched by the politeness budget to a ").append(Durations.format(s.getWindowMs()))
                    .append(" window");
        }
        return b.toString();
    }

    static Map<String, Object> sweepJson(SweepStatus s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.getId());
        m.put("state", s.getState());
        m.put("startedAt", Json.time(s.getStartedAtMs()));
        m.put("finishedAt", s.getFinishedAtMs() == 0 ? null : Json.time(s.getFinishedAtMs()));
        m.put("complete", s.getState().equals("DONE"));
        m.put("stretched", s.getStretched());
        m.put("windowMs", s.getWindowMs());
        m.put("cellsDone", s.getCellsDone());
        m.put("cellsTotal", s.getCellsTotal());
        if (!s.getSchedule().isEmpty()) {
            m.put("schedule", s.getSchedule());
        }
        if (!s.getError().isEmpty()) {
            m.put("error", s.getError());
        }
        return m;
    }

    /** The sweep's cells with the agents and checks they name (ad-hoc checks from the file, else stored). */
    static MatrixView matrixOf(AdminServiceGrpc.AdminServiceBlockingStub admin, SweepStatus s, List<Check> adHoc) {
        Set<String> agentNames = new HashSet<>();
        s.getCellsList().forEach(c -> agentNames.add(c.getAgent()));
        List<AgentInfo> agents = admin.listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList().stream()
                .filter(a -> agentNames.contains(a.getName())).toList();
        Map<String, Check> byId = new LinkedHashMap<>();
        admin.listChecks(ListChecksRequest.getDefaultInstance()).getChecksList().forEach(c -> byId.put(c.getId(), c));
        adHoc.forEach(c -> byId.put(c.getId(), c));
        List<Check> checks = new ArrayList<>();
        for (String id : s.getCheckIdsList()) {
            checks.add(byId.getOrDefault(id, Check.newBuilder().setId(id).build()));
        }
        List<MatrixCell> cells = s.getCellsList();
        return MatrixView.of(s.getFinishedAtMs() != 0 ? s.getFinishedAtMs() : s.getStartedAtMs(), agents, checks,
                cells);
    }
}
