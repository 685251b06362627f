package dev.probemesh.coordinator.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.coordinator.sweep.Sweeps;
import dev.probemesh.proto.v1.AddScheduleRequest;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Schedule;
import dev.probemesh.proto.v1.SweepStatus;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.testing.MutableClock;
import io.grpc.Status;
import io.grpc.StatusException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Schedules on a real H2 store with a hand-moved clock: restarts, missed slots, zones, bad input. */
class SchedulesTest {
    static final Instant T0 = Instant.parse("2026-06-01T00:03:00Z");
    static final Duration CATCH_UP = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    MutableClock clock = new MutableClock(T0);
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    Store store;
    Sweeps sweeps;
    Schedules schedules;

    @BeforeEach
    void open() {
        store = Store.openH2(dir, clock);
        store.applyChecks(List.of(tcp("web"), tcp("db")), false);
        store.upsertAgent(new AgentRow("a-1", "idc", Map.of("role", "edge"), "test", null, T0, T0, 0));
        startCoordinatorParts();
    }

    /** What a coordinator start builds: sweeps and schedules over the store (no agent is connected). */
    void startCoordinatorParts() {
        sweeps = new Sweeps(store, new SessionRegistry(store::checks), clock, executor);
        schedules = new Schedules(store, sweeps, clock, new Schedules.Config(ZoneId.of("Europe/Berlin"),
                Duration.ofSeconds(1), CATCH_UP));
    }

    void restartOnTheSameDataDir() {
        store.close();
        store = Store.openH2(dir, clock);
        startCoordinatorParts();
    }

    @AfterEach
    void close() {
        executor.shutdownNow();
        store.close();
    }

    static Check tcp(String id) {
        return Check.newBuilder().setId(id).setKind("tcp").setTarget("192.0.2.10:443").setIntervalMs(60_000)
                .setTimeoutMs(1_000).setTcp(TcpParams.getDefaultInstance()).build();
    }

    static AddScheduleRequest.Builder nightly() {
        return AddScheduleRequest.newBuilder().setName("nightly").setCron("0 2 * * *").setTimeZone("UTC")
                .putSelector("site", "idc").addCheckIds("web");
    }

    List<SweepStatus> sweepsOf(String schedule) {
        return sweeps.list().stream().filter(s -> s.getSchedule().equals(schedule)).toList();
    }

    @Test
    void aScheduleSurvivesACoordinatorRestartWithItsNextRun() throws Exception {
        Schedule added = schedules.add(nightly().putSelector("role", "edge").setTimeoutMs(90_000).build());
        assertThat(added.getNextRunMs()).isEqualTo(Instant.parse("2026-06-01T02:00:00Z").toEpochMilli());

        restartOnTheSameDataDir();

        assertThat(schedules.list()).singleElement().satisfies(s -> {
            assertThat(s.getId()).isEqualTo(added.getId()).startsWith("sc-");
            assertThat(s.getName()).isEqualTo("nightly");
            assertThat(s.getCron()).isEqualTo("0 2 * * *");
            assertThat(s.getTimeZone()).isEqualTo("UTC");
            assertThat(dev.probemesh.common.check.Selectors.format(s.getSelectorMap())).isEqualTo("role=edge,site=idc");
            assertThat(s.getCheckIdsList()).containsExactly("web");
            assertThat(s.getTimeoutMs()).isEqualTo(90_000);
            assertThat(s.getNextRunMs()).isEqualTo(added.getNextRunMs());
            assertThat(s.getLastRunMs()).isZero();
            assertThat(s.getLastOutcome()).isEmpty();
        });
    }

