package dev.probemesh.common.check;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints the short durations used in check files and flags: 500ms, 5s, 2m, 1h, 7d. */
public final class Durations {
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private Durations() {
    }

    /** Milliseconds of a duration such as {@code 5s}; throws with a message naming the accepted forms. */
    public static long parseMillis(String text) {
        Matcher m = DURATION.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a duration: use a number and a unit, e.g. 500ms, 5s, 2m, 1h, 7d");
        }
        long unit = switch (m.group(2)) {
            case "ms" -> 1L;
            case "s" -> 1_000L;
            case "m" -> 60_000L;
            case "h" -> 3_600_000L;
            default -> 86_400_000L;
        };
        try {
            // Exact arithmetic: a long digit string must not wrap around into a short duration.
            return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("\"" + text + "\" is too long a duration", e);
        }
    }

    public static String format(long millis) {
        if (millis % 86_400_000L == 0 && millis > 0) {
            return millis / 86_400_000L + "d";
        }
        if (millis % 3_600_000L == 0 && millis > 0) {
            return millis / 3_600_000L + "h";
        }
        if (millis % 60_000L == 0 && millis > 0) {
            return millis / 60_000L + "m";
        }
        if (millis % 1_000L == 0 && millis > 0) {
            return millis / 1_000L + "s";
        }
        return millis + "ms";
    }
}
