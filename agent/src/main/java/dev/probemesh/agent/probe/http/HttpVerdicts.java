package dev.probemesh.agent.probe.http;

import dev.probemesh.common.failure.FailureCode;
import io.netty.handler.codec.http.HttpHeaders;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an HTTP answer means, as pure functions of status, headers and (the first 64 KiB of) the
 * body: whether the status was expected, and when it was not, which CDN or WAF convention it follows
 * (Cloudflare's, which the lab's edge emulator mimics).
 */
final class HttpVerdicts {
    private static final Pattern CF_ERROR = Pattern.compile("error code: (\\d{3,4})");
    private static final List<String> CHALLENGE_MARKERS = List.of("Just a moment...", "cf-chl", "Attention Required");

    private HttpVerdicts() {
    }

    /** True when {@code status} is one of {@code expected}, or any 2xx when none is listed. */
    static boolean expected(int status, List<Integer> expected) {
        return expected.isEmpty() ? status >= 200 && status < 300 : expected.contains(status);
    }

    /** The Cloudflare error number a CDN error page states ("error code: 1016"), if any. */
    static Optional<String> cfError(String body) {
        Matcher m = CF_ERROR.matcher(body);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** A challenge interstitial: the {@code cf-mitigated: challenge} header or a challenge page body. */
    static boolean challenge(HttpHeaders headers, String body) {
        String mitigated = headers.get("cf-mitigated");
        if (mitigated != null && mitigated.trim().toLowerCase(Locale.ROOT).equals("challenge")) {
            return true;
        }
        return CHALLENGE_MARKERS.stream().anyMatch(body::contains);
    }

    /** The failure code for an unexpected status. */
    static FailureCode unexpected(int status, HttpHeaders headers, String body) {
        Optional<String> cf = cfError(body);
        if (status == 530 && cf.filter("1016"::equals).isPresent()) {
            return FailureCode.HTTP_CDN_ORIGIN_DNS;
        }
        if (status >= 520 && status <= 526) {
            return FailureCode.HTTP_CDN_ORIGIN_DOWN;
        }
        if ((status == 403 || status == 503) && challenge(headers, body)) {
            return FailureCode.HTTP_WAF_CHALLENGE;
        }
        if (status == 429) {
            return FailureCode.HTTP_RATE_LIMITED;
        }
        return FailureCode.HTTP_STATUS;
    }

    /** Human words for a code found by {@link #unexpected}. */
    static String explain(FailureCode code, int status, Optional<String> cfError) {
        String cf = cfError.map(e -> ", error code " + e).orElse("");
        return switch (code) {
            case HTTP_CDN_ORIGIN_DNS -> "CDN cannot resolve the origin (HTTP " + status + cf + ")";
            case HTTP_CDN_ORIGIN_DOWN -> "CDN cannot reach the origin (HTTP " + status + cf + ")";
            case HTTP_WAF_CHALLENGE -> "challenged by a WAF / bot protection (HTTP " + status + ")";
            case HTTP_RATE_LIMITED -> "rate limited (HTTP " + status + ")";
            default -> "unexpected HTTP status " + status + cf;
        };
    }

    /**
     * Seconds to wait from a Retry-After value: delta-seconds, or an HTTP date taken relative to
     * {@code now} (never negative). Empty when the value is neither.
     */
    static Optional<Long> retryAfterSeconds(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        String v = value.trim();
        if (v.chars().allMatch(Character::isDigit)) {
            try {
                return Optional.of(Long.parseLong(v));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        try {
            Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            return Optional.of(Math.max(0, at.getEpochSecond() - now.getEpochSecond()));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** Redirect statuses a client follows with a Location header. */
    static boolean redirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }
}
