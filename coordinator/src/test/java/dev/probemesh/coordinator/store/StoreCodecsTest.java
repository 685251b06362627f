package dev.probemesh.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class StoreCodecsTest {
    @Test
    void stringMapsRoundTripThroughJsonWithEscapes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("quote\"", "back\\slash");
        m.put("ctl", "a\nb\tc\u0001");
        m.put("unicode", "é✓\uD83D\uDE00");
        m.put("", "");
        String json = StringMapJson.encode(m);
        assertThat(StringMapJson.decode(json)).isEqualTo(m);
        assertThat(StringMapJson.encode(Map.of("b", "2", "a", "1"))).isEqualTo("{\"a\":\"1\",\"b\":\"2\"}");
        assertThat(StringMapJson.decode("{}")).isEmpty();
    }

    @Test
    void boundedEncodingDropsWholeEntriesAndSaysSo() {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < 100; i++) {
            m.put("k" + (100 + i), "v".repeat(50));
        }
        String json = StringMapJson.encodeBounded(m, 1000);
        assertThat(json.length()).isLessThanOrEqualTo(1000);
        Map<String, String> back = StringMapJson.decode(json);
        assertThat(back).containsEntry("_truncated", "true").containsEntry("k100", "v".repeat(50));
        assertThat(back.size()).isBetween(2, 99);
    }

    @ParameterizedTest(name = "p{0} of 1..10 is {1}")
    @CsvSource({"50, 5", "90, 9", "99, 10", "100, 10", "10, 1", "1, 1", "51, 6"})
    void nearestRankPercentiles(double p, long expected) {
        long[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertThat(Percentiles.nearestRank(sorted, 10, p)).isEqualTo(expected);
    }

    @Test
    void failureCountsRoundTripThroughTheirTextColumn() {
        Map<String, Long> f = Map.of("TIMEOUT", 3L, "DNS_TIMEOUT", 1L);
        assertThat(Store.failuresText(f)).isEqualTo("DNS_TIMEOUT=1,TIMEOUT=3");
        assertThat(Store.parseFailures(Store.failuresText(f))).isEqualTo(f);
        assertThat(Store.parseFailures("")).isEmpty();
    }

    @Test
    void resultIdsOrderByCorrectedMinute() {
        long a = Store.firstIdOfMinute(1_795_000_000_000L);
        long b = Store.firstIdOfMinute(1_795_000_060_000L);
        assertThat(b - a).isEqualTo(1L << Store.COUNTER_BITS);
        assertThat(Store.minuteOfId(a + 12345)).isEqualTo(1_794_999_960_000L);
        assertThat(Store.firstIdOfMinute(-5)).isZero();
        assertThat(Store.firstIdOfMinute(Long.MAX_VALUE)).isPositive();
    }
}
