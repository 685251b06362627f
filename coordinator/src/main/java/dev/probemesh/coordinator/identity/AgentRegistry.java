package dev.probemesh.coordinator.identity;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enrolled agent identities and every certificate issued to them, for revocation: revoking an
 * agent revokes all its certificates, and a certificate this registry never recorded is refused
 * (fail closed).
 */
public final class AgentRegistry {
    private static final Logger log = LoggerFactory.getLogger(AgentRegistry.class);

    private final DataSource dataSource;
    private final Clock clock;
    private final List<Consumer<String>> revocationListeners = new CopyOnWriteArrayList<>();

    public AgentRegistry(DataSource dataSource, Clock clock) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** An agent as enrolled; latestNotAfter is the end of its newest certificate. */
    public record AgentRecord(String name, String site, Map<String, String> labels, Instant enrolledAt,
            Optional<Instant> revokedAt, Instant latestNotAfter) {
        public AgentRecord {
            labels = Map.copyOf(labels);
        }

        public boolean revoked() {
            return revokedAt.isPresent();
        }
    }

    /** Called with the agent's name after {@link #revokeAgent}; the session layer cuts its stream. */
    public void addRevocationListener(Consumer<String> listener) {
        revocationListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public Optional<AgentRecord> find(String name) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT a.name, a.site, a.labels_json, a.enrolled_ms,"
                        + " a.revoked_ms, (SELECT MAX(not_after_ms) FROM identity_agent_cert x WHERE x.agent_name = a.name)"
                        + " FROM identity_agent a WHERE a.name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                long revoked = rs.getLong(5);
                Optional<Instant> revokedAt = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(revoked));
                return Optional.of(new AgentRecord(rs.getString(1), rs.getString(2), LabelsJson.read(rs.getString(3)),
                        Instant.ofEpochMilli(rs.getLong(4)), revokedAt, Instant.ofEpochMilli(rs.getLong(6))));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read agent " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * True if enrolling under this name with an unbound token must be refused: a live agent
     * (unrevoked, certificate not yet expired) holds it, or it was revoked (only a token bound to
     * the name may bring it back).
     */
    public boolean nameTaken(String name) {
        return find(name).map(a -> a.revoked() || a.latestNotAfter().isAfter(clock.instant())).orElse(false);
    }

    /** Records a certificate issued at enrollment; a re-enrollment clears an earlier revocation. */
    public void recordEnrollment(String name, String site, Map<String, String> labels, BigInteger serial,
            Instant notAfter) {
        inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("MERGE INTO identity_agent (name, site, labels_json,"
                    + " enrolled_ms, revoked_ms) KEY (name) VALUES (?, ?, ?, ?, NULL)")) {
                ps.setString(1, name);
                ps.setString(2, site);
                ps.setString(3, LabelsJson.write(labels));
                ps.setLong(4, clock.millis());
                ps.executeUpdate();
            }
            insertCert(c, name, serial, notAfter, false);
            return null;
        });
    }

    /** Records a renewed certificate; fails if the agent was revoked meanwhile. */
    public void recordRenewal(String name, BigInteger serial, Instant notAfter) throws IdentityException {
        boolean revoked = inTransaction(c -> {
            boolean r;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT revoked_ms IS NOT NULL FROM identity_agent WHERE name = ? FOR UPDATE")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    r = !rs.next() || rs.getBoolean(1);
                }
            }
            insertCert(c, name, serial, notAfter, r);
            return r;
        });
        if (revoked) {
            throw new IdentityException(IdentityException.Kind.NOT_ALLOWED, "agent " + name + " has been revoked");
        }
    }

    private void insertCert(Connection c, String name, BigInteger serial, Instant notAfter, boolean revoked)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO identity_agent_cert (serial, agent_name, issued_ms,"
                + " not_after_ms, revoked) VALUES (?, ?, ?, ?, ?)")) {
            ps.setString(1, serial.toString(16));
            ps.setString(2, name);
            ps.setLong(3, clock.millis());
            ps.setLong(4, notAfter.toEpochMilli());
            ps.setBoolean(5, revoked);
            ps.executeUpdate();
        }
    }

    /** Revokes the agent and every certificate it holds; false if no such agent. */
    public boolean revokeAgent(String name) {
        boolean found = inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE identity_agent SET revoked_ms = COALESCE(revoked_ms, ?) WHERE name = ?");
                    PreparedStatement certs = c.prepareStatement(
                            "UPDATE identity_agent_cert SET revoked = TRUE WHERE agent_name = ?")) {
                ps.setLong(1, clock.millis());
                ps.setString(2, name);
                int n = ps.executeUpdate();
                certs.setString(1, name);
                certs.executeUpdate();
                return n == 1;
            }
        });
        if (found) {
            log.info("revoked agent {}", name);
            for (Consumer<String> l : revocationListeners) {
                try {
                    l.accept(name);
                } catch (RuntimeException e) {
                    log.warn("revocation listener failed for agent {}", name, e);
                }
            }
        }
        return found;
    }

    /** True unless this exact certificate was issued to this agent and not revoked. */
    public boolean isRevoked(String name, BigInteger serial) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement(
                        "SELECT agent_name, revoked FROM identity_agent_cert WHERE serial = ?")) {
            ps.setString(1, serial.toString(16));
            try (ResultSet rs = ps.executeQuery()) {
                return !rs.next() || !rs.getString(1).equals(name) || rs.getBoolean(2);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot check revocation of " + name + ": " + e.getMessage(), e);
        }
    }

    private interface Tx<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T inTransaction(Tx<T> tx) {
        try (Connection c = dataSource.getConnection()) {
            boolean auto = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                T t = tx.run(c);
                c.commit();
                return t;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(auto);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("agent registry update failed: " + e.getMessage(), e);
        }
    }
}
