package dev.probemesh.cli.commands;

import dev.probemesh.cli.ExitCodes;
import dev.probemesh.cli.render.Table;
import dev.probemesh.cli.context.ContextCommands;
import dev.probemesh.cli.context.ContextStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "context", description = "Coordinators and credentials the CLI talks to (stored 0600 in ~/.config/probemesh, like kubeconfig).",
        subcommands = {ContextCommand.Add.class, ContextCommand.Use.class, ContextCommand.ListContexts.class,
                ContextCommand.Remove.class})
public final class ContextCommand {

    abstract static class Base implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public final Integer call() {
            try {
                return run(ContextStore.atDefaultLocation());
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("probemesh: " + e.getMessage());
                return ExitCodes.USAGE;
            } catch (IOException e) {
                spec.commandLine().getErr().println("probemesh: " + e.getMessage());
                return ExitCodes.ERROR;
            }
        }

        abstract int run(ContextStore store) throws IOException;
    }

    @Command(name = "add", description = "Add a context from the admin credential the coordinator wrote at first start, and make it current.")
    static final class Add extends Base {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--coordinator", required = true, description = "Coordinator HOST:PORT.")
        String coordinator;

        @Option(names = "--admin-dir", description = "The coordinator's admin credential folder (DATA-DIR/admin: admin.crt, admin.key, ca.crt).")
        Path adminDir;

        @Option(names = "--insecure", description = "For a coordinator started with --insecure: no credentials.")
        boolean insecure;

        @Override
        int run(ContextStore store) throws IOException {
            ContextCommands cmds = new ContextCommands(store);
            if (insecure) {
                cmds.addInsecure(name, coordinator);
            } else {
                if (adminDir == null) {
                    throw new IllegalArgumentException("--admin-dir is required (or --insecure)");
                }
                cmds.add(name, coordinator, adminDir);
            }
            store.use(name);
            spec.commandLine().getOut().println("context " + name + " -> " + coordinator + " added and in use ("
                    + store.file() + ")");
            return 0;
        }
    }

    @Command(name = "use", description = "Make a context the current one.")
    static final class Use extends Base {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        int run(ContextStore store) throws IOException {
            store.use(name);
            spec.commandLine().getOut().println("using context " + name);
            return 0;
        }
    }

    @Command(name = "remove", description = "Remove a context.")
    static final class Remove extends Base {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        int run(ContextStore store) throws IOException {
            if (!store.remove(name)) {
                throw new IllegalArgumentException("no context named '" + name + "'");
            }
            spec.commandLine().getOut().println("removed context " + name);
            return 0;
        }
    }

    @Command(name = "list", description = "List contexts; * marks the current one.")
    static final class ListContexts extends Base {
        @Override
        int run(ContextStore store) throws IOException {
            ContextStore.Config c = store.load();
            List<List<String>> rows = new ArrayList<>();
            for (ContextStore.Context ctx : c.contexts()) {
                rows.add(List.of(ctx.name().equals(c.currentContext()) ? "*" : " ", ctx.name(), ctx.coordinator(),
                        ctx.insecure() ? "insecure" : "mTLS"));
            }
            if (rows.isEmpty()) {
                spec.commandLine().getOut().println("no contexts yet: probemesh context add NAME --coordinator HOST:PORT --admin-dir DIR");
                return 0;
            }
            StringBuilder sb = new StringBuilder();
            Table.render(sb, List.of(" ", "name", "coordinator", "auth"), rows, false);
            spec.commandLine().getOut().print(sb);
            return 0;
        }
    }
}
