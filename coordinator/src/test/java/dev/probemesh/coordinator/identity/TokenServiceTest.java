package dev.probemesh.coordinator.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.probemesh.testing.MutableClock;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class TokenServiceTest {
    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path tmp;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T12:00:00Z"));
    private DataSource ds;
    private TokenService tokens;

    @BeforeEach
    void setUp() {
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL("jdbc:h2:mem:tokens-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1");
        Flyway.configure().dataSource(h2).locations("classpath:db/migration").load().migrate();
        ds = h2;
        tokens = new TokenService(ds, clock, new SecureRandom());
    }

    @Test
    void storesOnlyAHashOfTheSecret() throws Exception {
        TokenService.Created c = tokens.create("paris", Map.of("env", "prod"), Duration.ofHours(1), 1, null);
        String secret = c.token().substring(c.token().indexOf('.') + 1);

        assertThat(c.token()).matches("pmjt_[0-9a-f]{16}\\.[A-Za-z0-9_-]{43}");
        try (Connection conn = ds.getConnection();
                ResultSet rs = conn.createStatement().executeQuery("SELECT * FROM identity_join_token")) {
            assertThat(rs.next()).isTrue();
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                assertThat(String.valueOf(rs.getObject(i))).doesNotContain(secret);
            }
        }
        assertThat(tokens.list()).singleElement().satisfies(t -> {
            assertThat(t.id()).isEqualTo(c.info().id());
            assertThat(t.labels()).isEqualTo(Map.of("env", "prod"));
            assertThat(t.usesLeft()).isEqualTo(1);
            assertThat(t.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofHours(1)));
        });
    }

    @Test
    void multiUseTokenCountsDownAndCheckDoesNotConsume() throws Exception {
        String t = tokens.create("paris", Map.of(), Duration.ofHours(1), 2, "edge-1").token();

        assertThat(tokens.check(t).agentName()).contains("edge-1");
        tokens.redeem(t);
        assertThat(tokens.list().get(0).usesLeft()).isEqualTo(1);
        tokens.redeem(t);
        assertThat(catchThrowableOfType(TokenException.class, () -> tokens.redeem(t)).reason())
                .isEqualTo(TokenException.Reason.USED_UP);
    }

    @Test
    void expiresExactlyAtItsDeadline() throws Exception {
        String t = tokens.create("paris", Map.of(), Duration.ofMinutes(10), 1, null).token();
        clock.advance(Duration.ofMinutes(10).minusMillis(1));
        assertThat(tokens.check(t).site()).isEqualTo("paris");
        clock.advance(Duration.ofMillis(1));
        assertThat(catchThrowableOfType(TokenException.class, () -> tokens.redeem(t)).reason())
                .isEqualTo(TokenException.Reason.EXPIRED);
    }

    @Test
    @Timeout(60)
    void racingRedeemersNeverExceedTheUses() throws Exception {
        String t = tokens.create("paris", Map.of(), Duration.ofHours(1), 3, null).token();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Boolean>> tasks = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                tasks.add(() -> {
                    try {
                        tokens.redeem(t);
                        return true;
                    } catch (TokenException e) {
                        return false;
                    }
                });
            }
            int won = 0;
            for (Future<Boolean> f : pool.invokeAll(tasks, 30, TimeUnit.SECONDS)) {
                won += f.get() ? 1 : 0;
            }
            assertThat(won).isEqualTo(3);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void refusesInvalidCreation() {
        assertThatThrownBy(() -> tokens.create("paris", Map.of(), Duration.ofDays(31), 1, null)).hasMessageContaining("ttl");
        assertThatThrownBy(() -> tokens.create("paris", Map.of(), Duration.ofHours(1), 0, null)).hasMessageContaining("uses");
        assertThatThrownBy(() -> tokens.create("pa ris", Map.of(), Duration.ofHours(1), 1, null)).hasMessageContaining("site");
        assertThatThrownBy(() -> tokens.create("paris", Map.of("bad key", "v"), Duration.ofHours(1), 1, null))
                .hasMessageContaining("label key");
        assertThatThrownBy(() -> tokens.create("paris", Map.of(), Duration.ofHours(1), 1, "Edge_1"))
                .hasMessageContaining("agent name");
    }

    @Test
    void revokeByIdStopsTheToken() {
        TokenService.Created c = tokens.create("paris", Map.of(), Duration.ofHours(1), 1, null);
        assertThat(tokens.revoke(c.info().id())).isTrue();
        assertThat(tokens.revoke("0000000000000000")).isFalse();
        assertThat(catchThrowableOfType(TokenException.class, () -> tokens.check(c.token())).reason())
                .isEqualTo(TokenException.Reason.REVOKED);
        assertThat(tokens.list().get(0).revoked()).isTrue();
    }

    @Test
    void createTokenRequestAppliesProtoDefaultsAndReturnsThePin() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(
                tmp, clock);
        var r = IdentityProtos.createToken(tokens, ca, dev.probemesh.proto.v1.CreateTokenRequest.newBuilder()
                .setSite("paris").putLabels("env", "prod").build());

        assertThat(r.getCaPin()).isEqualTo(ca.caPin());
        assertThat(r.getInfo().getUsesLeft()).isEqualTo(1);
        assertThat(r.getInfo().getExpiresAtMs()).isEqualTo(clock.instant().plus(Duration.ofHours(1)).toEpochMilli());
        assertThat(r.getInfo().getLabelsMap()).containsEntry("env", "prod");
        assertThat(tokens.redeem(r.getToken()).site()).isEqualTo("paris");
    }
}
