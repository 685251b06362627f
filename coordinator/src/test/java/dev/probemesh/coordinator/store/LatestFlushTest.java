package dev.probemesh.coordinator.store;

import static dev.probemesh.coordinator.store.StoreTest.ok;
import static dev.probemesh.coordinator.store.StoreTest.result;
import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.proto.v1.Status;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * latest_result is written behind the raw rows (pending series are flushed every couple of
 * seconds). Whatever reads it sees every committed result, and a store opened after a crash
 * between flushes (here: a second store over the same database while the first, never closed,
 * still holds unflushed rows) rebuilds it from the raw rows before anything reads it.
 */
class LatestFlushTest {
    private static final Instant T = Instant.parse("2026-11-22T10:00:00Z");

    @TempDir
    Path dir;

    private static List<String> table(Store store) {
        List<LatestRow> rows = new ArrayList<>();
        store.forEachLatest(rows::add);
        return rows.stream().sorted(Comparator.comparing(LatestRow::agent).thenComparing(LatestRow::checkId))
                .map(r -> r.agent() + " " + r.checkId() + " " + r.status() + " " + r.correctedAt()).toList();
    }

    /** (series count, newest corrected time) straight from the table, with no flush first. */
    private static List<Long> rawLatest(Store store) throws Exception {
        try (Connection c = store.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*), MAX(corrected_at_ms) FROM latest_result")) {
            rs.next();
            return List.of(rs.getLong(1), rs.getLong(2));
        }
    }

    @Test
    void storeOpenedAfterACrashBetweenFlushesRebuildsLatestFromRawResults() throws Exception {
        Store crashed = Store.openH2(dir);
        try {
            crashed.latestFlushInterval(Duration.ofDays(1)); // nothing flushes on its own
            crashed.ingest("idc-1", "inc-1", List.of(ok(1, "a", T), ok(2, "b", T)), T.plusSeconds(1), 0);
            // Newer results for known series stay pending; a replayed older one must not win.
            crashed.ingest("idc-1", "inc-1", List.of(result(3, "a", T.plusSeconds(10), Status.STATUS_FAIL,
                    "TIMEOUT", 2_000_000), ok(4, "b", T.plusSeconds(10))), T.plusSeconds(11), 0);
            crashed.ingest("idc-1", "inc-0", List.of(ok(9, "a", T.plusSeconds(5))), T.plusSeconds(12), 0);
            crashed.ingest("home-1", "inc-1", List.of(ok(1, "a", T.plusSeconds(20))), T.plusSeconds(21), 0);
            // The table still holds the first round for idc-1: the newer rows were not flushed.
            assertThat(rawLatest(crashed)).containsExactly(3L, T.plusSeconds(20).toEpochMilli());

            try (Store reopened = Store.openH2(dir)) {
                assertThat(table(reopened)).containsExactly(
                        "home-1 a OK " + T.plusSeconds(20),
                        "idc-1 a FAIL " + T.plusSeconds(10),
                        "idc-1 b OK " + T.plusSeconds(10));
                // The rebuild ran at open: the table is right without any flush by a reader.
                try (Connection c = reopened.dataSource().getConnection(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM latest_result WHERE corrected_at_ms = "
                             + T.plusSeconds(10).toEpochMilli())) {
                    rs.next();
                    assertThat(rs.getLong(1)).isEqualTo(2);
                }
            }
        } finally {
            crashed.close();
        }
    }

    @Test
    void readersSeePendingLatestRowsAndACleanCloseLeavesNothingToReplay() throws Exception {
        try (Store store = Store.openH2(dir)) {
            store.latestFlushInterval(Duration.ofDays(1));
            store.ingest("idc-1", "inc-1", List.of(ok(1, "a", T)), T.plusSeconds(1), 0);
            store.ingest("idc-1", "inc-1", List.of(ok(2, "a", T.plusSeconds(10))), T.plusSeconds(11), 0);
            assertThat(table(store)).containsExactly("idc-1 a OK " + T.plusSeconds(10));
            store.ingest("idc-1", "inc-1", List.of(ok(3, "a", T.plusSeconds(20))), T.plusSeconds(21), 0);
        }
        try (Store store = Store.openH2(dir)) {
            assertThat(rawLatest(store)).containsExactly(1L, T.plusSeconds(20).toEpochMilli());
            assertThat(table(store)).containsExactly("idc-1 a OK " + T.plusSeconds(20));
        }
    }

    @Test
    void latestFlushedInsideIngestKeepsTheNewestOfEverySeries() throws Exception {
        try (Store store = Store.openH2(dir)) {
            store.latestFlushInterval(Duration.ZERO); // every ingest flushes
            for (int i = 1; i <= 5; i++) {
                store.ingest("idc-1", "inc-1", List.of(ok(2L * i - 1, "a", T.plusSeconds(i)),
                        ok(2L * i, "b", T.plusSeconds(i))), T.plusSeconds(i), 0);
            }
            assertThat(rawLatest(store)).containsExactly(2L, T.plusSeconds(5).toEpochMilli());
            assertThat(table(store)).containsExactly("idc-1 a OK " + T.plusSeconds(5), "idc-1 b OK " + T.plusSeconds(5));
        }
    }
}
