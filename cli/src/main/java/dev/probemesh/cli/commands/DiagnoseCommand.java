package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.cli.ExitCodes;
import dev.probemesh.cli.OutputFormat;
import dev.probemesh.cli.render.Json;
import dev.probemesh.cli.render.Table;
import dev.probemesh.cli.render.VerdictView;
import dev.probemesh.common.check.Durations;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "diagnose", description = "Explain the red cells: outages, local path blocks, policy blocks, with evidence and a remedy.")
public final class DiagnoseCommand extends AdminCall {
    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json (the stable verdict contract)")
    OutputFormat output;

    @Option(names = "--all", description = "Also list recently closed verdicts.")
    boolean all;

    @Option(names = "--site", description = "Only verdicts involving this site.")
    String site;

    @Option(names = "--target", description = "Only verdicts about this target.")
    String target;

    @Option(names = "--since", description = "Closed verdicts since this long ago, e.g. 1h (with --all; default 1h).")
    String since;

    @Option(names = "--sweep", paramLabel = "ID", description = "Only the verdicts that concern this sweep: open "
            + "during it, about its checks and agents (closed ones included).")
    String sweep;

    @Option(names = "--fail-on-verdict", description = "Exit 1 when any verdict is open (for scripts and cron).")
    boolean failOnVerdict;

    @Override
    protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
        DiagnoseRequest.Builder req = DiagnoseRequest.newBuilder().setIncludeClosed(all);
        if (site != null) {
            req.setSite(site);
        }
        if (target != null) {
            req.setTarget(target);
        }
        if (sweep != null) {
            req.setSweepId(sweep);
        }
        if (since != null) {
            req.setSinceMs(System.currentTimeMillis() - Durations.parseMillis(since));
        }
        DiagnoseResponse r = admin.diagnose(req.build());
        if (output == OutputFormat.json) {
            out().println(Json.write(VerdictView.toJson(r)));
        } else {
            out().print(VerdictView.toText(r, Table.colorWanted()));
        }
        boolean open = r.getVerdictsList().stream().anyMatch(v -> v.getState().equals("OPEN"));
        return failOnVerdict && open ? ExitCodes.FINDINGS : 0;
    }
}
