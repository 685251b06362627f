package dev.probemesh.coordinator.sweep;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.probemesh.proto.v1.SweepStatus;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Finished sweeps in the coordinator's database (table {@code sweep}, migration V3). */
public final class SweepStore {
    private final DataSource db;

    public SweepStore(DataSource db) {
        this.db = db;
    }

    /** Stores a finished sweep's final status (with its cells); a second save of the same id is ignored. */
    public void save(SweepStatus s) throws SQLException {
        try (Connection c = db.getConnection();
             PreparedStatement exists = c.prepareStatement("SELECT 1 FROM sweep WHERE sweep_id = ?");
             PreparedStatement ins = c.prepareStatement("INSERT INTO sweep (sweep_id, started_at_ms, finished_at_ms, "
                     + "state, cells_total, cells_done, stretched, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            exists.setString(1, s.getId());
            try (ResultSet rs = exists.executeQuery()) {
                if (rs.next()) {
                    return;
                }
            }
            ins.setString(1, s.getId());
            ins.setLong(2, s.getStartedAtMs());
            ins.setLong(3, s.getFinishedAtMs());
            ins.setString(4, s.getState());
            ins.setInt(5, s.getCellsTotal());
            ins.setInt(6, s.getCellsDone());
            ins.setBoolean(7, s.getStretched());
            ins.setBytes(8, s.toByteArray());
            ins.executeUpdate();
            if (!c.getAutoCommit()) {
                c.commit();
            }
        }
    }

    /** One stored sweep with its cells. */
    public Optional<SweepStatus> get(String id) throws SQLException {
        try (Connection c = db.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT status FROM sweep WHERE sweep_id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(parse(rs.getBytes(1))) : Optional.empty();
            }
        }
    }

    /** The most recent stored sweeps, newest first, without their cells. */
    public List<SweepStatus> recent(int limit) throws SQLException {
        List<SweepStatus> out = new ArrayList<>();
        try (Connection c = db.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT status FROM sweep ORDER BY started_at_ms DESC LIMIT ?")) {
            ps.setInt(1, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(parse(rs.getBytes(1)).toBuilder().clearCells().build());
                }
            }
        }
        return out;
    }

    private static SweepStatus parse(byte[] bytes) throws SQLException {
        try {
            return SweepStatus.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new SQLException("corrupt sweep status: " + e.getMessage(), e);
        }
    }
}
