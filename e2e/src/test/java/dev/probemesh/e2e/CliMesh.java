package dev.probemesh.e2e;

import static org.awaitility.Awaitility.await;

import dev.probemesh.cli.Main;
import dev.probemesh.common.check.CheckFile;
import dev.probemesh.proto.v1.ApplyChecksRequest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI tests' mesh: a real coordinator on loopback, three real agents (a-1 and a-2 at site a,
 * b-1 at site b), one stored check {@code stored-tcp} against a loopback listener (selector
 * {@code site: nowhere}, so it runs only when a sweep names it), and {@link #cli} running the
 * real CLI's {@code Main} against that coordinator.
 */
abstract class CliMesh {
    @TempDir
    Path dir;

    Mesh mesh;
    ServerSocket listener;

    record Outcome(int code, String out, String err) {
    }

    @BeforeEach
    void startTheMesh() throws Exception {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        mesh = new Mesh(dir).startCoordinator();
        mesh.admin().applyChecks(ApplyChecksRequest.newBuilder().addAllChecks(CheckFile.parse("c.yaml", """
                checks:
                  - id: stored-tcp
                    kind: tcp
                    target: 127.0.0.1:%d
                    interval: 60s
                    timeout: 1s
                    selector: {site: nowhere}
                """.formatted(listener.getLocalPort()))).build());
        mesh.startAgent("a-1", "a");
        mesh.startAgent("a-2", "a");
        mesh.startAgent("b-1", "b");
        await().atMost(Duration.ofSeconds(30)).until(() -> mesh.coordinator.sessions().all().size() == 3);
    }

    @AfterEach
    void stopTheMesh() throws Exception {
        mesh.close();
        listener.close();
    }

    /** The CLI with ARGS plus {@code --insecure --coordinator 127.0.0.1:PORT}; its exit code and output. */
    Outcome cli(String... args) {
        String[] all = new String[args.length + 3];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--insecure";
        all[args.length + 1] = "--coordinator";
        all[args.length + 2] = "127.0.0.1:" + mesh.coordinator.port();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(all, new PrintWriter(out), new PrintWriter(err));
        return new Outcome(code, out.toString(), err.toString());
    }
}
