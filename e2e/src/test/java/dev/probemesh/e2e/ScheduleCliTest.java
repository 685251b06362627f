package dev.probemesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.probemesh.cli.ExitCodes;
import dev.probemesh.proto.v1.ListSchedulesRequest;
import dev.probemesh.proto.v1.ListSweepsRequest;
import dev.probemesh.proto.v1.Schedule;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** `probemesh schedule add|list|run-now|delete` and `diagnose --sweep` against a real coordinator and real agents. */
@Timeout(120)
class ScheduleCliTest extends CliMesh {
    @Test
    void addListRunNowAndDeleteASchedule() {
        Outcome add = cli("schedule", "add", "--cron", "0 2 * * *", "--tz", "Asia/Tokyo", "--selector", "site=a",
                "--checks", "stored-tcp", "--name", "nightly", "--timeout", "45s");
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("schedule nightly (sc-").contains("\"0 2 * * *\" Asia/Tokyo")
                .contains("next run ").contains(" 02:00 JST");

        Outcome list = cli("schedule", "list");
        assertThat(list.code()).as(list.err()).isZero();
        assertThat(list.out()).contains("nightly").contains("0 2 * * *").contains("Asia/Tokyo").contains("site=a")
                .contains("stored-tcp").contains("02:00 JST").contains("never");

        Outcome run = cli("schedule", "run-now", "nightly", "-o", "json");
        assertThat(run.code()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("\"complete\" : true").contains("\"schedule\" : \"nightly\"")
                .contains("\"a-1\"").contains("\"a-2\"").doesNotContain("\"b-1\"").contains("\"OK\"");
        String sweepId = run.out().replaceAll("(?s).*\"sweep\" : \\{\\s*\"id\" : \"([^\"]+)\".*", "$1");
        assertThat(sweepId).startsWith("sw-");

        // The schedule's --timeout is its sweeps' deadline.
        assertThat(mesh.admin().listSweeps(ListSweepsRequest.getDefaultInstance()).getSweepsList())
                .filteredOn(s -> s.getId().equals(sweepId)).singleElement()
                .satisfies(s -> assertThat(s.getDeadlineAtMs() - s.getStartedAtMs()).isEqualTo(45_000));
        Outcome sweeps = cli("sweep", "list");
        assertThat(sweeps.out()).containsPattern(sweepId + "\\s+DONE.*2/2.*nightly");
        Outcome listed = cli("schedule", "list", "-o", "json");
        assertThat(listed.out()).contains("\"sweep\" : \"" + sweepId + "\"").contains("\"outcome\" : \"DONE\"");
        Outcome diagnose = cli("diagnose", "--sweep", sweepId, "-o", "json");
        assertThat(diagnose.code()).as(diagnose.err()).isZero();

        Outcome delete = cli("schedule", "delete", "nightly");
        assertThat(delete.code()).as(delete.err()).isZero();
        assertThat(cli("schedule", "list").out()).doesNotContain("nightly");
        assertThat(cli("schedule", "run-now", "nightly").code()).isEqualTo(ExitCodes.REFUSED);
    }

    @Test
    void aScheduleWhoseSelectorMatchesNoAgentRecordsAFailedSweepAndStays() {
        assertThat(cli("schedule", "add", "--cron", "*/5 * * * *", "--selector", "site=b,role=test", "--name",
                "b-only").code()).isZero();
        mesh.agents.get(2).close(); // b-1 leaves
        await().atMost(Duration.ofSeconds(30)).until(() -> mesh.coordinator.sessions().all().stream()
                .filter(s -> s.isOpen()).count() == 2);

        Outcome run = cli("schedule", "run-now", "b-only");

        assertThat(run.code()).isEqualTo(ExitCodes.REFUSED);
        assertThat(run.err()).contains("could not start").contains("matches no connected agent");
        Outcome list = cli("schedule", "list");
        assertThat(list.out()).contains("b-only").contains("FAILED").contains("matches no connected agent");
        assertThat(cli("sweep", "list").out()).containsPattern("FAILED.*b-only");
        Outcome show = cli("sweep", "show", run.out().trim());
        assertThat(show.code()).isEqualTo(ExitCodes.REFUSED);
        assertThat(show.out()).contains("(schedule b-only): FAILED, could not start: selector \"role=test,site=b\"");
    }

    @Test
    @Timeout(150)
    void theCoordinatorsSchedulerFiresADueScheduleAsACompleteSweep() {
        // Every minute: the coordinator's own tick (real clock) must start it within about a minute.
        assertThat(cli("schedule", "add", "--cron", "* * * * *", "--checks", "stored-tcp", "--name", "minutely")
                .code()).isZero();

        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).until(() -> mesh.admin()
                .listSchedules(ListSchedulesRequest.getDefaultInstance()).getSchedules(0).getLastOutcome()
                .equals("DONE"));

        Schedule s = mesh.admin().listSchedules(ListSchedulesRequest.getDefaultInstance()).getSchedules(0);
        Outcome show = cli("sweep", "show", s.getLastSweepId(), "-o", "json");
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).contains("\"complete\" : true").contains("\"schedule\" : \"minutely\"")
                .contains("\"a-1\"").contains("\"a-2\"").contains("\"b-1\"");
        assertThat(s.getNextRunMs()).isGreaterThan(s.getLastRunMs());
    }

    @Test
    void aScheduleSurvivesACoordinatorRestart() throws Exception {
        assertThat(cli("schedule", "add", "--cron", "30 3 * * 1", "--tz", "Europe/Berlin", "--name", "weekly")
                .code()).isZero();
        Schedule before = mesh.admin().listSchedules(ListSchedulesRequest.getDefaultInstance()).getSchedules(0);

        mesh.stopCoordinator();
        mesh.startCoordinator();

        Schedule after = mesh.admin().listSchedules(ListSchedulesRequest.getDefaultInstance()).getSchedules(0);
        assertThat(after).isEqualTo(before);
        assertThat(cli("schedule", "list").out()).contains("weekly").contains("30 3 * * 1");
    }

    @Test
    void badInputIsRefusedBeforeAnythingIsStored() {
        Outcome cron = cli("schedule", "add", "--cron", "0 2 * *");
        assertThat(cron.code()).isEqualTo(ExitCodes.REFUSED);
        assertThat(cron.err()).contains("cron \"0 2 * *\" is invalid").contains("4 parts");

        Outcome tz = cli("schedule", "add", "--cron", "0 2 * * *", "--tz", "Berlin");
        assertThat(tz.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(tz.err()).contains("--tz \"Berlin\"");

        Outcome key = cli("schedule", "add", "--cron", "0 2 * * *", "--selector", "rack=r1");
        assertThat(key.code()).isEqualTo(ExitCodes.REFUSED);
        assertThat(key.err()).contains("unknown selector key \"rack\"");

        Outcome check = cli("schedule", "add", "--cron", "0 2 * * *", "--checks", "stored-tcp,nope");
        assertThat(check.code()).isEqualTo(ExitCodes.REFUSED);
        assertThat(check.err()).contains("no check with id \"nope\"");

        assertThat(cli("schedule", "add", "--cron", "0 2 * * *", "--name", "dup").code()).isZero();
        Outcome dup = cli("schedule", "add", "--cron", "0 3 * * *", "--name", "dup");
        assertThat(dup.code()).isEqualTo(ExitCodes.REFUSED);
        assertThat(dup.err()).contains("\"dup\" exists already");

        assertThat(mesh.admin().listSchedules(ListSchedulesRequest.getDefaultInstance()).getSchedulesList())
                .extracting(Schedule::getName).containsExactly("dup");
    }
}
