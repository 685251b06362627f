package dev.probemesh.coordinator.sweep;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.proto.v1.Check;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SweepBudgetTest {

    private static List<SweepBudget.Cell> cells(int agents, Check... checks) {
        List<SweepBudget.Cell> out = new ArrayList<>();
        for (int a = 0; a < agents; a++) {
            for (Check c : checks) {
                out.add(new SweepBudget.Cell("a" + a, c));
            }
        }
        return out;
    }

    private static Check check(String id, String target, double rate) {
        return Check.newBuilder().setId(id).setKind("tcp").setTarget(target).setTimeoutMs(1000)
                .setTargetRatePerS(rate).build();
    }

    @ParameterizedTest(name = "{0} agents at {1}/s -> window {2} ms, stretched {3}")
    @CsvSource({
            "10, 20, 500, false",
            "20, 20, 1000, false",
            "50, 20, 2500, true",
            "1000, 20, 50000, true",
            "1000, 2000, 500, false",
    })
    void windowIsProbesOverRateAndStretchedBeyondOneSecond(int agents, double rate, long window, boolean stretched) {
        SweepBudget.Plan p = SweepBudget.plan(cells(agents, check("c", "example.net:443", 0)), rate,
                new SplittableRandom(1));
        assertThat(p.windowMs()).isEqualTo(window);
        assertThat(p.stretched()).isEqualTo(stretched);
        assertThat(p.delays()).hasSize(agents);
    }

    @ParameterizedTest(name = "{0} agents at {1}/s: no one-second bucket exceeds ceil(rate) + 1")
    @CsvSource({"50, 20", "200, 20", "1000, 50", "37, 3.5"})
    void everyOneSecondSlidingBucketStaysWithinRatePlusOne(int agents, double rate) {
        for (long seed = 0; seed < 20; seed++) {
            SweepBudget.Plan p = SweepBudget.plan(cells(agents, check("c", "192.0.2.1:80", 0)), rate,
                    new SplittableRandom(seed));
            List<Integer> starts = p.delays().values().stream().map(m -> m.get("c")).sorted().toList();
            assertThat(starts).hasSize(agents);
            for (int i = 0; i < starts.size(); i++) {
                int j = i;
                while (j < starts.size() && starts.get(j) < starts.get(i) + 1000) {
                    j++;
                }
                assertThat(j - i).as("starts in [%d, +1 s)", starts.get(i)).isLessThanOrEqualTo((int) Math.ceil(rate) + 1);
            }
            assertThat(starts.get(starts.size() - 1)).isLessThan((int) p.windowMs());
        }
    }

    @org.junit.jupiter.api.Test
    void checksOnOneHostShareOneBudgetAndTheStrictestRateWins() {
        Check https = check("https", "https://cdn.example.net/x", 0);
        Check tcp = check("tcp", "cdn.example.net:80", 5);
        Check other = check("other", "198.51.100.7", 0);
        SweepBudget.Plan p = SweepBudget.plan(cells(10, https, tcp, other), 20, new SplittableRandom(3));
        // 20 probes on cdn.example.net at the strictest 5/s: 4 s; the other host takes 0.5 s.
        assertThat(p.windowMs()).isEqualTo(4000);
        Map<String, Integer> perTarget = new HashMap<>();
        p.delays().values().forEach(m -> m.forEach((id, d) -> perTarget.merge(id, 1, Integer::sum)));
        assertThat(perTarget).containsEntry("https", 10).containsEntry("tcp", 10).containsEntry("other", 10);
    }

    @ParameterizedTest
    @CsvSource({
            "https://CDN.example.net:8443/path, cdn.example.net",
            "example.net:443, example.net",
            "192.0.2.1, 192.0.2.1",
            "[2001:db8::1]:53, 2001:db8::1",
            "2001:db8::1, 2001:db8::1",
    })
    void targetKeyIsTheHost(String target, String key) {
        assertThat(SweepBudget.targetKey(check("c", target, 0))).isEqualTo(key);
    }
}
