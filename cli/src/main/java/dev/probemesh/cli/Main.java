package dev.probemesh.cli;

import dev.probemesh.cli.commands.AgentRevokeCommand;
import dev.probemesh.cli.commands.AgentsCommand;
import dev.probemesh.cli.commands.ChecksCommand;
import dev.probemesh.cli.commands.ContextCommand;
import dev.probemesh.cli.commands.DiagnoseCommand;
import dev.probemesh.cli.commands.MatrixCommand;
import dev.probemesh.cli.commands.ScheduleCommand;
import dev.probemesh.cli.commands.SweepCommand;
import dev.probemesh.cli.commands.TokenCommand;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The probemesh command line. The root launcher ({@code ./probemesh}) runs the coordinator, the
 * agent and the lab itself and hands every other subcommand here; the entries for those three
 * exist so that {@code --help} lists the whole tool.
 */
@Command(name = "probemesh", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, versionProvider = Main.Version.class,
        description = {"A multi-site network probe mesh: agents probe from every site; the coordinator tells a "
                + "target outage from a local path block and from a target policy block.", ""},
        commandListHeading = "%nCommands:%n",
        subcommands = {Main.CoordinatorHelp.class, Main.AgentHelp.class, Main.LabHelp.class, AgentsCommand.class,
                ChecksCommand.class, MatrixCommand.class, DiagnoseCommand.class, SweepCommand.class, ScheduleCommand.class,
                TokenCommand.class, ContextCommand.class, AgentRevokeCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 findings (--fail-on-verdict), 2 bad usage or input, 3 coordinator unreachable,",
                "4 refused by the coordinator, 5 authentication, 10 other errors."})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true, StandardCharsets.UTF_8),
                new PrintWriter(System.err, true, StandardCharsets.UTF_8)));
    }

    /** Runs one command with the given streams; returns the exit code (tests call this). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("probemesh: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            cmd.getErr().println("probemesh: unexpected error: " + e);
            return ExitCodes.ERROR;
        });
        try {
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a command is required (see --help)");
    }

    @Command(name = "coordinator", description = "Run the coordinator (./probemesh coordinator --help).")
    static final class CoordinatorHelp implements Runnable {
        @Override
        public void run() {
            System.err.println("run the coordinator through the launcher: ./probemesh coordinator --help");
        }
    }

    @Command(name = "agent", description = "Run an agent, or enroll one (./probemesh agent --help); 'agent revoke NAME' revokes one.")
    static final class AgentHelp implements Runnable {
        @Override
        public void run() {
            System.err.println("run the agent through the launcher: ./probemesh agent --help");
        }
    }

    @Command(name = "lab", description = "The multi-site lab on this machine: up, down, status, fault NAME, heal (root).")
    static final class LabHelp implements Runnable {
        @Override
        public void run() {
            System.err.println("run the lab through the launcher: ./probemesh lab up");
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"probemesh " + (v == null ? "dev" : v)};
        }
    }
}
