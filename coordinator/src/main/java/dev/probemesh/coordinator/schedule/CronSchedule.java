package dev.probemesh.coordinator.schedule;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.zone.ZoneOffsetTransition;
import java.util.Objects;
import java.util.Optional;

/**
 * A Unix cron expression (5 fields) read in a time zone, parsed and evaluated by cron-utils.
 * {@link #of} is the only way in: it validates with messages that name what is wrong.
 *
 * <p>DST: a slot in the repeated hour of a fall-back night runs once (cron-utils). A slot that
 * falls in the gap of a spring-forward night does not exist in local time; cron-utils would skip
 * that day, classic cron runs it when the gap ends, and so does this class: a nightly sweep at
 * 02:30 Europe/Berlin still runs on the last Sunday of March, at 03:00 CEST.
 */
public final class CronSchedule {
    // The parser is immutable and thread-safe; one for the class is a constant, not mutable state.
    private static final CronParser UNIX = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private final String expression;
    private final ZoneId zone;
    private final ExecutionTime execution;

    private CronSchedule(String expression, ZoneId zone, ExecutionTime execution) {
        this.expression = Objects.requireNonNull(expression, "expression");
        this.zone = Objects.requireNonNull(zone, "zone");
        this.execution = Objects.requireNonNull(execution, "execution");
    }

    /** The expression as given, whitespace normalised. */
    public String expression() {
        return expression;
    }

    public ZoneId zone() {
        return zone;
    }

    /**
     * Parses {@code cron} (Unix, 5 fields) in {@code timeZone} (an IANA id; blank = {@code defaultZone}).
     *
     * @throws IllegalArgumentException naming what is wrong: the cron (cron-utils' message), the
     *     zone, or a cron that never fires (e.g. 30 February)
     */
    public static CronSchedule of(String cron, String timeZone, ZoneId defaultZone) {
        ZoneId zone;
        if (timeZone == null || timeZone.isBlank()) {
            zone = defaultZone;
        } else {
            try {
                zone = ZoneId.of(timeZone.trim());
            } catch (DateTimeException e) {
                throw new IllegalArgumentException("time zone \"" + timeZone + "\" is unknown: use an IANA id such as "
                        + "Europe/Berlin, America/New_York or UTC", e);
            }
        }
        String text = cron == null ? "" : cron.trim().replaceAll("\\s+", " ");
        if (text.isEmpty()) {
            throw new IllegalArgumentException("cron: an expression is required, e.g. \"0 2 * * *\" (02:00 every day)");
        }
        Cron parsed;
        try {
            parsed = UNIX.parse(text).validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cron \"" + text + "\" is invalid: " + e.getMessage()
                    + " (Unix cron: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\")", e);
        }
        CronSchedule s = new CronSchedule(text, zone, ExecutionTime.forCron(parsed));
        if (s.execution.nextExecution(ZonedDateTime.of(2000, 1, 1, 0, 0, 0, 0, zone)).isEmpty()) {
            throw new IllegalArgumentException("cron \"" + text + "\" never fires (no such date)");
        }
        return s;
    }

    /** The first run strictly after {@code now}, or empty when the expression has no further run. */
    public Optional<Instant> nextAfter(Instant now) {
        ZonedDateTime zonedNow = now.atZone(zone);
        Optional<Instant> byInstant = execution.nextExecution(zonedNow).map(ZonedDateTime::toInstant);
        // The next slot on the wall clock; when it falls in a DST gap it has no instant, and it runs
        // when the gap ends (only if that comes before the next slot that does exist).
        LocalDateTime localNow = zonedNow.toLocalDateTime();
        Optional<LocalDateTime> wall = execution.nextExecution(localNow.atZone(ZoneOffset.UTC))
                .map(ZonedDateTime::toLocalDateTime);
        if (wall.isPresent() && zone.getRules().getValidOffsets(wall.get()).isEmpty()) {
            ZoneOffsetTransition gap = zone.getRules().getTransition(wall.get());
            if (gap != null && gap.getInstant().isAfter(now)
                    && (byInstant.isEmpty() || gap.getInstant().isBefore(byInstant.get()))) {
                return Optional.of(gap.getInstant());
            }
        }
        return byInstant;
    }
}
