package dev.probemesh.common.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DurationsTest {

    @ParameterizedTest(name = "{0} = {1} ms")
    @CsvSource(delimiter = '|', textBlock = """
            0ms    | 0
            500ms  | 500
            5s     | 5000
            ' 5s ' | 5000
            2m     | 120000
            1h     | 3600000
            7d     | 604800000
            90s    | 90000
            """)
    void parsesNumberAndUnit(String text, long millis) {
        assertThat(Durations.parseMillis(text)).isEqualTo(millis);
    }

    @ParameterizedTest(name = "\"{0}\" is rejected")
    @CsvSource(delimiter = '|', textBlock = """
            5 sec
            5
            s
            1.5s
            -1s
            5S
            1h30m
            ''
            """)
    void rejectsAnythingButOneNumberAndOneUnitNamingTheAcceptedForms(String text) {
        assertThatThrownBy(() -> Durations.parseMillis(text))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("\"" + text + "\" is not a duration: use a number and a unit, e.g. 500ms, 5s, 2m, 1h, 7d");
    }

    @ParameterizedTest(name = "\"{0}\" is too long")
    @CsvSource(delimiter = '|', textBlock = """
            99999999999999999999ms
            106751991167301d
            """)
    void rejectsDurationsThatWouldOverflowInsteadOfWrappingAround(String text) {
        assertThatThrownBy(() -> Durations.parseMillis(text))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("\"" + text + "\" is too long a duration");
    }

    @ParameterizedTest(name = "{0} ms prints as {1}")
    @CsvSource(delimiter = '|', textBlock = """
            0         | 0ms
            1         | 1ms
            1500      | 1500ms
            1000      | 1s
            90000     | 90s
            120000    | 2m
            3600000   | 1h
            5400000   | 90m
            86400000  | 1d
            172800000 | 2d
            """)
    void formatsWithTheLargestExactUnitAndParsesBack(long millis, String text) {
        assertThat(Durations.format(millis)).isEqualTo(text);
        assertThat(Durations.parseMillis(text)).isEqualTo(millis);
    }
}
