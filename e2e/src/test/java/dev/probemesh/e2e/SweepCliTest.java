package dev.probemesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.cli.ExitCodes;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** `probemesh sweep run|watch|list` against a real coordinator and three real agents on loopback. */
@Timeout(120)
class SweepCliTest extends CliMesh {
    @Test
    void runPrintsTheSweepsMatrixAsJsonWithTheSweepAndExitsZeroWhenComplete() {
        Outcome o = cli("sweep", "run", "--checks", "stored-tcp", "--selector", "site=a", "-o", "json");

        assertThat(o.code()).as(o.err()).isEqualTo(ExitCodes.OK);
        assertThat(o.out()).contains("\"sweep\"").contains("\"complete\" : true").contains("\"stretched\" : false")
                .contains("\"a-1\"").contains("\"a-2\"").doesNotContain("\"b-1\"").contains("\"OK\"");
    }

    @Test
    void runShowsATableAndTheSweepCanBeListedAndWatchedAgain() {
        Outcome run = cli("sweep", "run", "--checks", "stored-tcp");
        assertThat(run.code()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("stored-tcp").contains("DONE, 3/3 cells");

        Outcome list = cli("sweep", "list");
        assertThat(list.code()).isZero();
        String id = list.out().lines().filter(l -> l.startsWith("sw-")).findFirst().orElseThrow().split("\\s+")[0];
        assertThat(list.out()).contains("DONE").contains("3/3");

        Outcome watch = cli("sweep", "watch", id, "-o", "json");
        assertThat(watch.code()).as(watch.err()).isZero();
        assertThat(watch.out()).contains("\"id\" : \"" + id + "\"").contains("\"b-1\"");
    }

    @Test
    void detachReturnsTheIdAtOnce() {
        Outcome o = cli("sweep", "run", "--checks", "stored-tcp", "--detach");
        assertThat(o.code()).isZero();
        assertThat(o.out().trim()).startsWith("sw-");
    }

    @Test
    void aSelectorMatchingNoAgentIsRefusedNamingTheConnectedSites() {
        Outcome o = cli("sweep", "run", "--checks", "stored-tcp", "--selector", "site=idc");
        assertThat(o.code()).isNotZero();
        assertThat(o.err()).contains("site=idc").contains("a, b");
    }

    @Test
    void anAdHocChecksFileRunsWithoutBeingStored() throws Exception {
        Path f = dir.resolve("adhoc.yaml");
        Files.writeString(f, """
                checks:
                  - {id: adhoc, kind: tcp, target: "127.0.0.1:%d", interval: 60s, timeout: 1s}
                """.formatted(listener.getLocalPort()));
        Outcome o = cli("sweep", "run", "--file", f.toString(), "-o", "json");
        assertThat(o.code()).as(o.err()).isZero();
        assertThat(o.out()).contains("\"adhoc\"").contains("\"complete\" : true");
        assertThat(mesh.admin().listChecks(dev.probemesh.proto.v1.ListChecksRequest.getDefaultInstance())
                .getChecksList()).extracting(c -> c.getId()).containsExactly("stored-tcp");
    }

    @Test
    void aFinishedSweepIsShownAgainAfterACoordinatorRestart() throws Exception {
        Outcome run = cli("sweep", "run", "--checks", "stored-tcp", "-o", "json");
        assertThat(run.code()).as(run.err()).isZero();
        String id = run.out().replaceAll("(?s).*\"sweep\" : \\{\\s*\"id\" : \"([^\"]+)\".*", "$1");
        assertThat(id).startsWith("sw-");

        mesh.stopCoordinator();
        mesh.startCoordinator();

        Outcome list = cli("sweep", "list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains(id).contains("DONE");
        Outcome show = cli("sweep", "show", id);
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).contains("a-1").contains("b-1").contains("DONE, 3/3 cells");
    }

    @Test
    void aRedSweepIsCompleteAndFollowedByTheDiagnosisOfItsChecks() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        Path f = dir.resolve("closed.yaml");
        Files.writeString(f, """
                checks:
                  - {id: closed-port, kind: tcp, target: "127.0.0.1:%d", interval: 60s, timeout: 1s}
                """.formatted(closed));
        Outcome o = cli("sweep", "run", "--file", f.toString());
        assertThat(o.code()).as(o.err()).isEqualTo(ExitCodes.OK);
        assertThat(o.out()).contains("DONE, 3/3 cells").contains("closed-port");
        // A refused port is not yet a confirmed verdict: the diagnosis section says so rather than staying silent.
        assertThat(o.out()).containsAnyOf("no open verdicts", "TARGET_OUTAGE", "INCONCLUSIVE");
    }
}
