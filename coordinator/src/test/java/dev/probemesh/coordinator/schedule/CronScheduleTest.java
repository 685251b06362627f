package dev.probemesh.coordinator.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CronScheduleTest {
    static final ZoneId UTC = ZoneOffset.UTC;

    @ParameterizedTest(name = "{0} in {1} after {2} -> {3}")
    @CsvSource({
            "0 2 * * *,    UTC,              2026-06-01T00:00:00Z, 2026-06-01T02:00:00Z",
            "0 2 * * *,    Asia/Tokyo,       2026-06-01T00:00:00Z, 2026-06-01T17:00:00Z",
            "0 2 * * *,    America/New_York, 2026-06-01T00:00:00Z, 2026-06-01T06:00:00Z",
            "0 2 * * *,    America/New_York, 2026-01-15T00:00:00Z, 2026-01-15T07:00:00Z",
            "*/10 * * * *, Europe/Berlin,    2026-06-01T00:00:00Z, 2026-06-01T00:10:00Z",
            "0 2 * * 1-5,  UTC,              2026-06-06T03:00:00Z, 2026-06-08T02:00:00Z",
    })
    void nextRunIsTheNextSlotOnTheWallClockOfTheZone(String cron, String zone, String now, String expected) {
        CronSchedule s = CronSchedule.of(cron, zone, UTC);

        assertThat(s.nextAfter(Instant.parse(now))).contains(Instant.parse(expected));
    }

    @Test
    void aSlotExactlyNowIsNotNextTheFollowingOneIs() {
        CronSchedule s = CronSchedule.of("0 2 * * *", "UTC", UTC);

        assertThat(s.nextAfter(Instant.parse("2026-06-01T02:00:00Z"))).contains(Instant.parse("2026-06-02T02:00:00Z"));
    }

    @Test
    void aSlotInTheSpringForwardGapRunsWhenTheGapEndsInsteadOfSkippingTheDay() {
        // 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that night.
        CronSchedule s = CronSchedule.of("30 2 * * *", "Europe/Berlin", UTC);

        Instant gapNight = s.nextAfter(Instant.parse("2026-03-28T12:00:00Z")).orElseThrow();
        assertThat(gapNight).isEqualTo(Instant.parse("2026-03-29T01:00:00Z")); // 03:00 CEST
        assertThat(s.nextAfter(gapNight)).contains(Instant.parse("2026-03-30T00:30:00Z")); // 02:30 CEST
    }

    @Test
    void aSlotInTheRepeatedFallBackHourRunsOnce() {
        // 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice on the wall clock.
        CronSchedule s = CronSchedule.of("30 2 * * *", "Europe/Berlin", UTC);

        Instant first = s.nextAfter(Instant.parse("2026-10-24T12:00:00Z")).orElseThrow();
        assertThat(first).isEqualTo(Instant.parse("2026-10-25T00:30:00Z")); // 02:30 CEST
        assertThat(s.nextAfter(first)).contains(Instant.parse("2026-10-26T01:30:00Z")); // next night, 02:30 CET
    }

    @Test
    void withoutAZoneTheDefaultZoneIsUsed() {
        CronSchedule s = CronSchedule.of("0 2 * * *", "", ZoneId.of("Asia/Tokyo"));

        assertThat(s.zone()).isEqualTo(ZoneId.of("Asia/Tokyo"));
        assertThat(s.nextAfter(Instant.parse("2026-06-01T00:00:00Z"))).contains(Instant.parse("2026-06-01T17:00:00Z"));
    }

    @ParameterizedTest(name = "\"{0}\" -> {1}")
    @CsvSource(delimiter = '|', value = {
            "61 * * * *    | Value 61 not in range [0, 59]",
            "0 2 * *       | contains 4 parts but we expect one of [5]",
            "0 2 * * * *   | contains 6 parts",
            "@daily        | Nicknames not supported",
            "''            | an expression is required",
            "0 0 30 2 *    | never fires",
    })
    void invalidCronIsRefusedSayingWhatIsWrong(String cron, String message) {
        assertThatThrownBy(() -> CronSchedule.of(cron, "UTC", UTC))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    @Test
    void anUnknownTimeZoneIsRefusedNamingIt() {
        assertThatThrownBy(() -> CronSchedule.of("0 2 * * *", "Mars/Olympus", UTC))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("time zone \"Mars/Olympus\" is unknown").hasMessageContaining("IANA");
    }
}
