package dev.probemesh.coordinator.sweep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.MatrixCell;
import dev.probemesh.proto.v1.SweepStatus;
import dev.probemesh.proto.v1.Verdict;
import io.grpc.Status;
import io.grpc.StatusException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Diagnose filtered by a sweep (a stored one, on real H2): its window, its checks, its agents. */
class SweepDiagnoseTest {
    static final long START = 1_000_000;
    static final long END = 1_060_000;

    @TempDir
    Path dir;

    Store store;
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    Sweeps sweeps;
    List<DiagnoseRequest> asked = new ArrayList<>();

    @BeforeEach
    void open() throws Exception {
        store = Store.openH2(dir);
        sweeps = new Sweeps(store, new SessionRegistry(store::checks), Clock.systemUTC(), executor);
        new SweepStore(store.dataSource()).save(SweepStatus.newBuilder().setId("sw-1").setState("DONE")
                .setStartedAtMs(START).setFinishedAtMs(END).addCheckIds("web").addCheckIds("dns")
                .addCells(cell("idc-1", "web")).addCells(cell("idc-1", "dns"))
                .addCells(cell("hq-1", "web")).addCells(cell("hq-1", "dns")).build());
    }

    @AfterEach
    void close() {
        executor.shutdownNow();
        store.close();
    }

    static MatrixCell cell(String agent, String check) {
        return MatrixCell.newBuilder().setAgent(agent).setCheckId(check).setStatus("FAIL").build();
    }

    static Verdict verdict(String id, long opened, long closed, List<String> checks, List<String> agents) {
        return Verdict.newBuilder().setId(id).setOpenedAtMs(opened).setClosedAtMs(closed)
                .setState(closed == 0 ? "OPEN" : "CLOSED").addAllChecks(checks).addAllAgents(agents).build();
    }

    DiagnoseResponse diagnose(DiagnoseRequest req, List<Verdict> verdicts) throws StatusException {
        return sweeps.diagnose(req, r -> {
            asked.add(r);
            return DiagnoseResponse.newBuilder().addAllVerdicts(verdicts).build();
        });
    }

    @Test
    void keepsOnlyVerdictsOpenDuringTheSweepAboutItsChecksAndAgents() throws Exception {
        List<Verdict> all = List.of(
                verdict("open-during", START - 5_000, 0, List.of("web"), List.of("idc-1")),
                verdict("closed-during", START - 5_000, START + 10_000, List.of("dns"), List.of("hq-1")),
                verdict("global-no-agents", START + 1_000, 0, List.of("web"), List.of()),
                verdict("closed-before", START - 50_000, START - 1, List.of("web"), List.of("idc-1")),
                verdict("opened-by-its-last-results", END + 1_000, 0, List.of("dns"), List.of("hq-1")),
                verdict("opened-later", END + Sweeps.DIAGNOSE_SLACK_MS + 1, 0, List.of("web"), List.of("idc-1")),
                verdict("other-check", START, 0, List.of("mail"), List.of("idc-1")),
                verdict("other-agent", START, 0, List.of("web"), List.of("branch-7")));

        DiagnoseResponse r = diagnose(DiagnoseRequest.newBuilder().setSweepId("sw-1").build(), all);

        assertThat(r.getVerdictsList()).extracting(Verdict::getId)
                .containsExactly("open-during", "closed-during", "global-no-agents", "opened-by-its-last-results");
    }

    @Test
    void asksForClosedVerdictsSinceTheSweepStartedAndKeepsTheOtherFilters() throws Exception {
        diagnose(DiagnoseRequest.newBuilder().setSweepId("sw-1").setSite("idc").build(), List.of());

        assertThat(asked).singleElement().satisfies(r -> {
            assertThat(r.getSweepId()).isEmpty();
            assertThat(r.getIncludeClosed()).isTrue();
            assertThat(r.getSinceMs()).isEqualTo(START);
            assertThat(r.getSite()).isEqualTo("idc");
        });
    }

    @Test
    void anUnknownSweepIsNotFound() {
        assertThatThrownBy(() -> diagnose(DiagnoseRequest.newBuilder().setSweepId("sw-nope").build(), List.of()))
                .isInstanceOfSatisfying(StatusException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).contains("sw-nope");
                });
    }
}
