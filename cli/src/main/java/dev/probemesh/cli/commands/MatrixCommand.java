package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.cli.OutputFormat;
import dev.probemesh.cli.render.Json;
import dev.probemesh.cli.render.MatrixView;
import dev.probemesh.cli.render.Table;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.MatrixRequest;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "matrix", description = "Show the cross-site reachability matrix: agents by site against checks.")
public final class MatrixCommand extends AdminCall {
    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
    OutputFormat output;

    @Option(names = "--selector", description = "Only agents matching k=v[,k=v] (site=idc matches the site).")
    String selector;

    @Option(names = "--checks", split = ",", description = "Only these check ids.")
    List<String> checks;

    @Option(names = "--by-check", description = "Rows are checks, columns agents (handy for few agents).")
    boolean byCheck;

    @Override
    protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
        MatrixRequest.Builder req = MatrixRequest.newBuilder().putAllAgentSelector(Selectors.parse(selector));
        if (checks != null) {
            req.addAllCheckIds(checks);
        }
        MatrixView m = MatrixView.collect(admin.getMatrix(req.build()));
        if (output == OutputFormat.json) {
            out().println(Json.write(m.toJson()));
        } else {
            out().print(m.toTable(Table.colorWanted(), byCheck));
        }
        return 0;
    }
}