    @Test
    void aDueScheduleFiresAnOrdinarySweepMarkedWithItsNameAndMovesItsNextRun() throws Exception {
        schedules.add(nightly().build());
        assertThat(schedules.tick()).isZero();

        clock.advance(Duration.ofHours(2)); // 02:03, three minutes past the slot
        assertThat(schedules.tick()).isEqualTo(1);

        // No agent is connected: the sweep records why it could not start, and the schedule goes on.
        assertThat(sweepsOf("nightly")).singleElement().satisfies(s -> {
            assertThat(s.getState()).isEqualTo("FAILED");
            assertThat(s.getError()).contains("matches no connected agent");
            assertThat(s.getCheckIdsList()).containsExactly("web");
        });
        Schedule after = schedules.list().get(0);
        assertThat(after.getNextRunMs()).isEqualTo(Instant.parse("2026-06-02T02:00:00Z").toEpochMilli());
        assertThat(after.getLastRunMs()).isEqualTo(clock.millis());
        assertThat(after.getLastSweepId()).isEqualTo(sweepsOf("nightly").get(0).getId());
        assertThat(after.getLastOutcome()).isEqualTo("FAILED");
        assertThat(after.getLastError()).contains("matches no connected agent");
        assertThat(schedules.tick()).isZero();
    }

    @Test
    void slotsMissedWhileTheCoordinatorWasDownRunOnceAfterStartNotOncePerSlot() throws Exception {
        schedules.add(nightly().setName("every-10-min").setCron("*/10 * * * *").build());
        store.close();

        clock.advance(Duration.ofHours(1)); // six slots pass while the coordinator is down
        store = Store.openH2(dir, clock);
        startCoordinatorParts();
        Instant started = clock.instant();

        // Agents redial after a coordinator restart: the catch-up run waits for them.
        assertThat(schedules.list().get(0).getNextRunMs()).isEqualTo(started.plus(CATCH_UP).toEpochMilli());
        assertThat(schedules.tick()).isZero();
        clock.advance(CATCH_UP);
        assertThat(schedules.tick()).isEqualTo(1);
        assertThat(schedules.tick()).isZero();
        clock.advance(Duration.ofMinutes(5)); // 01:08:30: before the next slot
        assertThat(schedules.tick()).isZero();

        assertThat(sweepsOf("every-10-min")).hasSize(1);
        assertThat(schedules.list().get(0).getNextRunMs())
                .isEqualTo(Instant.parse("2026-06-01T01:10:00Z").toEpochMilli());
        clock.advance(Duration.ofMinutes(2));
        assertThat(schedules.tick()).isEqualTo(1);
        assertThat(sweepsOf("every-10-min")).hasSize(2);
    }

    @Test
    void aClockJumpOverSeveralSlotsWhileRunningFiresOnceAndCountsTheNextRunFromNow() throws Exception {
        schedules.add(nightly().build());

        clock.advance(Duration.ofDays(3).plusHours(5)); // a suspended host wakes up three nights later, 05:03
        assertThat(schedules.tick()).isEqualTo(1);
        assertThat(schedules.tick()).isZero();

        assertThat(sweepsOf("nightly")).hasSize(1);
        assertThat(schedules.list().get(0).getNextRunMs())
                .isEqualTo(Instant.parse("2026-06-05T02:00:00Z").toEpochMilli());
    }

    @Test
    void aScheduleAddedWithoutAZoneUsesTheCoordinatorsZone() throws Exception {
        Schedule s = schedules.add(nightly().clearTimeZone().build());

        assertThat(s.getTimeZone()).isEqualTo("Europe/Berlin");
        // 02:00 CEST on the 2nd of June (the 1st's 02:00 CEST was 00:00 UTC, before T0).
        assertThat(s.getNextRunMs()).isEqualTo(Instant.parse("2026-06-02T00:00:00Z").toEpochMilli());
    }

    @Test
    void runNowStartsTheSweepAtOnceAndLeavesTheNextRun() throws Exception {
        Schedule s = schedules.add(nightly().build());

        SweepStatus run = schedules.runNow("nightly");

        assertThat(run.getSchedule()).isEqualTo("nightly");
        assertThat(run.getState()).isEqualTo("FAILED");
        Schedule after = schedules.list().get(0);
        assertThat(after.getNextRunMs()).isEqualTo(s.getNextRunMs());
        assertThat(after.getLastSweepId()).isEqualTo(run.getId());
        assertThat(schedules.runNow(s.getId()).getSchedule()).isEqualTo("nightly");
    }

