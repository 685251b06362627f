package dev.probemesh.coordinator.store;

import static dev.probemesh.coordinator.store.StoreTest.ok;
import static dev.probemesh.coordinator.store.StoreTest.result;
import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Status;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The matrix's in-memory cells ({@link Store#forEachLatestCell}) always agree with the
 * latest_result table ({@link Store#forEachLatest}): after ingest, a late older result, an
 * agent's deletion, a purge, and a reopen that loads them from the database again.
 */
class LatestCellsTest {
    private static final Instant T = Instant.parse("2026-11-22T10:00:00Z");

    @TempDir
    Path dir;

    /** (agent, check, status, corrected time) of every cell, sorted: comparable across both reads. */
    private static List<String> cells(Store store) {
        List<LatestRow> rows = new ArrayList<>();
        store.forEachLatestCell(rows::add);
        return render(rows);
    }

    private static List<String> table(Store store) {
        List<LatestRow> rows = new ArrayList<>();
        store.forEachLatest(rows::add);
        return render(rows);
    }

    private static List<String> render(List<LatestRow> rows) {
        return rows.stream().sorted(Comparator.comparing(LatestRow::agent).thenComparing(LatestRow::checkId))
                .map(r -> r.agent() + " " + r.checkId() + " " + r.status() + " " + r.failure() + " "
                        + r.latencyMs() + " " + r.correctedAt())
                .toList();
    }

    @Test
    void cellsFollowIngestLateResultsDeletionAndPurge() {
        try (Store store = Store.openH2(dir)) {
            store.ingest("idc-1", "inc-1", List.of(ok(1, "a", T), ok(2, "b", T)), T.plusSeconds(1), 0);
            assertThat(cells(store)).hasSize(2).isEqualTo(table(store)); // first read loads them

            // Newer results replace a cell; a replayed older one does not.
            store.ingest("idc-1", "inc-1", List.of(result(3, "a", T.plusSeconds(10), Status.STATUS_FAIL,
                    "TIMEOUT", 2_000_000)), T.plusSeconds(11), 0);
            store.ingest("idc-1", "inc-0", List.of(ok(9, "a", T.plusSeconds(5))), T.plusSeconds(12), 0);
            store.ingest("home-1", "inc-1", List.of(ok(1, "a", T.plusSeconds(20))), T.plusSeconds(21), 0);
            assertThat(cells(store)).isEqualTo(table(store))
                    .contains("idc-1 a FAIL TIMEOUT 2000.0 " + T.plusSeconds(10));

            store.deleteAgent("home-1");
            assertThat(cells(store)).isEqualTo(table(store)).noneMatch(c -> c.startsWith("home-1"));

            // b's latest is older than the cutoff: its cell goes, a's (newer) stays.
            store.purgeResultsBefore(T.plusSeconds(2));
            assertThat(cells(store)).isEqualTo(table(store)).hasSize(1);
        }
        try (Store store = Store.openH2(dir)) {
            assertThat(cells(store)).isEqualTo(table(store)).hasSize(1);
            LatestRow[] only = new LatestRow[1];
            store.forEachLatestCell(r -> only[0] = r);
            assertThat(only[0].status()).isEqualTo(ProbeStatus.FAIL);
            assertThat(only[0].attributes()).isEqualTo(Map.of());
        }
    }
}
