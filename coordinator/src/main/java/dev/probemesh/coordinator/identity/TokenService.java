package dev.probemesh.coordinator.identity;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Join tokens: {@code pmjt_<id>.<secret>}, single use (or N uses), expiring, revocable. Only the
 * SHA-256 of the secret is stored; the id is public (listed, revoked by id).
 */
public final class TokenService {
    public static final String PREFIX = "pmjt_";
    public static final Duration MAX_TTL = Duration.ofDays(30);
    public static final int MAX_USES = 10_000;
    private static final Pattern FORMAT = Pattern.compile("pmjt_([0-9a-f]{16})\\.([A-Za-z0-9_-]{43})");

    private final DataSource dataSource;
    private final Clock clock;
    private final SecureRandom random;

    public TokenService(DataSource dataSource, Clock clock, SecureRandom random) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** What may be shown about a token: everything but its secret. */
    public record TokenInfo(String id, String site, Map<String, String> labels, Optional<String> agentName,
            Instant createdAt, Instant expiresAt, int usesLeft, boolean revoked) {
        public TokenInfo {
            labels = Map.copyOf(labels);
            Objects.requireNonNull(agentName, "agentName");
        }
    }

    /** A new token; {@code token} is shown once and never stored. */
    public record Created(String token, TokenInfo info) {
    }

    /** What a redeemed token grants: the identity comes from here, never from the request. */
    public record Redeemed(String tokenId, String site, Map<String, String> labels, Optional<String> agentName) {
        public Redeemed {
            labels = Map.copyOf(labels);
        }
    }

    public Created create(String site, Map<String, String> labels, Duration ttl, int uses, String agentName) {
        Names.requireSite(site);
        Names.requireLabels(labels);
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("token ttl must be between 1s and " + MAX_TTL.toDays() + " days, got " + ttl);
        }
        if (uses < 1 || uses > MAX_USES) {
            throw new IllegalArgumentException("token uses must be between 1 and " + MAX_USES + ", got " + uses);
        }
        String bound = agentName == null || agentName.isBlank() ? null : agentName;
        if (bound != null && !Names.AGENT_NAME.matcher(bound).matches()) {
            throw new IllegalArgumentException("agent name '" + bound + "' is invalid: use 1-63 characters [a-z0-9._-]");
        }
        byte[] idBytes = new byte[8];
        byte[] secret = new byte[32];
        random.nextBytes(idBytes);
        random.nextBytes(secret);
        String id = HexFormat.of().formatHex(idBytes);
        String secretText = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Instant now = clock.instant();
        Instant expires = now.plus(ttl);
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("INSERT INTO identity_join_token (id, secret_sha256, site,"
                        + " labels_json, agent_name, created_ms, expires_ms, uses_total, uses_left, revoked)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)")) {
            ps.setString(1, id);
            ps.setString(2, sha256(secretText));
            ps.setString(3, site);
            ps.setString(4, LabelsJson.write(labels));
            ps.setString(5, bound);
            ps.setLong(6, now.toEpochMilli());
            ps.setLong(7, expires.toEpochMilli());
            ps.setInt(8, uses);
            ps.setInt(9, uses);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot store join token: " + e.getMessage(), e);
        }
        return new Created(PREFIX + id + "." + secretText,
                new TokenInfo(id, site, labels, Optional.ofNullable(bound), now, expires, uses, false));
    }

    /**
     * Checks the token without consuming it: lets the enrollment refuse a request (bad name, bad
     * CSR) without burning a single-use token.
     */
    public Redeemed check(String token) throws TokenException {
        try (Connection c = dataSource.getConnection()) {
            return validate(c, token, false);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read join tokens: " + e.getMessage(), e);
        }
    }

    /** Consumes one use, atomically: two agents racing for the last use cannot both win. */
    public Redeemed redeem(String token) throws TokenException {
        try (Connection c = dataSource.getConnection()) {
            return validate(c, token, true);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot redeem join token: " + e.getMessage(), e);
        }
    }

    private Redeemed validate(Connection c, String token, boolean consume) throws SQLException, TokenException {
        if (token == null || token.isBlank()) {
            throw new TokenException(TokenException.Reason.MALFORMED, "join token is missing");
        }
        Matcher m = FORMAT.matcher(token.trim());
        if (!m.matches()) {
            throw new TokenException(TokenException.Reason.MALFORMED,
                    "join token is malformed: expected pmjt_<16 hex>.<43 characters> as printed by 'probemesh token create'");
        }
        String id = m.group(1);
        try (PreparedStatement ps = c.prepareStatement("SELECT secret_sha256, site, labels_json, agent_name,"
                + " expires_ms, uses_left, revoked FROM identity_join_token WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                // A wrong secret reads exactly like an unknown id: no oracle for guessing ids.
                if (!rs.next() || !MessageDigest.isEqual(
                        rs.getString(1).getBytes(StandardCharsets.US_ASCII),
                        sha256(m.group(2)).getBytes(StandardCharsets.US_ASCII))) {
                    throw new TokenException(TokenException.Reason.UNKNOWN,
                            "join token is not known to this coordinator (wrong coordinator, or mistyped)");
                }
                if (rs.getBoolean(7)) {
                    throw new TokenException(TokenException.Reason.REVOKED, "join token " + id + " was revoked");
                }
                Instant expires = Instant.ofEpochMilli(rs.getLong(5));
                if (!clock.instant().isBefore(expires)) {
                    throw new TokenException(TokenException.Reason.EXPIRED,
                            "join token " + id + " expired at " + expires + ": create a new one with 'probemesh token create'");
                }
                if (rs.getInt(6) <= 0) {
                    throw new TokenException(TokenException.Reason.USED_UP,
                            "join token " + id + " was already used: create a new one with 'probemesh token create'");
                }
                Redeemed r = new Redeemed(id, rs.getString(2), LabelsJson.read(rs.getString(3)),
                        Optional.ofNullable(rs.getString(4)));
                if (consume) {
                    try (PreparedStatement up = c.prepareStatement("UPDATE identity_join_token SET uses_left = uses_left - 1"
                            + " WHERE id = ? AND uses_left > 0 AND revoked = FALSE AND expires_ms > ?")) {
                        up.setString(1, id);
                        up.setLong(2, clock.instant().toEpochMilli());
                        if (up.executeUpdate() != 1) {
                            throw new TokenException(TokenException.Reason.USED_UP,
                                    "join token " + id + " was already used: create a new one with 'probemesh token create'");
                        }
                    }
                }
                return r;
            }
        }
    }

    public List<TokenInfo> list() {
        List<TokenInfo> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT id, site, labels_json, agent_name, created_ms,"
                        + " expires_ms, uses_left, revoked FROM identity_join_token ORDER BY created_ms, id");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new TokenInfo(rs.getString(1), rs.getString(2), LabelsJson.read(rs.getString(3)),
                        Optional.ofNullable(rs.getString(4)), Instant.ofEpochMilli(rs.getLong(5)),
                        Instant.ofEpochMilli(rs.getLong(6)), rs.getInt(7), rs.getBoolean(8)));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot list join tokens: " + e.getMessage(), e);
        }
        return List.copyOf(out);
    }

    /** Revokes by public id; false if there is no such token. */
    public boolean revoke(String id) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("UPDATE identity_join_token SET revoked = TRUE WHERE id = ?")) {
            ps.setString(1, id);
            return ps.executeUpdate() == 1;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot revoke join token: " + e.getMessage(), e);
        }
    }

    private static String sha256(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(secret.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