    @Test
    void aDeletedScheduleIsGoneAndNeverFires() throws Exception {
        Schedule s = schedules.add(nightly().build());

        schedules.delete(s.getId());
        clock.advance(Duration.ofDays(1));

        assertThat(schedules.tick()).isZero();
        assertThat(schedules.list()).isEmpty();
        restartOnTheSameDataDir();
        assertThat(schedules.list()).isEmpty();
        assertThatThrownBy(() -> schedules.delete("nightly")).isInstanceOfSatisfying(StatusException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    void aScheduleWithoutANameIsNamedByItsId() throws Exception {
        Schedule s = schedules.add(nightly().clearName().build());

        assertThat(s.getName()).isEqualTo(s.getId());
        assertThat(schedules.runNow(s.getId()).getSchedule()).isEqualTo(s.getId());
    }

    static List<Arguments> invalid() {
        return List.of(
                Arguments.of("invalid cron", nightly().setCron("0 25 * * *"), Status.Code.INVALID_ARGUMENT,
                        "Value 25 not in range [0, 23]"),
                Arguments.of("wrong field count", nightly().setCron("0 2 * * * *"), Status.Code.INVALID_ARGUMENT,
                        "contains 6 parts"),
                Arguments.of("unknown zone", nightly().setTimeZone("Europe/Atlantis"), Status.Code.INVALID_ARGUMENT,
                        "time zone \"Europe/Atlantis\" is unknown"),
                Arguments.of("unknown selector key", nightly().putSelector("rack", "r1"),
                        Status.Code.INVALID_ARGUMENT, "unknown selector key \"rack\""),
                Arguments.of("unknown check", nightly().addCheckIds("nope"), Status.Code.NOT_FOUND,
                        "no check with id \"nope\""),
                Arguments.of("bad name", nightly().setName("night ly"), Status.Code.INVALID_ARGUMENT,
                        "name \"night ly\""),
                Arguments.of("name like an id", nightly().setName("sc-12345678"), Status.Code.INVALID_ARGUMENT,
                        "names starting with sc- are ids"),
                Arguments.of("selector value with a comma", nightly().putSelector("role", "a,b"),
                        Status.Code.INVALID_ARGUMENT, "no ',' or '='"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void invalidInputIsRefusedWithAClearMessageAndNothingIsStored(String what, AddScheduleRequest.Builder req,
            Status.Code code, String message) {
        assertThatThrownBy(() -> schedules.add(req.build())).isInstanceOfSatisfying(StatusException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
        assertThat(schedules.list()).isEmpty();
        restartOnTheSameDataDir();
        assertThat(schedules.list()).isEmpty();
    }

    @Test
    void aDuplicateNameIsRefusedAndTheFirstScheduleStays() throws Exception {
        Schedule first = schedules.add(nightly().build());

        assertThatThrownBy(() -> schedules.add(nightly().setCron("0 3 * * *").build()))
                .isInstanceOfSatisfying(StatusException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
                    assertThat(e.getStatus().getDescription()).contains("\"nightly\" exists already");
                });
        assertThat(schedules.list()).extracting(Schedule::getId, Schedule::getCron)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(first.getId(), "0 2 * * *"));
    }

    @Test
    void aCheckDeletedAfterTheScheduleWasAddedFailsThatRunOnlyAndTheScheduleGoesOn() throws Exception {
        schedules.add(nightly().build());
        store.deleteCheck("web");

        clock.advance(Duration.ofHours(2));
        assertThat(schedules.tick()).isEqualTo(1);

        assertThat(sweepsOf("nightly")).singleElement().satisfies(s -> {
            assertThat(s.getState()).isEqualTo("FAILED");
        });
        assertThat(schedules.list().get(0).getNextRunMs())
                .isEqualTo(Instant.parse("2026-06-02T02:00:00Z").toEpochMilli());
    }
}
