package dev.probemesh.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.Status;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.Timings;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The store on a real embedded H2 database in a temporary directory. */
class StoreTest {
    private static final Instant T = Instant.parse("2026-11-22T10:00:00Z");

    @TempDir
    Path dir;

    static Check tcpCheck(String id, String target) {
        return Check.newBuilder().setId(id).setKind("tcp").setTarget(target)
                .setFamily(Family.FAMILY_IPV4).setIntervalMs(5000).setTimeoutMs(2000)
                .putSelector("site", "idc").setTcp(TcpParams.newBuilder().setPort(443)).build();
    }

    static ProbeResult result(long seq, String checkId, Instant observedAt, Status status,
                              String failure, long latencyUs) {
        return ProbeResult.newBuilder().setSeq(seq).setCheckId(checkId).setCheckRevision(1)
                .setObservedAtMs(observedAt.toEpochMilli()).setStatus(status).setFailure(failure)
                .setTimings(Timings.newBuilder().setTotalUs(latencyUs)).setAddress("203.0.113.10")
                .setFamily(Family.FAMILY_IPV4).build();
    }

    static ProbeResult ok(long seq, String checkId, Instant observedAt) {
        return result(seq, checkId, observedAt, Status.STATUS_OK, "", 1500);
    }

    private static long count(Store store, String sql) throws Exception {
        try (Connection c = store.dataSource().getConnection();
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void migrationsRunOnAFreshDirectory() throws Exception {
        try (Store store = Store.openH2(dir.resolve("fresh"))) {
            assertThat(count(store, "SELECT COUNT(*) FROM \"flyway_schema_history\" "
                    + "WHERE \"version\" = '1' AND \"success\" = TRUE")).isEqualTo(1);
            assertThat(store.agents()).isEmpty();
            assertThat(store.checks()).isEmpty();
            assertThat(store.countResults()).isZero();
            assertThat(store.checksVersion()).isZero();
        }
    }

    @Test
    void revisionsCountEveryChangeOfSpecAndSurviveDeletion() {
        try (Store store = Store.openH2(dir)) {
            ApplyOutcome first = store.applyChecks(List.of(tcpCheck("a", "203.0.113.10")), false);
            assertThat(first.created()).containsExactly("a");
            assertThat(store.check("a")).get().extracting(Check::getRevision).isEqualTo(1);
            assertThat(store.checksVersion()).isEqualTo(1);

            // The revision field of the input is not part of the spec.
            Check same = tcpCheck("a", "203.0.113.10").toBuilder().setRevision(7).build();
            ApplyOutcome again = store.applyChecks(List.of(same), false);
            assertThat(again.unchanged()).containsExactly("a");
            assertThat(again.changed()).isFalse();
            assertThat(store.check("a")).get().extracting(Check::getRevision).isEqualTo(1);
            assertThat(store.checksVersion()).isEqualTo(1);

            ApplyOutcome changed = store.applyChecks(List.of(tcpCheck("a", "203.0.113.11")), false);
            assertThat(changed.updated()).containsExactly("a");
            assertThat(store.check("a")).get().extracting(Check::getRevision).isEqualTo(2);
            assertThat(store.checksVersion()).isEqualTo(2);

            assertThat(store.deleteCheck("a")).isTrue();
            assertThat(store.deleteCheck("a")).isFalse();
            assertThat(store.check("a")).isEmpty();
            assertThat(store.checks()).isEmpty();
            assertThat(store.checksVersion()).isEqualTo(3);

            ApplyOutcome recreated = store.applyChecks(List.of(tcpCheck("a", "203.0.113.11")), false);
            assertThat(recreated.created()).containsExactly("a");
            assertThat(store.checks()).singleElement().satisfies(c -> {
                assertThat(c.getRevision()).isEqualTo(3);
                assertThat(c.getTarget()).isEqualTo("203.0.113.11");
                assertThat(c.getSelectorMap()).containsEntry("site", "idc");
            });
            assertThat(store.checksVersion()).isEqualTo(4);
        }
    }

    @Test
    void pruneDeletesLiveChecksMissingFromTheRequest() {
        try (Store store = Store.openH2(dir)) {
            store.applyChecks(List.of(tcpCheck("a", "203.0.113.10"), tcpCheck("b", "203.0.113.20")),
                    false);
            ApplyOutcome pruned = store.applyChecks(List.of(tcpCheck("b", "203.0.113.20"),
                    tcpCheck("c", "203.0.113.30")), true);
            assertThat(pruned.deleted()).containsExactly("a");
            assertThat(pruned.unchanged()).containsExactly("b");
            assertThat(pruned.created()).containsExactly("c");
            assertThat(store.checks()).extracting(Check::getId).containsExactly("b", "c");
        }
    }

    @Test
    void applyRejectsAnIdGivenTwice() {
        try (Store store = Store.openH2(dir)) {
            assertThatThrownBy(() -> store.applyChecks(List.of(tcpCheck("a", "203.0.113.10"),
                    tcpCheck("a", "203.0.113.11")), false))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("check id a appears twice in one apply: give each check a unique id");
            assertThat(store.checks()).isEmpty();
        }
    }

    @Test
    void replayingABatchStoresNothingTwiceAndAcksTheSame() {
        try (Store store = Store.openH2(dir)) {
            List<ProbeResult> batch = List.of(ok(1, "a", T), ok(2, "b", T), ok(3, "a", T.plusSeconds(5)));
            IngestOutcome first = store.ingest("idc-1", "inc-1", batch, T.plusSeconds(6), 0);
            assertThat(first).isEqualTo(new IngestOutcome(3, List.of(), 3, 0));

            IngestOutcome replay = store.ingest("idc-1", "inc-1", batch, T.plusSeconds(9), 0);
            assertThat(replay).isEqualTo(new IngestOutcome(3, List.of(), 0, 3));
            assertThat(store.countResults()).isEqualTo(3);
            assertThat(store.highWaterMark("idc-1", "inc-1")).isEqualTo(3);

            // A partly new batch stores only the new tail.
            IngestOutcome overlap = store.ingest("idc-1", "inc-1",
                    List.of(ok(3, "a", T.plusSeconds(5)), ok(4, "b", T.plusSeconds(5))), T.plusSeconds(9), 0);
            assertThat(overlap).isEqualTo(new IngestOutcome(4, List.of(), 1, 1));
            assertThat(store.countResults()).isEqualTo(4);
        }
    }

    @Test
    void aNewIncarnationStartingAtSeqOneIsNotADuplicate() {
        try (Store store = Store.openH2(dir)) {
            store.ingest("idc-1", "inc-1", List.of(ok(1, "a", T), ok(2, "a", T.plusSeconds(5))),
                    T.plusSeconds(6), 0);
            IngestOutcome restarted = store.ingest("idc-1", "inc-2",
                    List.of(ok(1, "a", T.plusSeconds(10))), T.plusSeconds(11), 0);
            assertThat(restarted).isEqualTo(new IngestOutcome(1, List.of(), 1, 0));
            assertThat(store.countResults()).isEqualTo(3);
            assertThat(store.resultsSince(T)).extracting(ResultRow::incarnation, ResultRow::seq)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("inc-1", 1L),
                            org.assertj.core.groups.Tuple.tuple("inc-1", 2L),
                            org.assertj.core.groups.Tuple.tuple("inc-2", 1L));
        }
    }

    static List<Arguments> malformed() {
        return List.of(
                Arguments.of("seq 0", (UnaryOperator<ProbeResult.Builder>) b -> b.setSeq(0),
                        0L, "seq is 0: seqs start at 1"),
                Arguments.of("empty check id", (UnaryOperator<ProbeResult.Builder>) b -> b.setCheckId(""),
                        2L, "check_id is empty"),
                Arguments.of("unspecified status",
                        (UnaryOperator<ProbeResult.Builder>) b -> b.setStatus(Status.STATUS_UNSPECIFIED),
                        2L, "unknown status 0"),
                Arguments.of("status from a newer agent",
                        (UnaryOperator<ProbeResult.Builder>) b -> b.setStatusValue(42),
                        2L, "unknown status 42"),
                Arguments.of("no observation time",
                        (UnaryOperator<ProbeResult.Builder>) b -> b.setObservedAtMs(0),
                        2L, "observed_at_ms is not set"),
                Arguments.of("overlong check id",
                        (UnaryOperator<ProbeResult.Builder>) b -> b.setCheckId("x".repeat(129)),
                        2L, "check_id longer than 128 chars"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void rejectsAMalformedResultAndKeepsItsNeighbours(String name,
                                                      UnaryOperator<ProbeResult.Builder> breakIt,
                                                      long rejectedSeq, String reason) {
        try (Store store = Store.openH2(dir)) {
            ProbeResult bad = breakIt.apply(ok(2, "a", T).toBuilder()).build();
            IngestOutcome out = store.ingest("idc-1", "inc-1",
                    List.of(ok(1, "a", T), bad, ok(3, "b", T)), T.plusSeconds(1), 0);
            assertThat(out.rejected()).containsExactly(new Rejected(rejectedSeq, reason));
            assertThat(out.inserted()).isEqualTo(2);
            assertThat(out.ackedUpTo()).isEqualTo(3);
            assertThat(store.resultsSince(T)).extracting(ResultRow::seq).containsExactly(1L, 3L);
        }
    }

    @Test
    void aBatchWithoutIncarnationIsRejectedWhole() {
        try (Store store = Store.openH2(dir)) {
            IngestOutcome out = store.ingest("idc-1", "", List.of(ok(1, "a", T)), T, 0);
            assertThat(out).isEqualTo(new IngestOutcome(0,
                    List.of(new Rejected(1, "batch has no incarnation")), 0, 0));
            assertThat(store.countResults()).isZero();
        }
    }

    @Test
    void storesResultsOfChecksItDoesNotKnow() {
        // A check deleted a moment ago, or an ad-hoc sweep check, still ran: keep what it saw.
        try (Store store = Store.openH2(dir)) {
            IngestOutcome out = store.ingest("idc-1", "inc-1",
                    List.of(ok(1, "never-applied", T)), T.plusSeconds(1), 0);
            assertThat(out.inserted()).isEqualTo(1);
            assertThat(store.resultsSince(T)).extracting(ResultRow::checkId).containsExactly("never-applied");
        }
    }

    @Test
    void keepsEveryFieldAndCorrectsTheAgentClock() {
        try (Store store = Store.openH2(dir)) {
            ProbeResult r = result(1, "dns-origin-udp", T, Status.STATUS_FAIL, "DNS_TIMEOUT", 2_000_500)
                    .toBuilder().setCheckRevision(4).setDetail("é".repeat(600))
                    .putAttributes("rcode", "\"none\"\n").putAttributes("zone", "ddns.test")
                    .setSweepId("s-1").setFamily(Family.FAMILY_IPV6).setAddress("2001:db8:53::53")
                    .build();
            // The agent's clock runs 1.5 s ahead of the coordinator's.
            store.ingest("idc-1", "inc-1", List.of(r), T.plusSeconds(3), 1500);
            assertThat(store.resultsSince(T.minusSeconds(2))).singleElement().satisfies(row -> {
                assertThat(row.agent()).isEqualTo("idc-1");
                assertThat(row.checkId()).isEqualTo("dns-origin-udp");
                assertThat(row.revision()).isEqualTo(4);
                assertThat(row.status()).isEqualTo(ProbeStatus.FAIL);
                assertThat(row.failure()).isEqualTo("DNS_TIMEOUT");
                assertThat(row.detail()).hasSize(512).isEqualTo("é".repeat(512));
                assertThat(row.latencyMs()).isEqualTo(2000.5);
                assertThat(row.observedAt()).isEqualTo(T);
                assertThat(row.correctedAt()).isEqualTo(T.minusMillis(1500));
                assertThat(row.receivedAt()).isEqualTo(T.plusSeconds(3));
                assertThat(row.attributes()).containsExactlyInAnyOrderEntriesOf(
                        Map.of("rcode", "\"none\"\n", "zone", "ddns.test"));
                assertThat(row.sweepId()).isEqualTo("s-1");
                assertThat(row.incarnation()).isEqualTo("inc-1");
                assertThat(row.seq()).isEqualTo(1);
                assertThat(row.address()).isEqualTo("2001:db8:53::53");
                assertThat(row.family()).isEqualTo("ipv6");
            });
            // The window starts on corrected time.
            assertThat(store.resultsSince(T.minusMillis(1499))).isEmpty();
            assertThat(store.resultsSince(T.minusMillis(1500))).hasSize(1);
        }
    }

    private static List<LatestRow> latest(Store store) {
        List<LatestRow> out = new ArrayList<>();
        store.forEachLatest(out::add);
        return out;
    }

    @Test
    void latestKeepsTheNewestCorrectedTimeWhenAnOlderResultArrivesLate() {
        try (Store store = Store.openH2(dir)) {
            store.ingest("idc-1", "inc-2",
                    List.of(result(1, "a", T.plusSeconds(10), Status.STATUS_FAIL, "TIMEOUT", 2_000_000)),
                    T.plusSeconds(12), 0);
            // The previous incarnation's spool is replayed after the restart: older results.
            store.ingest("idc-1", "inc-1", List.of(ok(7, "a", T), ok(8, "b", T)), T.plusSeconds(13), 0);
            assertThat(latest(store)).extracting(LatestRow::checkId, LatestRow::status, LatestRow::correctedAt)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("a", ProbeStatus.FAIL, T.plusSeconds(10)),
                            org.assertj.core.groups.Tuple.tuple("b", ProbeStatus.OK, T));

            store.ingest("idc-1", "inc-2", List.of(ok(2, "a", T.plusSeconds(20))), T.plusSeconds(21), 0);
            assertThat(latest(store)).first().satisfies(l -> {
                assertThat(l.status()).isEqualTo(ProbeStatus.OK);
                assertThat(l.failure()).isNull();
                assertThat(l.latencyMs()).isEqualTo(1.5);
                assertThat(l.correctedAt()).isEqualTo(T.plusSeconds(20));
                assertThat(l.receivedAt()).isEqualTo(T.plusSeconds(21));
            });
        }
    }

    @Test
    void ingestManyCommitsSeveralAgentsAndKeepsPerBatchOutcomes() {
        try (Store store = Store.openH2(dir)) {
            List<IngestOutcome> outs = store.ingestMany(List.of(
                    new IngestBatch("idc-1", "i", List.of(ok(1, "a", T), ok(2, "a", T)), T, 0),
                    new IngestBatch("home-1", "h", List.of(ok(1, "a", T)), T, 0),
                    // The same incarnation again in the same call: its earlier batch counts.
                    new IngestBatch("idc-1", "i", List.of(ok(2, "a", T), ok(3, "a", T)), T, 0)));
            assertThat(outs).containsExactly(new IngestOutcome(2, List.of(), 2, 0),
                    new IngestOutcome(1, List.of(), 1, 0), new IngestOutcome(3, List.of(), 1, 1));
            assertThat(store.countResults()).isEqualTo(4);
            assertThat(store.highWaterMark("idc-1", "i")).isEqualTo(3);
            assertThat(store.highWaterMark("home-1", "h")).isEqualTo(1);
            assertThat(store.highWaterMark("vps-1", "v")).isZero();
        }
    }

    @Test
    void everythingSurvivesClosingAndReopeningTheDataDirectory() {
        byte[] caps = Capabilities.newBuilder().setIpv4(true).setIcmp(true).build().toByteArray();
        AgentRow agent = new AgentRow("idc-1", "idc", Map.of("zone", "a"), "0.1.0", caps, T,
                T.plusSeconds(5), -20);
        try (Store store = Store.openH2(dir)) {
            store.upsertAgent(agent);
            store.applyChecks(List.of(tcpCheck("a", "203.0.113.10")), false);
            store.applyChecks(List.of(tcpCheck("a", "203.0.113.11")), false);
            store.ingest("idc-1", "inc-1", List.of(ok(1, "a", T), ok(2, "a", T.plusSeconds(5))), T, 0);
        }
        try (Store store = Store.openH2(dir)) {
            assertThat(store.agents()).containsExactly(agent);
            assertThat(store.check("a")).get().satisfies(c -> {
                assertThat(c.getRevision()).isEqualTo(2);
                assertThat(c.getTarget()).isEqualTo("203.0.113.11");
            });
            assertThat(store.checksVersion()).isEqualTo(2);
            assertThat(store.countResults()).isEqualTo(2);
            assertThat(store.highWaterMark("idc-1", "inc-1")).isEqualTo(2);
            assertThat(store.ingest("idc-1", "inc-1", List.of(ok(2, "a", T.plusSeconds(5))), T, 0)
                    .duplicates()).isEqualTo(1);
            // Ids continue after the reopen: new rows in the same minute do not collide.
            assertThat(store.ingest("idc-1", "inc-1", List.of(ok(3, "a", T.plusSeconds(6))), T, 0)
                    .inserted()).isEqualTo(1);
            assertThat(store.resultsSince(T)).extracting(ResultRow::seq).containsExactly(1L, 2L, 3L);
            assertThat(latest(store)).singleElement().extracting(LatestRow::correctedAt)
                    .isEqualTo(T.plusSeconds(6));
        }
    }

    @Test
    void agentsKeepTheirFirstSightingAndCanBeTouchedAndDeleted() {
        try (Store store = Store.openH2(dir)) {
            store.upsertAgent(new AgentRow("idc-1", "idc", Map.of(), "0.1.0", null, T, T, 0));
            store.upsertAgent(new AgentRow("idc-1", "idc", Map.of("rack", "r1"), "0.2.0", null,
                    T.plusSeconds(60), T.plusSeconds(60), 5));
            store.touchAgent("idc-1", T.plusSeconds(90), 7);
            store.touchAgent("nobody", T, 0);
            assertThat(store.agent("idc-1")).get().satisfies(a -> {
                assertThat(a.firstSeen()).isEqualTo(T);
                assertThat(a.lastSeen()).isEqualTo(T.plusSeconds(90));
                assertThat(a.clockSkewMs()).isEqualTo(7);
                assertThat(a.version()).isEqualTo("0.2.0");
                assertThat(a.labels()).containsExactly(Map.entry("rack", "r1"));
                assertThat(a.capabilities()).isEmpty();
            });
            assertThat(store.agent("nobody")).isEmpty();

            store.ingest("idc-1", "i", List.of(ok(1, "a", T)), T, 0);
            assertThat(store.deleteAgent("idc-1")).isTrue();
            assertThat(store.deleteAgent("idc-1")).isFalse();
            assertThat(store.agents()).isEmpty();
            assertThat(latest(store)).isEmpty();
            assertThat(store.countResults()).isEqualTo(1);

            // An agent that comes back reappears in the matrix with its new results.
            store.ingest("idc-1", "i", List.of(ok(2, "a", T.plusSeconds(5))), T, 0);
            assertThat(latest(store)).singleElement().extracting(LatestRow::correctedAt)
                    .isEqualTo(T.plusSeconds(5));
        }
    }

    @Test
    void migratingFromTheFirstSchemaKeepsTheMatrix() throws Exception {
        String url = Store.h2Url(dir);
        org.flywaydb.core.Flyway.configure().dataSource(url, "sa", "").target("1")
                .locations("classpath:db/migration").load().migrate();
        try (Connection c = java.sql.DriverManager.getConnection(url, "sa", "");
             Statement st = c.createStatement()) {
            long id = Store.firstIdOfMinute(T.toEpochMilli());
            st.executeUpdate("INSERT INTO probe_result VALUES (" + id + ", 'idc-1', 'i', 1, 'a', 1, "
                    + T.toEpochMilli() + ", " + T.toEpochMilli() + ", " + T.toEpochMilli()
                    + ", 'FAIL', 'TIMEOUT', '', 2000000, '', 'ipv4', '{}', NULL)");
            st.executeUpdate("INSERT INTO latest_result VALUES ('idc-1', 'a', " + T.toEpochMilli() + ", " + id + ")");
            st.executeUpdate("UPDATE store_meta SET meta_value = 1 WHERE meta_key = 'result_counter'");
        }
        try (Store store = Store.openH2(dir)) {
            assertThat(latest(store)).singleElement().satisfies(l -> {
                assertThat(l.agent()).isEqualTo("idc-1");
                assertThat(l.failure()).isEqualTo("TIMEOUT");
            });
            store.ingest("idc-1", "i", List.of(ok(2, "a", T.plusSeconds(5))), T, 0);
            assertThat(latest(store)).singleElement().extracting(LatestRow::status).isEqualTo(ProbeStatus.OK);
        }
    }

    @Test
    void purgeRemovesOnlyResultsOlderThanTheCutoff() {
        try (Store store = Store.openH2(dir)) {
            store.ingest("idc-1", "i", List.of(ok(1, "old", T.minus(Duration.ofHours(2))),
                    ok(2, "a", T.minus(Duration.ofMinutes(31))), ok(3, "a", T.minus(Duration.ofMinutes(30))),
                    ok(4, "a", T.minus(Duration.ofMinutes(29))), ok(5, "b", T)), T, 0);
            int purged = store.purgeResultsBefore(T.minus(Duration.ofMinutes(30)));
            assertThat(purged).isEqualTo(2);
            assertThat(store.resultsSince(Instant.EPOCH)).extracting(ResultRow::seq).containsExactly(3L, 4L, 5L);
            // The cell whose newest result was purged is gone from the matrix.
            assertThat(latest(store)).extracting(LatestRow::checkId).containsExactly("a", "b");
            assertThat(store.purgeResultsBefore(T.minus(Duration.ofMinutes(30)))).isZero();

            // The purged cell comes back with its next result.
            store.ingest("idc-1", "i", List.of(ok(6, "old", T.plusSeconds(1))), T, 0);
            assertThat(latest(store)).extracting(LatestRow::checkId).containsExactly("a", "b", "old");
        }
    }

    @Test
    void purgeWorksInChunksThroughLargeBacklogs() {
        try (Store store = Store.openH2(dir)) {
            List<ProbeResult> many = new ArrayList<>();
            for (int i = 1; i <= 25_000; i++) {
                many.add(ok(i, "c" + (i % 50), T.minusSeconds(3600 + i % 1000)));
            }
            many.add(ok(25_001, "a", T));
            store.ingest("idc-1", "i", many, T, 0);
            assertThat(store.purgeResultsBefore(T.minusSeconds(60))).isEqualTo(25_000);
            assertThat(store.countResults()).isEqualTo(1);
        }
    }

    @Test
    void rollupsCountFailuresAndLatencyPercentilesOfCompletedHoursOnce() {
        Instant hour = Instant.parse("2026-11-22T08:00:00Z");
        try (Store store = Store.openH2(dir)) {
            List<ProbeResult> rs = new ArrayList<>();
            long seq = 0;
            for (int ms = 1; ms <= 10; ms++) {   // 10 successful runs of 1..10 ms, shuffled in time
                rs.add(result(++seq, "a", hour.plusSeconds(60L * ((ms * 7) % 10)), Status.STATUS_OK, "", ms * 1000L));
            }
            rs.add(result(++seq, "a", hour.plusSeconds(100), Status.STATUS_FAIL, "TIMEOUT", 2_000_000));
            rs.add(result(++seq, "a", hour.plusSeconds(200), Status.STATUS_FAIL, "TIMEOUT", 2_000_000));
            rs.add(result(++seq, "a", hour.plusSeconds(300), Status.STATUS_FAIL, "DNS_TIMEOUT", 2_000_000));
            rs.add(result(++seq, "a", hour.plusSeconds(400), Status.STATUS_ERROR, "", 0));
            rs.add(result(++seq, "a", hour.plusSeconds(3599), Status.STATUS_DEGRADED, "TIMEOUT", 20_000));
            rs.add(result(++seq, "a", hour.plusSeconds(3600), Status.STATUS_OK, "", 1_000)); // next hour
            rs.add(result(++seq, "b", hour.plusSeconds(10), Status.STATUS_FAIL, "REFUSED", 300));
            store.ingest("idc-1", "i", rs, hour.plusSeconds(4000), 0);
            store.ingest("vps-1", "v", List.of(ok(1, "a", hour.plusSeconds(30))), hour.plusSeconds(4000), 0);

            // Only the hour that ended before the cutoff.
            assertThat(store.rollUpHoursBefore(hour.plusSeconds(3600 + 1800))).isEqualTo(1);
            List<RollupRow> rows = store.rollups("a", hour.minusSeconds(7200), hour.plusSeconds(7200));
            assertThat(rows).extracting(RollupRow::agent).containsExactly("idc-1", "vps-1");
            RollupRow idc = rows.get(0);
            assertThat(idc.hourStart()).isEqualTo(hour);
            assertThat(idc.count()).isEqualTo(15);
            assertThat(idc.okCount()).isEqualTo(10);
            assertThat(idc.failuresByCode()).containsExactlyInAnyOrderEntriesOf(
                    Map.of("TIMEOUT", 3L, "DNS_TIMEOUT", 1L, "ERROR", 1L));
            // OK and DEGRADED runs: 1..10 ms and 20 ms, nearest rank.
            assertThat(idc.latencySamples()).isEqualTo(11);
            assertThat(idc.latencyP50Ms()).isEqualTo(6.0);
            assertThat(idc.latencyP90Ms()).isEqualTo(10.0);
            assertThat(idc.latencyP99Ms()).isEqualTo(20.0);
            assertThat(idc.latencyMaxMs()).isEqualTo(20.0);
            assertThat(store.rollups("b", hour, hour.plusSeconds(3600))).singleElement().satisfies(b -> {
                assertThat(b.failuresByCode()).containsExactly(Map.entry("REFUSED", 1L));
                assertThat(b.latencySamples()).isZero();
                assertThat(b.latencyP50Ms()).isZero();
            });

            // Idempotent: the same hour is not rolled up again, nothing changes.
            assertThat(store.rollUpHoursBefore(hour.plusSeconds(3600 + 1800))).isZero();
            assertThat(store.rollups("a", hour.minusSeconds(7200), hour.plusSeconds(7200))).isEqualTo(rows);

            // Once the next hour completes, it is rolled up too.
            assertThat(store.rollUpHoursBefore(hour.plusSeconds(7200))).isEqualTo(1);
            assertThat(store.rollups("a", hour.plusSeconds(3600), hour.plusSeconds(7200)))
                    .singleElement().extracting(RollupRow::count).isEqualTo(1L);
        }
    }

    @Test
    void verdictsListOpenOnesAndRecentlyClosedOnesOnRequest() {
        try (Store store = Store.openH2(dir)) {
            VerdictRow open = new VerdictRow("v-1", "LOCAL_PATH_BLOCK", "OPEN", T, null, "idc", new byte[] {1, 2});
            VerdictRow recent = new VerdictRow("v-2", "TARGET_OUTAGE", "CLOSED", T.minusSeconds(600),
                    T.minusSeconds(60), null, new byte[] {3});
            VerdictRow old = new VerdictRow("v-3", "DEGRADED", "CLOSED", T.minus(Duration.ofDays(3)),
                    T.minus(Duration.ofDays(2)), "home", new byte[0]);
            store.upsertVerdict(open);
            store.upsertVerdict(recent);
            store.upsertVerdict(old);

            assertThat(store.verdicts(false, null)).containsExactly(open);
            assertThat(store.verdicts(true, T.minus(Duration.ofDays(1)))).containsExactly(recent, open);
            assertThat(store.verdicts(true, null)).containsExactly(old, recent, open);

            VerdictRow closed = new VerdictRow("v-1", "LOCAL_PATH_BLOCK", "CLOSED", T, T.plusSeconds(30),
                    "idc", new byte[] {9});
            store.upsertVerdict(closed);
            assertThat(store.verdicts(false, null)).isEmpty();
            assertThat(store.verdicts(true, T)).containsExactly(closed);
        }
    }

    @Test
    void retentionJobRollsUpThenPurges() {
        Instant now = Instant.parse("2026-11-22T12:20:00Z");
        try (Store store = Store.openH2(dir)) {
            store.ingest("idc-1", "i", List.of(ok(1, "a", now.minus(Duration.ofDays(8))),
                    ok(2, "a", now.minus(Duration.ofHours(1))), ok(3, "a", now)), now, 0);
            RetentionJob.Settings settings = new RetentionJob.Settings(Duration.ofDays(7),
                    Duration.ofMinutes(5), Duration.ofMinutes(10));
            try (RetentionJob job = new RetentionJob(store,
                    java.time.Clock.fixed(now, java.time.ZoneOffset.UTC), settings)) {
                assertThat(job.runOnce()).isEqualTo(new RetentionJob.RunResult(2, 1));
                assertThat(job.runOnce()).isEqualTo(new RetentionJob.RunResult(0, 0));
            }
            // The 8-day-old hour was rolled up before its raw rows were purged.
            assertThat(store.rollups("a", now.minus(Duration.ofDays(9)), now)).hasSize(2);
            assertThat(store.countResults()).isEqualTo(2);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void concurrentWritersAndReadersSeeConsistentCommittedData() throws Exception {
        try (Store store = Store.openH2(dir)) {
            int agents = 4;
            int rounds = 50;
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(agents + 1);
            try {
                List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
                for (int a = 0; a < agents; a++) {
                    String name = "agent-" + a;
                    futures.add(pool.submit(() -> {
                        for (int r = 0; r < rounds; r++) {
                            long seq = r * 10L;
                            List<ProbeResult> batch = new ArrayList<>();
                            for (int i = 1; i <= 10; i++) {
                                batch.add(ok(seq + i, "c" + i, T.plusSeconds(seq + i)));
                            }
                            assertThat(store.ingest(name, "i", batch, T, 0).ackedUpTo()).isEqualTo(seq + 10);
                        }
                        return null;
                    }));
                }
                futures.add(pool.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        List<LatestRow> cells = latest(store);
                        assertThat(cells.size()).isLessThanOrEqualTo(agents * 10);
                        assertThat(store.countResults()).isLessThanOrEqualTo((long) agents * rounds * 10);
                    }
                    return null;
                }));
                for (java.util.concurrent.Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(store.countResults()).isEqualTo((long) agents * rounds * 10);
            assertThat(latest(store)).hasSize(agents * 10)
                    .allSatisfy(l -> assertThat(l.correctedAt()).isAfter(T.plusSeconds((rounds - 1) * 10L)));
        }
    }

    @Test
    void retentionSettingsRejectAWindowTooShortToRollUp() {
        assertThatThrownBy(() -> new RetentionJob.Settings(Duration.ofMinutes(30), Duration.ofMinutes(5),
                Duration.ofMinutes(10)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("retention PT30M is too short");
    }
}
