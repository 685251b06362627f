package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.cli.CliException;
import dev.probemesh.cli.ExitCodes;
import dev.probemesh.cli.OutputFormat;
import dev.probemesh.cli.render.Json;
import dev.probemesh.cli.render.Table;
import dev.probemesh.common.check.Durations;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.proto.v1.AddScheduleRequest;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.DeleteScheduleRequest;
import dev.probemesh.proto.v1.ListSchedulesRequest;
import dev.probemesh.proto.v1.RunScheduleNowRequest;
import dev.probemesh.proto.v1.Schedule;
import dev.probemesh.proto.v1.SweepStatus;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Cron schedules of sweeps, stored by the coordinator: each run is an ordinary sweep (listed by
 * {@code sweep list} with the schedule's name), and a run missed while the coordinator was down
 * runs once when it is back.
 */
@Command(name = "schedule", description = "Cron schedules of sweeps: add, list, delete, run-now.",
        subcommands = {ScheduleCommand.Add.class, ScheduleCommand.ListSchedules.class, ScheduleCommand.Delete.class,
                ScheduleCommand.RunNow.class})
public final class ScheduleCommand {
    private static final DateTimeFormatter WALL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z");

    @Command(name = "add", description = {"Add a cron schedule of sweeps.",
            "With --timeout, that is also each sweep's deadline (as for 'sweep run'); without it the sweep derives one."})
    public static final class Add extends AdminCall {
        @Option(names = "--cron", required = true,
                description = "Unix cron, 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\".")
        String cron;

        @Option(names = "--tz", description = "IANA time zone the cron is read in, e.g. Europe/Berlin "
                + "(default: the coordinator's).")
        String tz;

        @Option(names = "--selector", description = "Only agents matching k=v[,k=v] (site=idc matches the site).")
        String selector;

        @Option(names = "--checks", split = ",", description = "Stored check ids to run (default: every stored check "
                + "at the time of the run).")
        List<String> checks;

        @Option(names = "--name", description = "A unique name to refer to it by (default: its id).")
        String name;

        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) throws CliException {
            AddScheduleRequest.Builder req = AddScheduleRequest.newBuilder().setCron(cron);
            try {
                req.putAllSelector(Selectors.parse(selector));
                if (spec.commandLine().getParseResult().hasMatchedOption("--timeout")) {
                    req.setTimeoutMs((int) Math.min(Integer.MAX_VALUE, connection.timeoutMs()));
                }
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCodes.USAGE, e.getMessage());
            }
            if (tz != null) {
                // Checked here too so the message comes before any call; the coordinator checks again.
                try {
                    ZoneId.of(tz);
                } catch (DateTimeException e) {
                    throw new CliException(ExitCodes.USAGE, "--tz \"" + tz + "\" is not a known time zone: use an "
                            + "IANA id such as Europe/Berlin, America/New_York or UTC");
                }
                req.setTimeZone(tz);
            }
            if (name != null) {
                req.setName(name);
            }
            if (checks != null) {
                req.addAllCheckIds(checks);
            }
            Schedule s = admin.addSchedule(req.build());
            if (output == OutputFormat.json) {
                out().println(Json.write(json(s)));
            } else {
                out().println("schedule " + s.getName() + (s.getName().equals(s.getId()) ? "" : " (" + s.getId() + ")")
                        + " added: \"" + s.getCron() + "\" " + s.getTimeZone() + ", next run " + wall(s.getNextRunMs(),
                        s.getTimeZone()));
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", description = "Schedules, soonest next run first, with the last run's sweep and outcome.")
    public static final class ListSchedules extends AdminCall {
        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            List<Schedule> all = admin.listSchedules(ListSchedulesRequest.getDefaultInstance()).getSchedulesList();
            if (output == OutputFormat.json) {
                out().println(Json.write(all.stream().map(ScheduleCommand::json).toList()));
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (Schedule s : all) {
                rows.add(List.of(s.getName(), s.getId(), s.getCron(), s.getTimeZone(),
                        s.getSelectorCount() == 0 ? "(all agents)" : Selectors.format(s.getSelectorMap()),
                        s.getCheckIdsCount() == 0 ? "(all checks)" : String.join(",", s.getCheckIdsList()),
                        wall(s.getNextRunMs(), s.getTimeZone()), lastRun(s)));
            }
            StringBuilder b = new StringBuilder();
            Table.render(b, List.of("NAME", "ID", "CRON", "TZ", "SELECTOR", "CHECKS", "NEXT RUN", "LAST RUN"), rows,
                    false);
            out().print(b);
            return ExitCodes.OK;
        }
    }

    @Command(name = "delete", description = "Delete a schedule; a sweep it already started goes on.")
    public static final class Delete extends AdminCall {
        @Parameters(index = "0", paramLabel = "NAME|ID", description = "The schedule's name or id.")
        String schedule;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            admin.deleteSchedule(DeleteScheduleRequest.newBuilder().setSchedule(schedule).build());
            out().println("schedule " + schedule + " deleted");
            return ExitCodes.OK;
        }
    }

    @Command(name = "run-now", description = {"Start the schedule's sweep now (its next run stays) and follow it "
            + "like 'sweep run'.", "Exit 0 when every cell answered, 1 when cells were MISSING, 4 when it could not start."})
    public static final class RunNow extends AdminCall {
        @Parameters(index = "0", paramLabel = "NAME|ID", description = "The schedule's name or id.")
        String schedule;

        @Option(names = "--detach", description = "Print the sweep id and return at once; the sweep goes on.")
        boolean detach;

        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            SweepStatus started = admin.runScheduleNow(RunScheduleNowRequest.newBuilder().setSchedule(schedule)
                    .build());
            if (started.getState().equals("FAILED") || detach) {
                if (output == OutputFormat.json) {
                    out().println(Json.write(SweepCommand.sweepJson(started)));
                } else {
                    out().println(started.getId());
                }
                if (started.getState().equals("FAILED")) {
                    err().println("probemesh: sweep " + started.getId() + " could not start: " + started.getError());
                    return ExitCodes.REFUSED;
                }
                return ExitCodes.OK;
            }
            return SweepCommand.follow(admin, started, List.of(), output, out(), err());
        }
    }

    /** A time on the schedule's own wall clock, e.g. "2026-06-02 02:00 CEST". */
    static String wall(long epochMs, String zone) {
        if (epochMs == 0) {
            return "-";
        }
        ZoneId z;
        try {
            z = ZoneId.of(zone);
        } catch (DateTimeException e) {
            z = ZoneId.of("UTC");
        }
        return WALL.format(Instant.ofEpochMilli(epochMs).atZone(z));
    }

    static String lastRun(Schedule s) {
        if (s.getLastRunMs() == 0) {
            return "never";
        }
        String out = wall(s.getLastRunMs(), s.getTimeZone()) + " " + s.getLastSweepId() + " " + s.getLastOutcome();
        return s.getLastError().isEmpty() ? out : out + ": " + s.getLastError();
    }

    static Map<String, Object> json(Schedule s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.getId());
        m.put("name", s.getName());
        m.put("cron", s.getCron());
        m.put("timeZone", s.getTimeZone());
        m.put("selector", new LinkedHashMap<>(s.getSelectorMap()));
        m.put("checks", s.getCheckIdsList());
        m.put("timeout", s.getTimeoutMs() == 0 ? null : Durations.format(s.getTimeoutMs()));
        m.put("nextRun", Json.time(s.getNextRunMs()));
        Map<String, Object> last = new LinkedHashMap<>();
        last.put("at", Json.time(s.getLastRunMs()));
        last.put("sweep", s.getLastSweepId().isEmpty() ? null : s.getLastSweepId());
        last.put("outcome", s.getLastOutcome().isEmpty() ? null : s.getLastOutcome());
        last.put("error", s.getLastError().isEmpty() ? null : s.getLastError());
        m.put("lastRun", s.getLastRunMs() == 0 ? null : last);
        return m;
    }
}
