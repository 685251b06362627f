package dev.probemesh.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.cli.ExitCodes;
import dev.probemesh.cli.Main;
import dev.probemesh.proto.v1.Schedule;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The schedule commands' own behaviour, without a coordinator (the e2e ScheduleCliTest has one). */
class ScheduleCommandTest {
    record Outcome(int code, String out, String err) {
    }

    Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Outcome(code, out.toString(), err.toString());
    }

    @Test
    void everySubcommandHasHelp() {
        Outcome o = run("schedule", "add", "--help");

        assertThat(o.code()).isZero();
        assertThat(o.out()).contains("--cron").contains("--tz").contains("--selector").contains("--checks")
                .contains("--name").contains("--timeout");
        assertThat(run("schedule", "--help").out()).contains("add", "list", "delete", "run-now");
        assertThat(run("--help").out()).contains("schedule");
    }

    @Test
    @Timeout(30)
    void anUnknownTimeZoneIsABadUsageBeforeAnyCall() {
        // Nothing listens on port 1: a call would fail as UNREACHABLE (3), not as bad usage (2).
        Outcome o = run("schedule", "add", "--cron", "0 2 * * *", "--tz", "Europe/Atlantis", "--insecure",
                "--coordinator", "127.0.0.1:1");

        assertThat(o.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(o.err()).contains("--tz \"Europe/Atlantis\" is not a known time zone");
    }

    @Test
    void timesAreShownOnTheSchedulesWallClock() {
        long at = Instant.parse("2026-06-01T17:00:00Z").toEpochMilli();

        assertThat(ScheduleCommand.wall(at, "Asia/Tokyo")).isEqualTo("2026-06-02 02:00 JST");
        assertThat(ScheduleCommand.wall(0, "UTC")).isEqualTo("-");
    }

    @Test
    void theLastRunNamesItsSweepOutcomeAndWhyItFailed() {
        Schedule s = Schedule.newBuilder().setTimeZone("UTC").setLastRunMs(Instant.parse("2026-06-01T02:00:00Z")
                .toEpochMilli()).setLastSweepId("sw-1").setLastOutcome("FAILED")
                .setLastError("selector \"site=idc\" matches no connected agent").build();

        assertThat(ScheduleCommand.lastRun(s))
                .isEqualTo("2026-06-01 02:00 UTC sw-1 FAILED: selector \"site=idc\" matches no connected agent");
        assertThat(ScheduleCommand.lastRun(Schedule.getDefaultInstance())).isEqualTo("never");
    }
}
