package dev.probemesh.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.cli.ExitCodes;
import dev.probemesh.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input is refused before anything is sent, with the file, line and field named, and a usable exit code. */
class ChecksApplyCliTest {
    @TempDir
    Path dir;

    record Outcome(int code, String out, String err) {
    }

    Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Outcome(code, out.toString(), err.toString());
    }

    @Test
    void unknownKindIsAUsageErrorNamingLineAndKinds() throws Exception {
        Path f = dir.resolve("checks.yaml");
        Files.writeString(f, "checks:\n  - id: x\n    kind: gopher\n    target: a.example\n");
        // --insecure with an address nobody listens on: validation must fail before any connection.
        Outcome o = run("checks", "apply", "-f", f.toString(), "--insecure", "--coordinator", "127.0.0.1:9");
        assertThat(o.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(o.err()).contains("checks.yaml:3:").contains("unknown probe kind \"gopher\"").contains("dns-trace");
    }

    @Test
    void validateSaysHowManyChecksAFileHolds() throws Exception {
        Path f = dir.resolve("ok.yaml");
        Files.writeString(f, "checks:\n  - {id: t, kind: tcp, target: \"203.0.113.10:443\"}\n");
        Outcome o = run("checks", "validate", "-f", f.toString());
        assertThat(o.code()).isZero();
        assertThat(o.out()).contains("1 valid checks");
    }

    @Test
    void missingFileIsAUsageError() {
        Outcome o = run("checks", "validate", "-f", dir.resolve("nope.yaml").toString());
        assertThat(o.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(o.err()).contains("no such file");
    }

    @Test
    void unreachableCoordinatorHasItsOwnExitCode() throws Exception {
        Path f = dir.resolve("ok.yaml");
        Files.writeString(f, "checks:\n  - {id: t, kind: tcp, target: \"203.0.113.10:443\"}\n");
        Outcome o = run("checks", "apply", "-f", f.toString(), "--insecure", "--coordinator", "127.0.0.1:9",
                "--timeout", "3s");
        assertThat(o.code()).isEqualTo(ExitCodes.UNREACHABLE);
        assertThat(o.err()).contains("cannot reach the coordinator at 127.0.0.1:9");
    }

    @Test
    void helpListsTheWholeTool() {
        Outcome o = run("--help");
        assertThat(o.code()).isZero();
        assertThat(o.out()).contains("coordinator", "agent", "lab", "matrix", "diagnose", "sweep", "token", "context");
    }
}
