package dev.probemesh.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.AgentRow;
import dev.probemesh.coordinator.store.IngestBatch;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.ProbeResult;
import dev.probemesh.proto.v1.Status;
import dev.probemesh.proto.v1.TcpParams;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The correlation loop on a real store: verdicts open on confirmed failures, close on recovery, and stay closed. */
class DiagnosisTest {
    @TempDir
    Path dir;

    Store store;
    Instant now = Instant.parse("2026-11-22T12:00:00Z");
    long seq;

    final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    @BeforeEach
    void open() {
        store = Store.openH2(dir, clock);
        store.applyChecks(List.of(Check.newBuilder().setId("tcp-origin").setKind("tcp").setTarget("203.0.113.10:443")
                .setIntervalMs(1_000).setTimeoutMs(500).setTcp(TcpParams.getDefaultInstance()).build()), false);
        for (String a : List.of("a-1", "b-1", "c-1")) {
            store.upsertAgent(new AgentRow(a, "site-" + a.charAt(0), Map.of(), "test", new byte[0], now, now, 0));
        }
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** One round: every agent reports {@code status} at the current time, then one second passes. */
    void round(Diagnosis d, Status status) {
        for (String a : List.of("a-1", "b-1", "c-1")) {
            d.resultsCommitted(List.of(new IngestBatch(a, "inc", List.of(result(status, now)), now, 0)));
            store.touchAgent(a, now, 0);
        }
        d.tick();
        now = now.plusSeconds(1);
    }

    ProbeResult result(Status status, Instant at) {
        return ProbeResult.newBuilder().setSeq(++seq).setCheckId("tcp-origin").setCheckRevision(1)
                .setObservedAtMs(at.toEpochMilli()).setStatus(status)
                .setFailure(status == Status.STATUS_OK ? "" : "REFUSED").setAddress("203.0.113.10").build();
    }

    List<dev.probemesh.proto.v1.Verdict> open(Diagnosis d) {
        return d.diagnose(DiagnoseRequest.getDefaultInstance()).getVerdictsList();
    }

    @Test
    void outageOpensAfterConfirmationClosesAfterRecoveryAndALateFailureDoesNotReopenIt() {
        Diagnosis d = new Diagnosis(store, new SessionRegistry(store::checks), Diagnosis.Config.defaults(), clock);
        round(d, Status.STATUS_OK);
        round(d, Status.STATUS_FAIL);
        assertThat(open(d)).as("one failed round is not confirmed").isEmpty();
        round(d, Status.STATUS_FAIL);
        assertThat(open(d)).singleElement().satisfies(v -> {
            assertThat(v.getKind()).isEqualTo("TARGET_OUTAGE");
            assertThat(v.getSite()).isEmpty();
        });
        String id = open(d).get(0).getId();
        assertThat(d.cellVerdicts()).containsEntry("a-1|tcp-origin", id);

        for (int i = 0; i < 6; i++) {
            round(d, Status.STATUS_OK);
        }
        assertThat(open(d)).isEmpty();
        assertThat(store.verdicts(true, null)).extracting(r -> r.id() + ":" + r.state()).contains(id + ":CLOSED");

        // A failure observed during the outage arrives late (replayed after a reconnect).
        Instant old = now.minus(Duration.ofSeconds(7));
        d.resultsCommitted(List.of(new IngestBatch("a-1", "inc", List.of(result(Status.STATUS_FAIL, old)), now, 0)));
        d.tick();
        assertThat(open(d)).isEmpty();
    }

    @Test
    void openVerdictsSurviveARestartWithTheirIds() {
        Diagnosis d = new Diagnosis(store, new SessionRegistry(store::checks), Diagnosis.Config.defaults(), clock);
        round(d, Status.STATUS_FAIL);
        round(d, Status.STATUS_FAIL);
        String id = open(d).get(0).getId();

        Diagnosis restarted = new Diagnosis(store, new SessionRegistry(store::checks), Diagnosis.Config.defaults(),
                clock);
        assertThat(open(restarted)).extracting(v -> v.getId()).containsExactly(id);
        round(restarted, Status.STATUS_FAIL);
        assertThat(open(restarted)).extracting(v -> v.getId()).containsExactly(id);
    }
}
