package dev.probemesh.cli.commands;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Fleet-wide sweeps land with the sweeps issue; the command exists so scripts and help show where it goes. */
@Command(name = "sweep", description = "Fleet-wide sweeps (arrives with the sweeps issue; use 'probemesh matrix' meanwhile).")
public final class SweepCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", hidden = true)
    List<String> args;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println("probemesh: sweeps are not available yet (they arrive with the fleet-wide "
                + "sweeps issue); 'probemesh matrix' shows the latest result of every check from every agent");
        return dev.probemesh.cli.ExitCodes.USAGE;
    }
}
