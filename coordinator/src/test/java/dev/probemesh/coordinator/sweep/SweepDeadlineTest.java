package dev.probemesh.coordinator.sweep;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A sweep's grace grows with its cells: the store needs time to commit a fleet's answers. */
class SweepDeadlineTest {
    @ParameterizedTest(name = "{0} cells -> {1} ms of grace")
    @CsvSource({
        "1, 2000",          // a small sweep keeps the flat 2 s
        "2000, 2200",       // 100 agents x 20 checks
        "50000, 7000",      // 1,000 agents x 50 checks: 5 s to commit 50,000 answers at 10k/s
    })
    void graceIsTheTravelTimePlusTheCommitTimeOfEveryCell(int cells, long graceMs) {
        assertThat(Sweeps.graceMs(cells)).isEqualTo(graceMs);
    }
}
