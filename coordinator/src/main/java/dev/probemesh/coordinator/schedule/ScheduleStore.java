package dev.probemesh.coordinator.schedule;

import dev.probemesh.common.check.Selectors;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import javax.sql.DataSource;

/** Schedules in the coordinator's database (table {@code sweep_schedule}, migration V6). */
public final class ScheduleStore {
    /** Column widths of V6, checked before an insert so a long value is an input error, not a SQL one. */
    static final int SELECTOR_MAX = 1024;
    static final int CHECK_IDS_MAX = 4000;

    private final DataSource db;

    public ScheduleStore(DataSource db) {
        this.db = db;
    }

    public List<ScheduleRow> all() throws SQLException {
        List<ScheduleRow> out = new ArrayList<>();
        try (Connection c = db.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT schedule_id, name, cron, time_zone, selector, "
                     + "check_ids, timeout_ms, created_at_ms, next_run_ms, last_run_ms, last_sweep_id "
                     + "FROM sweep_schedule ORDER BY next_run_ms, name");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String checks = rs.getString(6);
                out.add(new ScheduleRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        new LinkedHashMap<>(Selectors.parse(rs.getString(5))),
                        checks == null || checks.isEmpty() ? List.of() : Arrays.asList(checks.split(",")),
                        rs.getInt(7), rs.getLong(8), rs.getLong(9), rs.getLong(10), nullToEmpty(rs.getString(11))));
            }
        }
        return out;
    }

    /** Inserts a new schedule; the name's unique constraint is the last guard against a duplicate. */
    public void insert(ScheduleRow r) throws SQLException {
        try (Connection c = db.getConnection();
             PreparedStatement ps = c.prepareStatement("INSERT INTO sweep_schedule (schedule_id, name, cron, "
                     + "time_zone, selector, check_ids, timeout_ms, created_at_ms, next_run_ms, last_run_ms, "
                     + "last_sweep_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, r.id());
            ps.setString(2, r.name());
            ps.setString(3, r.cron());
            ps.setString(4, r.timeZone());
            ps.setString(5, Selectors.format(r.selector()));
            ps.setString(6, String.join(",", r.checkIds()));
            ps.setInt(7, r.timeoutMs());
            ps.setLong(8, r.createdAtMs());
            ps.setLong(9, r.nextRunMs());
            ps.setLong(10, r.lastRunMs());
            ps.setString(11, r.lastSweepId());
            ps.executeUpdate();
            commit(c);
        }
    }

    /** Records the next run and the last run of an existing schedule. */
    public void updateRuns(ScheduleRow r) throws SQLException {
        try (Connection c = db.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE sweep_schedule SET next_run_ms = ?, last_run_ms = ?, "
                     + "last_sweep_id = ? WHERE schedule_id = ?")) {
            ps.setLong(1, r.nextRunMs());
            ps.setLong(2, r.lastRunMs());
            ps.setString(3, r.lastSweepId());
            ps.setString(4, r.id());
            ps.executeUpdate();
            commit(c);
        }
    }

    public boolean delete(String id) throws SQLException {
        try (Connection c = db.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM sweep_schedule WHERE schedule_id = ?")) {
            ps.setString(1, id);
            boolean deleted = ps.executeUpdate() > 0;
            commit(c);
            return deleted;
        }
    }

    private static void commit(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            c.commit();
        }
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
