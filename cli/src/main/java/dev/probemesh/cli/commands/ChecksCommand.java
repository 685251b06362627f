package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.cli.CliException;
import dev.probemesh.cli.ExitCodes;
import dev.probemesh.cli.OutputFormat;
import dev.probemesh.cli.render.Json;
import dev.probemesh.cli.render.Table;
import dev.probemesh.common.check.CheckFacts;
import dev.probemesh.common.check.CheckFile;
import dev.probemesh.common.check.CheckSpecException;
import dev.probemesh.common.check.Durations;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.ApplyChecksRequest;
import dev.probemesh.proto.v1.ApplyChecksResponse;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DeleteCheckRequest;
import dev.probemesh.proto.v1.ListChecksRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "checks", description = "Define what the fleet probes.",
        subcommands = {ChecksCommand.Apply.class, ChecksCommand.ListChecks.class, ChecksCommand.Delete.class,
                ChecksCommand.Validate.class})
public final class ChecksCommand {

    /** Reads and validates a checks file; problems carry file, line and field. */
    static List<Check> read(Path file) throws CliException {
        try {
            if (!Files.exists(file)) {
                throw new NoSuchFileException(file.toString());
            }
            return CheckFile.read(file);
        } catch (CheckSpecException e) {
            throw new CliException(ExitCodes.USAGE, "invalid checks file:\n  " + String.join("\n  ", e.problems()));
        } catch (NoSuchFileException e) {
            throw new CliException(ExitCodes.USAGE, "no such file: " + file);
        } catch (IOException e) {
            throw new CliException(ExitCodes.USAGE, "cannot read " + file + ": " + e.getMessage());
        }
    }

    @Command(name = "apply", description = "Create or update the checks of a YAML file (ids are stable; a changed spec bumps its revision).")
    public static final class Apply extends AdminCall {
        @Option(names = {"-f", "--file"}, required = true, description = "Checks file (YAML).")
        Path file;

        @Option(names = "--prune", description = "Also delete checks that are not in the file.")
        boolean prune;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) throws CliException {
            List<Check> checks = read(file);
            ApplyChecksResponse r = admin.applyChecks(ApplyChecksRequest.newBuilder().addAllChecks(checks)
                    .setPrune(prune).build());
            out().printf("%d created, %d updated, %d unchanged, %d deleted%n", r.getCreatedCount(),
                    r.getUpdatedCount(), r.getUnchangedCount(), r.getDeletedCount());
            r.getCreatedList().forEach(id -> out().println("  + " + id));
            r.getUpdatedList().forEach(id -> out().println("  ~ " + id));
            r.getDeletedList().forEach(id -> out().println("  - " + id));
            return 0;
        }
    }

    @Command(name = "validate", description = "Check a checks file without sending it anywhere.")
    public static final class Validate implements java.util.concurrent.Callable<Integer> {
        @Option(names = {"-f", "--file"}, required = true, description = "Checks file (YAML).")
        Path file;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            try {
                List<Check> checks = read(file);
                spec.commandLine().getOut().println(file + ": " + checks.size() + " valid checks");
                return 0;
            } catch (CliException e) {
                spec.commandLine().getErr().println("probemesh: " + e.getMessage());
                return e.exitCode();
            }
        }
    }

    @Command(name = "list", description = "List the checks with their revisions.")
    public static final class ListChecks extends AdminCall {
        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            List<Check> checks = admin.listChecks(ListChecksRequest.getDefaultInstance()).getChecksList();
            if (output == OutputFormat.json) {
                List<Object> list = new ArrayList<>();
                for (Check c : checks) {
                    CheckFacts f = CheckFacts.of(c);
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("id", c.getId());
                    m.put("revision", c.getRevision());
                    m.put("kind", c.getKind());
                    m.put("target", c.getTarget());
                    m.put("protocol", f.protocol());
                    m.put("port", f.port());
                    m.put("family", f.family());
                    m.put("interval", Durations.format(c.getIntervalMs()));
                    m.put("timeout", Durations.format(c.getTimeoutMs()));
                    m.put("selector", c.getSelectorMap());
                    list.add(m);
                }
                out().println(Json.write(Map.of("checks", list)));
                return 0;
            }
            if (checks.isEmpty()) {
                out().println("no checks yet: probemesh checks apply -f checks.yaml");
                return 0;
            }
            List<List<String>> rows = new ArrayList<>();
            for (Check c : checks) {
                CheckFacts f = CheckFacts.of(c);
                rows.add(List.of(c.getId(), String.valueOf(c.getRevision()), c.getKind(), c.getTarget(),
                        (f.protocol() == null ? "" : f.protocol()) + (f.port() == null ? "" : "/" + f.port()),
                        f.family(), Durations.format(c.getIntervalMs()), Selectors.format(c.getSelectorMap())));
            }
            StringBuilder sb = new StringBuilder();
            Table.render(sb, List.of("id", "rev", "kind", "target", "proto", "family", "every", "selector"), rows, false);
            out().print(sb);
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete a check by id.")
    public static final class Delete extends AdminCall {
        @Parameters(paramLabel = "ID", description = "Check id.")
        String id;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            admin.deleteCheck(DeleteCheckRequest.newBuilder().setId(id).build());
            out().println("deleted " + id);
            return 0;
        }
    }
}
