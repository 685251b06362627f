package dev.probemesh.coordinator.store;

import static dev.probemesh.coordinator.store.SqlDialect.Type.BIGINT;
import static dev.probemesh.coordinator.store.SqlDialect.Type.BINARY;
import static dev.probemesh.coordinator.store.SqlDialect.Type.DOUBLE;
import static dev.probemesh.coordinator.store.SqlDialect.Type.VARCHAR;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.coordinator.store.SqlDialect.Col;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.Status;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcConnectionPool;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's store: agents, checks with revisions, results (raw, latest, hourly rollups)
 * and verdict history, on embedded H2 by default.
 *
 * <p>Writes go through one long-lived writer connection guarded by a lock: the embedded database
 * has a single writer at heart, so funnelling writes keeps transactions short and lets
 * {@link #ingestMany} group-commit many agents' batches. Reads use pooled connections and see
 * committed data only (MVCC), so they never wait for the writer. Every method is thread-safe.
 *
 * <p>Failures to reach or update the database surface as {@link StoreException}; nothing of the
 * failed call is committed.
 */
public final class Store implements AutoCloseable {
    private static final org.slf4j.Logger log = LoggerFactory.getLogger(Store.class);

    static final int NAME_MAX = 128;
    static final int FAILURE_MAX = 64;
    static final int DETAIL_MAX = 512;
    static final int ATTRIBUTES_MAX = 8192;
    static final int FAILURES_TEXT_MAX = 4096;
    private static final int FETCH_SIZE = 1000;
    private static final int PURGE_CHUNK = 10_000;
    private static final long HOUR_MS = Duration.ofHours(1).toMillis();
    private static final long MINUTE_MS = 60_000;
    /** result_id = minute of corrected time << COUNTER_BITS | counter; see V1__store.sql. */
    static final int COUNTER_BITS = 37;
    private static final long COUNTER_MASK = (1L << COUNTER_BITS) - 1;
    private static final long MAX_MINUTE = (1L << (63 - COUNTER_BITS)) - 1;

    private final SqlDialect dialect;
    private final DataSource dataSource;
    private final AutoCloseable disposer;
    private final Clock clock;
    private final Connection writer;
    /**
     * The matrix's cells in memory: every (agent, check)'s latest result, as latest_result holds
     * it. Loaded from the database on the first matrix read (once, under the write lock), then
     * kept in step by every write that changes latest_result, after its commit. Null until then.
     * Serving the matrix from here spares 200,000 point lookups into the raw results per query.
     */
    private volatile java.util.concurrent.ConcurrentHashMap<LatestKey, LatestRow> latestCells;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Next result_id counter; guarded by writeLock, persisted in every ingest transaction. */
    private long resultCounter;
    /**
     * (agent, check) to result_series.series_id, for every series in the database; guarded by
     * writeLock. Only committed series are here, so a rolled-back ingest leaves no stale id.
     */
    private final Map<LatestKey, Long> seriesIds = new HashMap<>();
    private long lastSeriesId;
    /**
     * Committed results newer than what latest_result holds for their series: series id to
     * {corrected time, result id}; guarded by writeLock. latest_result used to take one update per
     * ingested result, which rewrote most of its pages on every commit (a fleet touches every
     * series every round), a large share of the writer's cost; now each series is written once per
     * flush. Flushed inside an ingest transaction at most every {@link #LATEST_FLUSH_NANOS}, and
     * before anything reads or deletes latest rows; a crash between flushes is repaired at open
     * from the raw rows past latest_flushed_counter (see {@link #replayUnflushedLatest}).
     */
    private final Map<Long, long[]> pendingLatest = new HashMap<>();
    private long lastLatestFlush = System.nanoTime();
    /** The result counter latest_result is flushed up to (latest_flushed_counter); under writeLock. */
    private long latestFlushedCounter;
    static final long LATEST_FLUSH_NANOS = TimeUnit.SECONDS.toNanos(2);
    private volatile long latestFlushNanos = LATEST_FLUSH_NANOS;
    private final String mergeAgentSql;
    private final String mergeLatestSql;
    private final String mergeHwmSql;
    private final String mergeRollupSql;
    private final String mergeVerdictSql;

    /** Opens (creating if needed) the embedded store in {@code dataDir}. */
    public static Store openH2(Path dataDir) {
        return openH2(dataDir, Clock.systemUTC());
    }

    public static Store openH2(Path dataDir, Clock clock) {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new StoreException("cannot create the data directory " + dataDir, e);
        }
        return open(h2Url(dataDir), "sa", "", clock);
    }

    /**
     * The JDBC URL of the embedded store in {@code dataDir}. The coordinator is the only process
     * using the file (AUTO_SERVER off); it closes the database itself on shutdown (not H2's own
     * shutdown hook, which could close it under in-flight writes); WRITE_DELAY=0 makes every
     * commit reach the file before it returns, because results are acked to agents right after.
     */
    public static String h2Url(Path dataDir) {
        return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("probemesh")
                + ";DB_CLOSE_ON_EXIT=FALSE;AUTO_SERVER=FALSE;WRITE_DELAY=0";
    }

    public static Store open(String jdbcUrl, String user, String password) {
        return open(jdbcUrl, user, password, Clock.systemUTC());
    }

    /** Opens the store at {@code jdbcUrl} and runs the migrations in classpath:db/migration. */
    public static Store open(String jdbcUrl, String user, String password, Clock clock) {
        SqlDialect dialect = SqlDialect.forUrl(jdbcUrl);
        DataSource ds;
        AutoCloseable disposer;
        if (dialect == SqlDialect.H2) {
            JdbcConnectionPool pool = JdbcConnectionPool.create(jdbcUrl, user, password);
            pool.setMaxConnections(16);
            ds = pool;
            disposer = pool::dispose;
        } else {
            ds = new DriverManagerDataSource(jdbcUrl, user, password);
            disposer = () -> { };
        }
        try {
            return new Store(dialect, ds, disposer, clock);
        } catch (RuntimeException e) {
            closeQuietly(disposer);
            throw e;
        }
    }

    private Store(SqlDialect dialect, DataSource dataSource, AutoCloseable disposer, Clock clock) {
        this.dialect = dialect;
        this.dataSource = dataSource;
        this.disposer = disposer;
        this.clock = Objects.requireNonNull(clock, "clock");
        try {
            Flyway.configure().dataSource(dataSource).locations("classpath:db/migration")
                    .load().migrate();
        } catch (RuntimeException e) {
            throw new StoreException("schema migration failed: " + e.getMessage(), e);
        }
        try {
            this.writer = dataSource.getConnection();
            writer.setAutoCommit(false);
            try (PreparedStatement ps = writer.prepareStatement(
                    "SELECT meta_value FROM store_meta WHERE meta_key = 'result_counter'");
                 ResultSet rs = ps.executeQuery()) {
                resultCounter = rs.next() ? rs.getLong(1) : 0;
            }
            try (PreparedStatement ps = writer.prepareStatement(
                    "SELECT series_id, agent_name, check_id FROM result_series")) {
                ps.setFetchSize(FETCH_SIZE);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        seriesIds.put(new LatestKey(rs.getString(2), rs.getString(3)), id);
                        lastSeriesId = Math.max(lastSeriesId, id);
                    }
                }
            }
            writer.commit();
        } catch (SQLException e) {
            throw new StoreException("cannot open the writer connection", e);
        }
        // The merge needs mergeLatestSql, built below; the replay runs at the end.

        List<Col> agentCols = List.of(new Col("agent_name", VARCHAR), new Col("site", VARCHAR),
                new Col("labels_json", VARCHAR), new Col("version", VARCHAR),
                new Col("capabilities", BINARY), new Col("first_seen_ms", BIGINT),
                new Col("last_seen_ms", BIGINT), new Col("clock_skew_ms", BIGINT));
        // An agent's first sighting is kept when it is upserted again.
        mergeAgentSql = dialect.merge("agent", agentCols, List.of("agent_name"),
                "site = s.site, labels_json = s.labels_json, version = s.version, "
                        + "capabilities = s.capabilities, "
                        + "first_seen_ms = LEAST(t.first_seen_ms, s.first_seen_ms), "
                        + "last_seen_ms = s.last_seen_ms, clock_skew_ms = s.clock_skew_ms",
                null);

        List<Col> latestCols = List.of(new Col("series_id", BIGINT),
                new Col("corrected_at_ms", BIGINT), new Col("result_id", BIGINT));
        List<String> latestKeys = List.of("series_id");
        // A late (replayed) result never overwrites a fresher one.
        mergeLatestSql = dialect.merge("latest_result", latestCols, latestKeys,
                SqlDialect.setAllBut(latestCols, latestKeys), "s.corrected_at_ms > t.corrected_at_ms");

        List<Col> hwmCols = List.of(new Col("agent_name", VARCHAR), new Col("incarnation", VARCHAR),
                new Col("high_water_seq", BIGINT), new Col("updated_at_ms", BIGINT));
        List<String> hwmKeys = List.of("agent_name", "incarnation");
        mergeHwmSql = dialect.merge("ingest_hwm", hwmCols, hwmKeys,
                SqlDialect.setAllBut(hwmCols, hwmKeys), null);

        List<Col> rollupCols = List.of(new Col("check_id", VARCHAR), new Col("hour_start_ms", BIGINT),
                new Col("agent_name", VARCHAR), new Col("result_count", BIGINT),
                new Col("ok_count", BIGINT), new Col("failures", VARCHAR),
                new Col("latency_samples", BIGINT), new Col("latency_p50_ms", DOUBLE),
                new Col("latency_p90_ms", DOUBLE), new Col("latency_p99_ms", DOUBLE),
                new Col("latency_max_ms", DOUBLE));
        List<String> rollupKeys = List.of("check_id", "hour_start_ms", "agent_name");
        mergeRollupSql = dialect.merge("result_rollup", rollupCols, rollupKeys,
                SqlDialect.setAllBut(rollupCols, rollupKeys), null);

        List<Col> verdictCols = List.of(new Col("verdict_id", VARCHAR), new Col("kind", VARCHAR),
                new Col("state", VARCHAR), new Col("opened_at_ms", BIGINT),
                new Col("closed_at_ms", BIGINT), new Col("site", VARCHAR),
                new Col("payload", BINARY), new Col("updated_at_ms", BIGINT));
        List<String> verdictKeys = List.of("verdict_id");
        mergeVerdictSql = dialect.merge("verdict", verdictCols, verdictKeys,
                SqlDialect.setAllBut(verdictCols, verdictKeys), null);
        try {
            replayUnflushedLatest();
        } catch (SQLException e) {
            rollbackQuietly();
            closeQuietly(writer);
            throw new StoreException("cannot bring latest_result up to date: " + e.getMessage(), e);
        }
    }

    /**
     * Brings latest_result up to date with the raw rows committed after its last flush (the
     * coordinator stopped between flushes, e.g. killed). Those rows have a counter at or past
     * latest_flushed_counter; within each corrected minute the counter orders the ids, so they
     * are one primary-key range per minute, and the minutes present are found by skipping from
     * one to the next. A clean close flushes, and then there is nothing to replay.
     */
    private void replayUnflushedLatest() throws SQLException {
        long flushed;
        try (PreparedStatement ps = writer.prepareStatement(
                "SELECT meta_value FROM store_meta WHERE meta_key = 'latest_flushed_counter'");
             ResultSet rs = ps.executeQuery()) {
            flushed = rs.next() ? rs.getLong(1) : 0;
        }
        latestFlushedCounter = flushed;
        if (flushed == resultCounter) {
            return;
        }
        // Counter ranges [from, to) within a minute; the counter wraps at 2^37.
        long lo = flushed & COUNTER_MASK;
        long hi = resultCounter & COUNTER_MASK;
        List<long[]> ranges = resultCounter - flushed > COUNTER_MASK || resultCounter < flushed
                ? List.of(new long[] {0, COUNTER_MASK + 1})
                : lo <= hi ? List.of(new long[] {lo, hi})
                : List.of(new long[] {lo, COUNTER_MASK + 1}, new long[] {0, hi});
        Map<LatestKey, long[]> newest = new HashMap<>();
        int rows = 0;
        try (PreparedStatement next = writer.prepareStatement("SELECT result_id FROM probe_result "
                + "WHERE result_id >= ? ORDER BY result_id FETCH FIRST 1 ROWS ONLY");
             PreparedStatement range = writer.prepareStatement("SELECT agent_name, check_id, "
                     + "corrected_at_ms, result_id FROM probe_result WHERE result_id >= ? AND result_id < ?")) {
            range.setFetchSize(FETCH_SIZE);
            long from = 0;
            while (true) {
                next.setLong(1, from);
                long minute;
                try (ResultSet rs = next.executeQuery()) {
                    if (!rs.next()) {
                        break;
                    }
                    minute = rs.getLong(1) >>> COUNTER_BITS;
                }
                for (long[] r : ranges) {
                    range.setLong(1, (minute << COUNTER_BITS) | r[0]);
                    range.setLong(2, (minute << COUNTER_BITS) + r[1]);
                    try (ResultSet rs = range.executeQuery()) {
                        while (rs.next()) {
                            rows++;
                            long[] v = {rs.getLong(3), rs.getLong(4)};
                            newest.merge(new LatestKey(rs.getString(1), rs.getString(2)), v,
                                    (a, b) -> b[0] > a[0] ? b : a);
                        }
                    }
                }
                if (minute >= MAX_MINUTE) {
                    break;
                }
                from = (minute + 1) << COUNTER_BITS;
            }
        }
        Map<LatestKey, Long> newSeries = new HashMap<>();
        List<long[]> known = new ArrayList<>();
        List<long[]> fresh = new ArrayList<>();
        assignSeries(writer, newest.entrySet().stream().map(e -> Map.entry(e.getKey(), e.getValue()))
                .toList(), newSeries, known, fresh);
        writeLatest(writer, known, fresh);
        saveLatestFlushMark(writer);
        writer.commit();
        latestFlushedCounter = resultCounter;
        seriesIds.putAll(newSeries);
        log.info("latest_result brought up to date from {} raw rows committed after its last flush "
                + "({} series)", rows, newest.size());
    }

    /** For other DAOs (identity, sweeps) sharing this database; their tables come by migration. */
    public DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void close() {
        writeLock.lock();
        try {
            try {
                flushLatest();
            } catch (RuntimeException e) {
                log.warn("flushing latest results at close failed; the next open replays them: {}", e.toString());
            }
            try {
                writer.rollback();
                writer.close();
            } catch (SQLException e) {
                log.warn("closing the writer connection failed: {}", e.toString());
            }
            closeQuietly(disposer);
        } finally {
            writeLock.unlock();
        }
    }

    // ---------------------------------------------------------------- agents

    public void upsertAgent(AgentRow a) {
        Objects.requireNonNull(a, "agent");
        requireName("agent name", a.name());
        write("upsert agent " + a.name(), c -> {
            try (PreparedStatement ps = c.prepareStatement(mergeAgentSql)) {
                ps.setString(1, a.name());
                ps.setString(2, bounded(a.site(), NAME_MAX));
                ps.setString(3, StringMapJson.encodeBounded(a.labels(), 8192));
                ps.setString(4, bounded(a.version(), NAME_MAX));
                ps.setBytes(5, a.capabilities());
                ps.setLong(6, a.firstSeen().toEpochMilli());
                ps.setLong(7, a.lastSeen().toEpochMilli());
                ps.setLong(8, a.clockSkewMs());
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Records that the agent was heard from; a no-op for an unknown agent. */
    public void touchAgent(String name, Instant lastSeen, long clockSkewMs) {
        write("touch agent " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE agent SET last_seen_ms = ?, clock_skew_ms = ? WHERE agent_name = ?")) {
                ps.setLong(1, lastSeen.toEpochMilli());
                ps.setLong(2, clockSkewMs);
                ps.setString(3, name);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** An agent heard from at {@code lastSeen}, for {@link #touchAgents}. */
    public record Touch(String name, Instant lastSeen, long clockSkewMs) {
        public Touch {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(lastSeen, "lastSeen");
        }
    }

    /**
     * {@link #touchAgent} for many agents in one transaction: the coordinator records its
     * connected agents' heartbeats this way every few seconds instead of one commit per heartbeat
     * (1,000 agents at a 10 s heartbeat would otherwise be 100 commits a second on the writer).
     */
    public void touchAgents(List<Touch> touches) {
        if (touches.isEmpty()) {
            return;
        }
        write("touch " + touches.size() + " agents", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE agent SET last_seen_ms = ?, clock_skew_ms = ? WHERE agent_name = ?")) {
                for (Touch t : touches) {
                    ps.setLong(1, t.lastSeen().toEpochMilli());
                    ps.setLong(2, t.clockSkewMs());
                    ps.setString(3, t.name());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    private static final String AGENT_COLUMNS = "agent_name, site, labels_json, version, "
            + "capabilities, first_seen_ms, last_seen_ms, clock_skew_ms";

    public List<AgentRow> agents() {
        return read("list agents", c -> {
            List<AgentRow> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + AGENT_COLUMNS + " FROM agent ORDER BY agent_name");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(agentRow(rs));
                }
            }
            return out;
        });
    }

    public Optional<AgentRow> agent(String name) {
        return read("read agent " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + AGENT_COLUMNS + " FROM agent WHERE agent_name = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(agentRow(rs)) : Optional.empty();
                }
            }
        });
    }

    /**
     * Forgets an agent and its matrix row. Its raw results and rollups stay (history), and so do
     * its high-water marks, so a replay from an old incarnation is still recognised.
     */
    public boolean deleteAgent(String name) {
        writeLock.lock();
        try {
            flushLatest(); // then the DELETE below removes the agent's pending rows too
            return deleteAgentLocked(name);
        } finally {
            writeLock.unlock();
        }
    }

    private boolean deleteAgentLocked(String name) {
        boolean deleted = write("delete agent " + name, c -> {
            try (PreparedStatement latest = c.prepareStatement("DELETE FROM latest_result "
                    + "WHERE series_id IN (SELECT series_id FROM result_series WHERE agent_name = ?)");
                 PreparedStatement agent = c.prepareStatement(
                         "DELETE FROM agent WHERE agent_name = ?")) {
                latest.setString(1, name);
                latest.executeUpdate();
                agent.setString(1, name);
                return agent.executeUpdate() > 0;
            }
        });
        var cells = latestCells;
        if (cells != null) {
            cells.keySet().removeIf(k -> k.agent().equals(name));
        }
        return deleted;
    }

    private static AgentRow agentRow(ResultSet rs) throws SQLException {
        byte[] caps = rs.getBytes(5);
        return new AgentRow(rs.getString(1), rs.getString(2), StringMapJson.decode(rs.getString(3)),
                rs.getString(4), caps, Instant.ofEpochMilli(rs.getLong(6)),
                Instant.ofEpochMilli(rs.getLong(7)), rs.getLong(8));
    }

    // ---------------------------------------------------------------- checks

    private record StoredCheck(int revision, Check spec, boolean deleted) {
    }

    /**
     * Creates or updates the given checks (and with {@code prune}, deletes every live check not
     * among them) in one transaction. A check whose spec (everything but its revision) differs
     * from the stored one gets the next revision; a new id gets revision 1; an id deleted earlier
     * continues its old revision count, so a revision never names two different specs.
     *
     * @throws IllegalArgumentException when an id is empty, too long or given twice
     */
    public ApplyOutcome applyChecks(List<Check> checks, boolean prune) {
        Set<String> seen = new HashSet<>();
        for (Check ch : checks) {
            requireName("check id", ch.getId());
            if (!seen.add(ch.getId())) {
                throw new IllegalArgumentException("check id " + ch.getId()
                        + " appears twice in one apply: give each check a unique id");
            }
        }
        return write("apply checks", c -> {
            Map<String, StoredCheck> stored = loadChecks(c);
            List<String> created = new ArrayList<>();
            List<String> updated = new ArrayList<>();
            List<String> unchanged = new ArrayList<>();
            List<String> deleted = new ArrayList<>();
            long now = clock.millis();
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO check_def "
                    + "(check_id, revision, spec, deleted, updated_at_ms) VALUES (?, ?, ?, FALSE, ?)");
                 PreparedStatement upd = c.prepareStatement("UPDATE check_def SET revision = ?, "
                         + "spec = ?, deleted = FALSE, updated_at_ms = ? WHERE check_id = ?")) {
                for (Check ch : checks) {
                    Check spec = ch.toBuilder().clearRevision().build();
                    StoredCheck old = stored.get(ch.getId());
                    if (old == null) {
                        ins.setString(1, ch.getId());
                        ins.setInt(2, 1);
                        ins.setBytes(3, spec.toByteArray());
                        ins.setLong(4, now);
                        ins.executeUpdate();
                        created.add(ch.getId());
                    } else if (!old.deleted() && old.spec().equals(spec)) {
                        unchanged.add(ch.getId());
                    } else {
                        upd.setInt(1, old.revision() + 1);
                        upd.setBytes(2, spec.toByteArray());
                        upd.setLong(3, now);
                        upd.setString(4, ch.getId());
                        upd.executeUpdate();
                        (old.deleted() ? created : updated).add(ch.getId());
                    }
                }
            }
            if (prune) {
                for (Map.Entry<String, StoredCheck> e : stored.entrySet()) {
                    if (!e.getValue().deleted() && !seen.contains(e.getKey())
                            && markDeleted(c, e.getKey(), now)) {
                        deleted.add(e.getKey());
                    }
                }
            }
            ApplyOutcome outcome = new ApplyOutcome(created, updated, unchanged, deleted);
            if (outcome.changed()) {
                bumpChecksVersion(c);
            }
            return outcome;
        });
    }

    /** The live checks, ordered by id, each with its current revision set. */
    public List<Check> checks() {
        return read("list checks", c -> {
            List<Check> out = new ArrayList<>();
            for (Map.Entry<String, StoredCheck> e : loadChecks(c).entrySet()) {
                if (!e.getValue().deleted()) {
                    out.add(e.getValue().spec().toBuilder().setRevision(e.getValue().revision()).build());
                }
            }
            return out;
        });
    }

    public Optional<Check> check(String id) {
        return read("read check " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT revision, spec FROM check_def WHERE check_id = ? AND deleted = FALSE")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    return Optional.of(parseCheck(id, rs.getBytes(2)).toBuilder()
                            .setRevision(rs.getInt(1)).build());
                }
            }
        });
    }

    /** Deletes a live check (kept as a tombstone for its revision count). */
    public boolean deleteCheck(String id) {
        return write("delete check " + id, c -> {
            boolean deleted = markDeleted(c, id, clock.millis());
            if (deleted) {
                bumpChecksVersion(c);
            }
            return deleted;
        });
    }

    /** A counter bumped by every change to the checks; persisted, so it only ever grows. */
    public long checksVersion() {
        return read("read checks version", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT meta_value FROM store_meta WHERE meta_key = 'checks_version'");
                 ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0L;
            }
        });
    }

    private static Map<String, StoredCheck> loadChecks(Connection c) throws SQLException {
        Map<String, StoredCheck> out = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT check_id, revision, spec, deleted FROM check_def");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String id = rs.getString(1);
                out.put(id, new StoredCheck(rs.getInt(2), parseCheck(id, rs.getBytes(3)),
                        rs.getBoolean(4)));
            }
        }
        return out;
    }

    private static Check parseCheck(String id, byte[] bytes) throws SQLException {
        try {
            return Check.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new SQLException("stored spec of check " + id + " is corrupt", e);
        }
    }

    private static boolean markDeleted(Connection c, String id, long now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE check_def SET deleted = TRUE, "
                + "updated_at_ms = ? WHERE check_id = ? AND deleted = FALSE")) {
            ps.setLong(1, now);
            ps.setString(2, id);
            return ps.executeUpdate() > 0;
        }
    }

    private static void bumpChecksVersion(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE store_meta "
                + "SET meta_value = meta_value + 1 WHERE meta_key = 'checks_version'")) {
            ps.executeUpdate();
        }
    }

    // ---------------------------------------------------------------- ingest

    /** One agent's batch; see {@link #ingestMany}. */
    public IngestOutcome ingest(String agent, String incarnation, List<ProbeResult> results,
                                Instant receivedAt, long clockSkewMs) {
        return ingestMany(List.of(new IngestBatch(agent, incarnation, results, receivedAt,
                clockSkewMs))).get(0);
    }

    private record HwmKey(String agent, String incarnation) {
    }

    private record LatestKey(String agent, String checkId) {
        /**
         * The record's default (31 * agent + check) makes "agent-12"/"check-7" style names collide
         * by the thousand; the maps holding every series then degrade into tree bins searched in
         * full (the key is not Comparable). A multiplicative mix spreads them.
         */
        @Override
        public int hashCode() {
            int h = agent.hashCode() * 0x9E3779B9 + checkId.hashCode();
            return h ^ (h >>> 16);
        }
    }

    /** A validated result ready to insert. */
    private record Row(long resultId, String agent, String incarnation, long seq, String checkId, int revision,
                       long observedAt, long correctedAt, long receivedAt, String status,
                       String failure, String detail, long latencyUs, String address,
                       String family, String attributes, String sweepId) {
    }

    /**
     * Stores several batches (typically from many agents) in one transaction and returns one
     * outcome per batch, in order. Idempotent on (agent, incarnation, seq): a result at or below
     * its incarnation's high-water mark is a duplicate and skipped. A malformed result is
     * rejected with a reason without affecting its neighbours; its seq still counts as handled
     * (acked), since retrying it cannot help. The commit happens before this returns, so the
     * caller may ack {@link IngestOutcome#ackedUpTo()} right away.
     *
     * <p>Results for a check id the store does not know are stored, not rejected: they may come
     * from a check deleted a moment ago, or from an ad-hoc sweep check that is never applied.
     *
     * <p>A batch with an empty agent name or incarnation is rejected whole (ackedUpTo 0).
     */
    public List<IngestOutcome> ingestMany(List<IngestBatch> batches) {
        if (batches.isEmpty()) {
            return List.of();
        }
        writeLock.lock();
        try {
            Map<LatestKey, Long> newSeries = new HashMap<>();
            Map<LatestKey, Row> committedLatest = new HashMap<>();
            List<long[]> deferred = new ArrayList<>();
            boolean flush = System.nanoTime() - lastLatestFlush >= latestFlushNanos;
            List<IngestOutcome> outcomes = ingestInTransaction(batches, newSeries, committedLatest,
                    deferred, flush);
            seriesIds.putAll(newSeries); // committed: publish the new series ids
            if (flush) {
                pendingLatest.clear();
                latestFlushedCounter = resultCounter;
                lastLatestFlush = System.nanoTime();
            } else {
                for (long[] v : deferred) {
                    pendingLatest.merge(v[0], new long[] {v[1], v[2]}, (a, b) -> b[0] > a[0] ? b : a);
                }
            }
            var cells = latestCells;
            if (cells != null) {
                // The same rule as the conditional update: the newest corrected time wins.
                for (Map.Entry<LatestKey, Row> e : committedLatest.entrySet()) {
                    Row r = e.getValue();
                    cells.merge(e.getKey(), latestRow(r), (old, n) -> n.correctedAt().isAfter(old.correctedAt()) ? n : old);
                }
            }
            return outcomes;
        } finally {
            writeLock.unlock();
        }
    }

    private static LatestRow latestRow(Row r) {
        return new LatestRow(r.agent(), r.checkId(), r.revision(), ProbeStatus.valueOf(r.status()), r.failure(),
                r.detail(), r.latencyUs() / 1000.0, Instant.ofEpochMilli(r.correctedAt()),
                Instant.ofEpochMilli(r.receivedAt()), Map.of());
    }

    /**
     * The ingest transaction. New series get their latest row at once; known ones go to
     * {@code deferred} as {series id, corrected time, result id}, or, when {@code flush}, are
     * written together with every pending one (and the flush mark) in this transaction.
     */
    private List<IngestOutcome> ingestInTransaction(List<IngestBatch> batches,
                                                    Map<LatestKey, Long> newSeries,
                                                    Map<LatestKey, Row> committedLatest,
                                                    List<long[]> deferred, boolean flush) {
        return write("ingest", c -> {
            List<IngestOutcome> outcomes = new ArrayList<>(batches.size());
            Map<HwmKey, Long> marks = new HashMap<>();
            Map<HwmKey, Long> advanced = new LinkedHashMap<>();
            Map<LatestKey, Row> latest = new HashMap<>();
            int toInsert = 0;
            try (PreparedStatement selHwm = c.prepareStatement("SELECT high_water_seq "
                    + "FROM ingest_hwm WHERE agent_name = ? AND incarnation = ?");
                 PreparedStatement ins = c.prepareStatement("INSERT INTO probe_result "
                         + "(result_id, agent_name, incarnation, seq, check_id, check_revision, "
                         + "observed_at_ms, corrected_at_ms, received_at_ms, status, failure, "
                         + "detail, latency_us, address, family, attributes_json, sweep_id) "
                         + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (IngestBatch b : batches) {
                    String batchProblem = batchProblem(b);
                    if (batchProblem != null) {
                        List<Rejected> rejected = new ArrayList<>();
                        for (ProbeResult r : b.results()) {
                            rejected.add(new Rejected(r.getSeq(), batchProblem));
                        }
                        outcomes.add(new IngestOutcome(0, rejected, 0, 0));
                        continue;
                    }
                    HwmKey key = new HwmKey(b.agent(), b.incarnation());
                    Long known = marks.get(key);
                    long start = known != null ? known : readHwm(selHwm, key);
                    long running = start;
                    int inserted = 0;
                    int duplicates = 0;
                    List<Rejected> rejected = new ArrayList<>();
                    long receivedAt = b.receivedAt().toEpochMilli();
                    for (ProbeResult r : b.results()) {
                        long seq = r.getSeq();
                        if (seq == 0) {
                            rejected.add(new Rejected(0, "seq is 0: seqs start at 1"));
                            continue;
                        }
                        if (seq < 0) {
                            rejected.add(new Rejected(seq, "seq beyond 2^63-1"));
                            continue;
                        }
                        if (seq <= running) {
                            duplicates++;
                            continue;
                        }
                        running = seq;
                        String problem = resultProblem(r);
                        if (problem != null) {
                            rejected.add(new Rejected(seq, problem));
                            continue;
                        }
                        Row row = toRow(nextResultId(r.getObservedAtMs() - b.clockSkewMs()), b, r,
                                receivedAt);
                        bindRow(ins, row);
                        ins.addBatch();
                        inserted++;
                        latest.merge(new LatestKey(row.agent(), row.checkId()), row,
                                (a, n) -> n.correctedAt() > a.correctedAt() ? n : a);
                    }
                    toInsert += inserted;
                    marks.put(key, running);
                    if (running > start || advanced.containsKey(key)) {
                        advanced.put(key, running);
                    }
                    outcomes.add(new IngestOutcome(running, rejected, inserted, duplicates));
                }
                if (toInsert > 0) {
                    ins.executeBatch();
                }
            }
            List<long[]> fresh = new ArrayList<>();
            if (!latest.isEmpty()) {
                assignSeries(c, latest.entrySet().stream()
                        .map(e -> Map.entry(e.getKey(), new long[] {e.getValue().correctedAt(), e.getValue().resultId()}))
                        .toList(), newSeries, deferred, fresh);
                committedLatest.putAll(latest);
            }
            if (flush) {
                writeLatest(c, withPending(deferred), fresh);
                saveLatestFlushMark(c);
            } else {
                writeLatest(c, List.of(), fresh);
            }
            if (toInsert > 0) {
                saveResultCounter(c);
            }
            if (!advanced.isEmpty()) {
                long now = clock.millis();
                try (PreparedStatement ps = c.prepareStatement(mergeHwmSql)) {
                    for (Map.Entry<HwmKey, Long> e : advanced.entrySet()) {
                        ps.setString(1, e.getKey().agent());
                        ps.setString(2, e.getKey().incarnation());
                        ps.setLong(3, e.getValue());
                        ps.setLong(4, now);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
            return outcomes;
        });
    }

    /**
     * Splits (agent, check) to {corrected time, result id} into known series ({@code known}) and
     * new ones, which get their id and result_series row now ({@code fresh}, {@code newSeries});
     * both as {series id, corrected time, result id}.
     */
    private void assignSeries(Connection c, List<Map.Entry<LatestKey, long[]>> latest,
                              Map<LatestKey, Long> newSeries, List<long[]> known,
                              List<long[]> fresh) throws SQLException {
        try (PreparedStatement insSeries = c.prepareStatement("INSERT INTO result_series "
                + "(series_id, agent_name, check_id) VALUES (?, ?, ?)")) {
            for (Map.Entry<LatestKey, long[]> e : latest) {
                long[] v = e.getValue();
                Long id = seriesIds.get(e.getKey());
                if (id == null) {
                    id = newSeries.get(e.getKey());
                }
                if (id == null) {
                    id = ++lastSeriesId;
                    newSeries.put(e.getKey(), id);
                    insSeries.setLong(1, id);
                    insSeries.setString(2, e.getKey().agent());
                    insSeries.setString(3, e.getKey().checkId());
                    insSeries.addBatch();
                    fresh.add(new long[] {id, v[0], v[1]});
                } else {
                    known.add(new long[] {id, v[0], v[1]});
                }
            }
            if (!fresh.isEmpty()) {
                insSeries.executeBatch();
            }
        }
    }

    /** {@code deferred} merged with every pending series (newest corrected time wins). */
    private List<long[]> withPending(List<long[]> deferred) {
        Map<Long, long[]> all = new HashMap<>(pendingLatest);
        for (long[] v : deferred) {
            all.merge(v[0], new long[] {v[1], v[2]}, (a, b) -> b[0] > a[0] ? b : a);
        }
        List<long[]> out = new ArrayList<>(all.size());
        all.forEach((id, v) -> out.add(new long[] {id, v[0], v[1]}));
        return out;
    }

    /**
     * Points series at their newest row, {series id, corrected time, result id} each. Known
     * series take a conditional UPDATE (one primary-key update each); new series an INSERT; an
     * update that matched nothing (the latest row was purged, or a fresher one exists) falls back
     * to the conditional MERGE.
     */
    private void writeLatest(Connection c, List<long[]> updates, List<long[]> inserts) throws SQLException {
        if (!inserts.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO latest_result "
                    + "(series_id, corrected_at_ms, result_id) VALUES (?, ?, ?)")) {
                for (long[] v : inserts) {
                    bindLatest(ps, v);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (updates.isEmpty()) {
            return;
        }
        // In key order: neighbouring updates share B-tree pages.
        List<long[]> sorted = new ArrayList<>(updates);
        sorted.sort(java.util.Comparator.comparingLong(v -> v[0]));
        int[] counts;
        try (PreparedStatement ps = c.prepareStatement("UPDATE latest_result "
                + "SET corrected_at_ms = ?, result_id = ? WHERE series_id = ? AND corrected_at_ms < ?")) {
            for (long[] v : sorted) {
                ps.setLong(1, v[1]);
                ps.setLong(2, v[2]);
                ps.setLong(3, v[0]);
                ps.setLong(4, v[1]);
                ps.addBatch();
            }
            counts = ps.executeBatch();
        }
        List<long[]> missed = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                missed.add(sorted.get(i));
            }
        }
        if (!missed.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(mergeLatestSql)) {
                for (long[] v : missed) {
                    bindLatest(ps, v);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
    }

    /** Records that latest_result reflects every row so far; takes effect with the commit. */
    private void saveLatestFlushMark(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE store_meta SET meta_value = ? WHERE meta_key = 'latest_flushed_counter'")) {
            ps.setLong(1, resultCounter);
            ps.executeUpdate();
        }
    }

    /** For tests and benches: how long latest rows may stay pending (default 2 s). */
    void latestFlushInterval(Duration interval) {
        latestFlushNanos = interval.toNanos();
    }

    /**
     * Writes every pending latest row now, in a transaction of its own. Whatever reads or
     * deletes latest_result calls this first, under the write lock.
     */
    void flushLatest() {
        writeLock.lock();
        try {
            if (pendingLatest.isEmpty() && latestFlushedCounter == resultCounter) {
                return;
            }
            long mark = resultCounter;
            write("flush latest results", c -> {
                writeLatest(c, withPending(List.of()), List.of());
                saveLatestFlushMark(c);
                return null;
            });
            pendingLatest.clear();
            latestFlushedCounter = mark;
            lastLatestFlush = System.nanoTime();
        } finally {
            writeLock.unlock();
        }
    }

    private static void bindLatest(PreparedStatement ps, long[] v) throws SQLException {
        ps.setLong(1, v[0]);
        ps.setLong(2, v[1]);
        ps.setLong(3, v[2]);
    }

    /** The highest committed seq of (agent, incarnation); 0 when none. */
    public long highWaterMark(String agent, String incarnation) {
        return read("read high-water mark", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT high_water_seq "
                    + "FROM ingest_hwm WHERE agent_name = ? AND incarnation = ?")) {
                return readHwm(ps, new HwmKey(agent, incarnation));
            }
        });
    }

    private static long readHwm(PreparedStatement ps, HwmKey key) throws SQLException {
        ps.setString(1, key.agent());
        ps.setString(2, key.incarnation());
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getLong(1) : 0L;
        }
    }

    private static String batchProblem(IngestBatch b) {
        if (b.agent().isEmpty()) {
            return "batch has no agent name";
        }
        if (b.agent().length() > NAME_MAX) {
            return "agent name longer than " + NAME_MAX + " chars";
        }
        if (b.incarnation().isEmpty()) {
            return "batch has no incarnation";
        }
        if (b.incarnation().length() > NAME_MAX) {
            return "incarnation longer than " + NAME_MAX + " chars";
        }
        return null;
    }

    /** Why a result cannot be stored, or null when it can. */
    static String resultProblem(ProbeResult r) {
        if (r.getCheckId().isEmpty()) {
            return "check_id is empty";
        }
        if (r.getCheckId().length() > NAME_MAX) {
            return "check_id longer than " + NAME_MAX + " chars";
        }
        if (r.getStatus() == Status.STATUS_UNSPECIFIED || r.getStatus() == Status.UNRECOGNIZED) {
            return "unknown status " + r.getStatusValue();
        }
        if (r.getObservedAtMs() <= 0) {
            return "observed_at_ms is not set";
        }
        if (r.getFailure().length() > FAILURE_MAX) {
            return "failure code longer than " + FAILURE_MAX + " chars";
        }
        if (r.getAddress().length() > NAME_MAX) {
            return "address longer than " + NAME_MAX + " chars";
        }
        if (r.getSweepId().length() > NAME_MAX) {
            return "sweep_id longer than " + NAME_MAX + " chars";
        }
        if (r.getCheckRevision() < 0) {
            return "check_revision beyond 2^31-1";
        }
        if (r.getTimings().getTotalUs() < 0) {
            return "timings.total_us beyond 2^63-1";
        }
        return null;
    }

    /** The first result_id of the minute holding {@code correctedMs}. */
    static long firstIdOfMinute(long correctedMs) {
        long minute = Math.min(Math.max(Math.floorDiv(correctedMs, MINUTE_MS), 0), MAX_MINUTE);
        return minute << COUNTER_BITS;
    }

    /** The corrected minute a result_id belongs to, as epoch millis. */
    static long minuteOfId(long resultId) {
        return (resultId >>> COUNTER_BITS) * MINUTE_MS;
    }

    /**
     * A new result_id in the minute of {@code correctedMs}. The counter wraps after 2^37
     * results; ids stay unique as long as no minute holds rows that far apart in insertion
     * order, i.e. far longer than any retention window (80 days at 20,000 results/s).
     */
    private long nextResultId(long correctedMs) {
        long id = firstIdOfMinute(correctedMs) | (resultCounter & COUNTER_MASK);
        resultCounter++;
        return id;
    }

    private void saveResultCounter(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE store_meta SET meta_value = ? WHERE meta_key = 'result_counter'")) {
            ps.setLong(1, resultCounter);
            ps.executeUpdate();
        }
    }

    private static Row toRow(long resultId, IngestBatch b, ProbeResult r, long receivedAt) {
        String family = switch (r.getFamily()) {
            case FAMILY_IPV4 -> "ipv4";
            case FAMILY_IPV6 -> "ipv6";
            default -> "any";
        };
        return new Row(resultId, b.agent(), b.incarnation(), r.getSeq(), r.getCheckId(), r.getCheckRevision(),
                r.getObservedAtMs(), r.getObservedAtMs() - b.clockSkewMs(), receivedAt,
                ProbeStatus.fromProto(r.getStatus()).name(),
                r.getFailure().isEmpty() ? null : r.getFailure(), bounded(r.getDetail(), DETAIL_MAX),
                r.getTimings().getTotalUs(), r.getAddress(), family,
                StringMapJson.encodeBounded(r.getAttributesMap(), ATTRIBUTES_MAX),
                r.getSweepId().isEmpty() ? null : r.getSweepId());
    }

    private static void bindRow(PreparedStatement ps, Row r) throws SQLException {
        ps.setLong(1, r.resultId());
        ps.setString(2, r.agent());
        ps.setString(3, r.incarnation());
        ps.setLong(4, r.seq());
        ps.setString(5, r.checkId());
        ps.setInt(6, r.revision());
        ps.setLong(7, r.observedAt());
        ps.setLong(8, r.correctedAt());
        ps.setLong(9, r.receivedAt());
        ps.setString(10, r.status());
        setNullableString(ps, 11, r.failure());
        ps.setString(12, r.detail());
        ps.setLong(13, r.latencyUs());
        ps.setString(14, r.address());
        ps.setString(15, r.family());
        ps.setString(16, r.attributes());
        setNullableString(ps, 17, r.sweepId());
    }

    // ---------------------------------------------------------------- reads

    /**
     * Streams the latest result of every (agent, check), ordered by agent then check. A pair
     * whose newest result is older than the retention window has no row (its cell is MISSING).
     */
    public void forEachLatest(Consumer<LatestRow> sink) {
        flushLatest();
        read("stream latest results", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT s.agent_name, s.check_id, "
                    + "r.check_revision, r.status, r.failure, r.detail, r.latency_us, "
                    + "r.corrected_at_ms, r.received_at_ms, r.attributes_json "
                    + "FROM result_series s JOIN latest_result l ON l.series_id = s.series_id "
                    + "JOIN probe_result r ON r.result_id = l.result_id "
                    + "ORDER BY s.agent_name, s.check_id")) {
                ps.setFetchSize(FETCH_SIZE);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        sink.accept(new LatestRow(rs.getString(1), rs.getString(2), rs.getInt(3),
                                ProbeStatus.valueOf(rs.getString(4)), rs.getString(5),
                                rs.getString(6), rs.getLong(7) / 1000.0,
                                Instant.ofEpochMilli(rs.getLong(8)),
                                Instant.ofEpochMilli(rs.getLong(9)),
                                StringMapJson.decode(rs.getString(10))));
                    }
                }
            }
            return null;
        });
    }

    /**
     * What the matrix needs of every (agent, check)'s latest result, in no particular order and
     * without attributes (empty), served from memory (see {@link #latestCells}); the first call
     * loads it from the database.
     */
    public void forEachLatestCell(Consumer<LatestRow> sink) {
        var cells = latestCells;
        if (cells == null) {
            writeLock.lock(); // no ingest may commit between the load and the publication
            try {
                cells = latestCells;
                if (cells == null) {
                    flushLatest();
                    cells = loadLatestCells();
                    latestCells = cells;
                }
            } finally {
                writeLock.unlock();
            }
        }
        cells.values().forEach(sink);
    }

    private java.util.concurrent.ConcurrentHashMap<LatestKey, LatestRow> loadLatestCells() {
        var cells = new java.util.concurrent.ConcurrentHashMap<LatestKey, LatestRow>();
        read("load latest cells", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT s.agent_name, s.check_id, "
                    + "r.check_revision, r.status, r.failure, r.detail, r.latency_us, "
                    + "r.corrected_at_ms, r.received_at_ms "
                    + "FROM result_series s JOIN latest_result l ON l.series_id = s.series_id "
                    + "JOIN probe_result r ON r.result_id = l.result_id")) {
                ps.setFetchSize(FETCH_SIZE);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        LatestRow row = new LatestRow(rs.getString(1), rs.getString(2), rs.getInt(3),
                                ProbeStatus.valueOf(rs.getString(4)), rs.getString(5),
                                rs.getString(6), rs.getLong(7) / 1000.0,
                                Instant.ofEpochMilli(rs.getLong(8)),
                                Instant.ofEpochMilli(rs.getLong(9)), Map.of());
                        cells.put(new LatestKey(row.agent(), row.checkId()), row);
                    }
                }
            }
            return null;
        });
        return cells;
    }

    /** Raw results with corrected time at or after {@code correctedFrom}; see forEachResultSince. */
    public List<ResultRow> resultsSince(Instant correctedFrom) {
        List<ResultRow> out = new ArrayList<>();
        forEachResultSince(correctedFrom, out::add);
        return out;
    }

    /**
     * Streams raw results with corrected time at or after {@code correctedFrom}, ordered by
     * corrected minute, then by arrival (within a minute, a late replay comes after rows that
     * arrived before it).
     */
    public void forEachResultSince(Instant correctedFrom, Consumer<ResultRow> sink) {
        read("stream results", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT agent_name, check_id, "
                    + "check_revision, status, failure, detail, latency_us, observed_at_ms, "
                    + "corrected_at_ms, received_at_ms, attributes_json, sweep_id, incarnation, "
                    + "seq, address, family FROM probe_result "
                    + "WHERE result_id >= ? AND corrected_at_ms >= ? ORDER BY result_id")) {
                ps.setLong(1, firstIdOfMinute(correctedFrom.toEpochMilli()));
                ps.setLong(2, correctedFrom.toEpochMilli());
                ps.setFetchSize(FETCH_SIZE);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        sink.accept(new ResultRow(rs.getString(1), rs.getString(2), rs.getInt(3),
                                ProbeStatus.valueOf(rs.getString(4)), rs.getString(5),
                                rs.getString(6), rs.getLong(7) / 1000.0,
                                Instant.ofEpochMilli(rs.getLong(8)),
                                Instant.ofEpochMilli(rs.getLong(9)),
                                Instant.ofEpochMilli(rs.getLong(10)),
                                StringMapJson.decode(rs.getString(11)), rs.getString(12),
                                rs.getString(13), rs.getLong(14), rs.getString(15),
                                rs.getString(16)));
                    }
                }
            }
            return null;
        });
    }

    public long countResults() {
        return read("count results", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM probe_result");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    // ---------------------------------------------------------------- retention and rollups

    /**
     * Deletes raw results with corrected time before {@code cutoff}, in chunks of a bounded size,
     * each its own transaction, so ingest keeps flowing between chunks. Returns the rows deleted.
     */
    public int purgeResultsBefore(Instant cutoff) {
        long cut = cutoff.toEpochMilli();
        // Every row before the cutoff's minute, and the rows of that minute before the cutoff.
        long idBound = firstIdOfMinute(cut) + (1L << COUNTER_BITS);
        int total = 0;
        long lower = 0;
        // Chunks are primary-key ranges of PURGE_CHUNK rows (a DELETE ... IN (subquery) would
        // be quadratic): find the chunk's last id, delete the range, move on.
        while (lower < idBound) {
            long from = lower;
            long[] upper = {0};
            int n = write("purge results", c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT result_id FROM probe_result "
                        + "WHERE result_id >= ? AND result_id < ? ORDER BY result_id "
                        + "OFFSET " + (PURGE_CHUNK - 1) + " ROWS FETCH NEXT 1 ROWS ONLY")) {
                    ps.setLong(1, from);
                    ps.setLong(2, idBound);
                    try (ResultSet rs = ps.executeQuery()) {
                        upper[0] = rs.next() ? rs.getLong(1) : idBound - 1;
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM probe_result "
                        + "WHERE result_id >= ? AND result_id <= ? AND corrected_at_ms < ?")) {
                    ps.setLong(1, from);
                    ps.setLong(2, upper[0]);
                    ps.setLong(3, cut);
                    return ps.executeUpdate();
                }
            });
            total += n;
            lower = upper[0] + 1;
        }
        // Matrix cells silent for the whole retention window: their raw rows are gone.
        writeLock.lock();
        try {
            flushLatest(); // no pending row may point at a purged one after the delete
            write("purge latest results", c -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "DELETE FROM latest_result WHERE corrected_at_ms < ?")) {
                    ps.setLong(1, cut);
                    return ps.executeUpdate();
                }
            });
        } finally {
            writeLock.unlock();
        }
        var cells = latestCells;
        if (cells != null) {
            cells.values().removeIf(r -> r.correctedAt().toEpochMilli() < cut);
        }
        return total;
    }

    /**
     * Rolls up every UTC hour that ends at or before {@code cutoff}, has raw results and was not
     * rolled up yet: per (check, agent), the count, the failures by code and the latency
     * percentiles of the successful runs. Each hour is marked done in the transaction that
     * writes its rollups, so running this again (or after a crash) never counts an hour twice.
     * Results arriving for an hour after it was rolled up stay in the raw table only.
     *
     * <p>An hour's raw rows are grouped in memory (8 bytes per successful run), which is what
     * exact percentiles cost. Returns the number of hours rolled up.
     */
    public int rollUpHoursBefore(Instant cutoff) {
        long cut = cutoff.toEpochMilli();
        Set<Long> done = read("read rolled-up hours", c -> {
            Set<Long> s = new HashSet<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT hour_start_ms FROM rollup_hour");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    s.add(rs.getLong(1));
                }
            }
            return s;
        });
        int hours = 0;
        long from = 0;
        while (true) {
            long fromId = from;
            Long first = read("find next hour", c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT MIN(result_id) "
                        + "FROM probe_result WHERE result_id >= ?")) {
                    ps.setLong(1, fromId);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        long v = rs.getLong(1);
                        return rs.wasNull() ? null : v;
                    }
                }
            });
            if (first == null) {
                return hours;
            }
            long hour = Math.floorDiv(minuteOfId(first), HOUR_MS) * HOUR_MS;
            if (hour + HOUR_MS > cut) {
                return hours;
            }
            if (!done.contains(hour)) {
                rollUpHour(hour);
                hours++;
            }
            from = firstIdOfMinute(hour + HOUR_MS);
        }
    }

    private static final class Acc {
        long count;
        long ok;
        final Map<String, Long> failures = new TreeMap<>();
        final Percentiles.Samples latencies = new Percentiles.Samples();
    }

    private void rollUpHour(long hour) {
        Map<LatestKey, Acc> accs = new HashMap<>();
        long[] rows = {0};
        read("read hour " + Instant.ofEpochMilli(hour), c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT check_id, agent_name, status, "
                    + "failure, latency_us FROM probe_result "
                    + "WHERE result_id >= ? AND result_id < ?")) {
                ps.setLong(1, firstIdOfMinute(hour));
                ps.setLong(2, firstIdOfMinute(hour + HOUR_MS));
                ps.setFetchSize(FETCH_SIZE);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows[0]++;
                        Acc a = accs.computeIfAbsent(
                                new LatestKey(rs.getString(2), rs.getString(1)), k -> new Acc());
                        a.count++;
                        ProbeStatus status = ProbeStatus.valueOf(rs.getString(3));
                        if (status == ProbeStatus.OK) {
                            a.ok++;
                        } else {
                            String code = rs.getString(4);
                            code = code == null ? status.name() : code.replace('=', '_').replace(',', '_');
                            a.failures.merge(code, 1L, Long::sum);
                        }
                        if (status == ProbeStatus.OK || status == ProbeStatus.DEGRADED) {
                            a.latencies.add(rs.getLong(5));
                        }
                    }
                }
            }
            return null;
        });
        long now = clock.millis();
        write("write rollups of " + Instant.ofEpochMilli(hour), c -> {
            try (PreparedStatement ps = c.prepareStatement(mergeRollupSql)) {
                for (Map.Entry<LatestKey, Acc> e : accs.entrySet()) {
                    Acc a = e.getValue();
                    int n = a.latencies.size();
                    long[] sorted = a.latencies.sorted();
                    ps.setString(1, e.getKey().checkId());
                    ps.setLong(2, hour);
                    ps.setString(3, e.getKey().agent());
                    ps.setLong(4, a.count);
                    ps.setLong(5, a.ok);
                    ps.setString(6, failuresText(a.failures));
                    ps.setLong(7, n);
                    ps.setDouble(8, n == 0 ? 0 : Percentiles.nearestRank(sorted, n, 50) / 1000.0);
                    ps.setDouble(9, n == 0 ? 0 : Percentiles.nearestRank(sorted, n, 90) / 1000.0);
                    ps.setDouble(10, n == 0 ? 0 : Percentiles.nearestRank(sorted, n, 99) / 1000.0);
                    ps.setDouble(11, n == 0 ? 0 : sorted[n - 1] / 1000.0);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO rollup_hour "
                    + "(hour_start_ms, rolled_up_at_ms, result_count) VALUES (?, ?, ?)")) {
                ps.setLong(1, hour);
                ps.setLong(2, now);
                ps.setLong(3, rows[0]);
                ps.executeUpdate();
            }
            return null;
        });
        log.debug("rolled up hour={} results={} pairs={}", Instant.ofEpochMilli(hour), rows[0],
                accs.size());
    }

    /** CODE=n,CODE=n sorted by code; codes that do not fit are summed under _OTHER. */
    static String failuresText(Map<String, Long> failures) {
        StringBuilder sb = new StringBuilder();
        long other = 0;
        for (Map.Entry<String, Long> e : new TreeMap<>(failures).entrySet()) {
            String item = e.getKey() + "=" + e.getValue();
            if (sb.length() + item.length() + 32 > FAILURES_TEXT_MAX) {
                other += e.getValue();
                continue;
            }
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(item);
        }
        if (other > 0) {
            sb.append(sb.length() > 0 ? "," : "").append("_OTHER=").append(other);
        }
        return sb.toString();
    }

    static Map<String, Long> parseFailures(String text) {
        Map<String, Long> out = new TreeMap<>();
        if (text == null || text.isEmpty()) {
            return out;
        }
        for (String item : text.split(",")) {
            int eq = item.lastIndexOf('=');
            out.put(item.substring(0, eq), Long.parseLong(item.substring(eq + 1)));
        }
        return out;
    }

    /** Rollups of one check for hours starting in [from, to), ordered by hour then agent. */
    public List<RollupRow> rollups(String checkId, Instant from, Instant to) {
        return read("read rollups of " + checkId, c -> {
            List<RollupRow> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT check_id, agent_name, "
                    + "hour_start_ms, result_count, ok_count, failures, latency_samples, "
                    + "latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms "
                    + "FROM result_rollup WHERE check_id = ? AND hour_start_ms >= ? "
                    + "AND hour_start_ms < ? ORDER BY hour_start_ms, agent_name")) {
                ps.setString(1, checkId);
                ps.setLong(2, from.toEpochMilli());
                ps.setLong(3, to.toEpochMilli());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new RollupRow(rs.getString(1), rs.getString(2),
                                Instant.ofEpochMilli(rs.getLong(3)), rs.getLong(4), rs.getLong(5),
                                parseFailures(rs.getString(6)), rs.getLong(7), rs.getDouble(8),
                                rs.getDouble(9), rs.getDouble(10), rs.getDouble(11)));
                    }
                }
            }
            return out;
        });
    }

    // ---------------------------------------------------------------- verdicts

    public void upsertVerdict(VerdictRow v) {
        Objects.requireNonNull(v, "verdict");
        requireName("verdict id", v.id());
        write("upsert verdict " + v.id(), c -> {
            try (PreparedStatement ps = c.prepareStatement(mergeVerdictSql)) {
                ps.setString(1, v.id());
                ps.setString(2, bounded(v.kind(), 64));
                ps.setString(3, bounded(v.state(), 16));
                ps.setLong(4, v.openedAt().toEpochMilli());
                if (v.closedAt() == null) {
                    ps.setNull(5, Types.BIGINT);
                } else {
                    ps.setLong(5, v.closedAt().toEpochMilli());
                }
                setNullableString(ps, 6, v.site() == null ? null : bounded(v.site(), NAME_MAX));
                ps.setBytes(7, v.payload());
                ps.setLong(8, clock.millis());
                ps.executeUpdate();
            }
            return null;
        });
    }

    /**
     * Open verdicts (state other than CLOSED), plus, with {@code includeClosed}, the closed ones
     * closed at or after {@code closedSince} (every closed one when it is null); ordered by
     * opening time.
     */
    public List<VerdictRow> verdicts(boolean includeClosed, Instant closedSince) {
        return read("list verdicts", c -> {
            String where = includeClosed
                    ? "state <> 'CLOSED' OR closed_at_ms >= ?"
                    : "state <> 'CLOSED'";
            List<VerdictRow> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT verdict_id, kind, state, "
                    + "opened_at_ms, closed_at_ms, site, payload FROM verdict WHERE " + where
                    + " ORDER BY opened_at_ms, verdict_id")) {
                if (includeClosed) {
                    ps.setLong(1, closedSince == null ? Long.MIN_VALUE : closedSince.toEpochMilli());
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long closed = rs.getLong(5);
                        Instant closedAt = rs.wasNull() ? null : Instant.ofEpochMilli(closed);
                        out.add(new VerdictRow(rs.getString(1), rs.getString(2), rs.getString(3),
                                Instant.ofEpochMilli(rs.getLong(4)), closedAt, rs.getString(6),
                                rs.getBytes(7)));
                    }
                }
            }
            return out;
        });
    }

    // ---------------------------------------------------------------- plumbing

    @FunctionalInterface
    private interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code work} in one transaction on the writer connection and commits it. */
    private <T> T write(String what, SqlWork<T> work) {
        writeLock.lock();
        try {
            try {
                T result = work.run(writer);
                writer.commit();
                return result;
            } catch (SQLException e) {
                rollbackQuietly();
                throw new StoreException(what + " failed: " + e.getMessage(), e);
            } catch (RuntimeException e) {
                rollbackQuietly();
                throw e;
            }
        } finally {
            writeLock.unlock();
        }
    }

    private <T> T read(String what, SqlWork<T> work) {
        try (Connection c = dataSource.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw new StoreException(what + " failed: " + e.getMessage(), e);
        }
    }

    private void rollbackQuietly() {
        try {
            writer.rollback();
        } catch (SQLException e) {
            log.warn("rollback failed: {}", e.toString());
        }
    }

    private static void setNullableString(PreparedStatement ps, int i, String s) throws SQLException {
        if (s == null) {
            ps.setNull(i, Types.VARCHAR);
        } else {
            ps.setString(i, s);
        }
    }

    private static void requireName(String what, String s) {
        if (s == null || s.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty");
        }
        if (s.length() > NAME_MAX) {
            throw new IllegalArgumentException(what + " " + s.substring(0, 32) + "... is longer than "
                    + NAME_MAX + " chars");
        }
    }

    /** Cuts {@code s} to at most {@code max} chars without splitting a surrogate pair. */
    static String bounded(String s, int max) {
        if (s == null) {
            return "";
        }
        if (s.length() <= max) {
            return s;
        }
        int end = Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max;
        return s.substring(0, end);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            log.warn("close failed: {}", e.toString());
        }
    }

    /** Plain DriverManager connections, for databases other than the embedded H2. */
    private record DriverManagerDataSource(String url, String user, String password)
            implements DataSource {
        @Override
        public Connection getConnection() throws SQLException {
            return DriverManager.getConnection(url, user, password);
        }

        @Override
        public Connection getConnection(String u, String p) throws SQLException {
            return DriverManager.getConnection(url, u, p);
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {
        }

        @Override
        public void setLoginTimeout(int seconds) {
        }

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public Logger getParentLogger() throws SQLFeatureNotSupportedException {
            throw new SQLFeatureNotSupportedException();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
