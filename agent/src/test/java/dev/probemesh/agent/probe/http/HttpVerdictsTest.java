package dev.probemesh.agent.probe.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.failure.FailureCode;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HttpVerdictsTest {

    @ParameterizedTest(name = "{0} {1} \"{2}\" -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            530 | -                    | error code: 1016                  | HTTP_CDN_ORIGIN_DNS
            530 | -                    | error code: 1033                  | HTTP_STATUS
            520 | -                    | error code: 520                   | HTTP_CDN_ORIGIN_DOWN
            526 | -                    | error code: 526                   | HTTP_CDN_ORIGIN_DOWN
            527 | -                    | error code: 527                   | HTTP_STATUS
            403 | cf-mitigated: challenge | ''                             | HTTP_WAF_CHALLENGE
            503 | -                    | <title>Just a moment...</title>   | HTTP_WAF_CHALLENGE
            403 | -                    | <title>Attention Required! - Cloudflare</title> | HTTP_WAF_CHALLENGE
            403 | -                    | window._cf_chl_opt={}; cf-chl    | HTTP_WAF_CHALLENGE
            403 | -                    | forbidden                         | HTTP_STATUS
            500 | -                    | Just a moment...                  | HTTP_STATUS
            429 | -                    | slow down                         | HTTP_RATE_LIMITED
            404 | -                    | not found                         | HTTP_STATUS
            """)
    void mapsUnexpectedStatusesToCdnAndWafConventions(int status, String header, String body, FailureCode code) {
        HttpHeaders h = new DefaultHttpHeaders();
        if (!header.equals("-")) {
            h.set(header.substring(0, header.indexOf(':')), header.substring(header.indexOf(':') + 1).trim());
        }
        assertThat(HttpVerdicts.unexpected(status, h, body)).isEqualTo(code);
    }

    @ParameterizedTest(name = "Retry-After \"{0}\" -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            7                             | 7
            120                           | 120
            Sun, 22 Nov 2026 12:00:30 GMT | 30
            Sun, 22 Nov 2026 11:59:00 GMT | 0
            soon                          | -1
            ''                            | -1
            """)
    void readsRetryAfterAsSecondsOrHttpDate(String value, long seconds) {
        Instant now = Instant.parse("2026-11-22T12:00:00Z");
        Optional<Long> parsed = HttpVerdicts.retryAfterSeconds(value, now);
        if (seconds < 0) {
            assertThat(parsed).isEmpty();
        } else {
            assertThat(parsed).contains(seconds);
        }
    }

    @ParameterizedTest(name = "{0} against {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            200 | ''      | true
            204 | ''      | true
            301 | ''      | false
            404 | ''      | false
            404 | 404     | true
            200 | 404     | false
            """)
    void expectsAny2xxUnlessStatusesAreListed(int status, String listed, boolean expected) {
        List<Integer> list = listed.isEmpty() ? List.of() : List.of(Integer.parseInt(listed));
        assertThat(HttpVerdicts.expected(status, list)).isEqualTo(expected);
    }
}
