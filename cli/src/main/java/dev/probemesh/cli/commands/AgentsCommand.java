package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.cli.OutputFormat;
import dev.probemesh.cli.render.Json;
import dev.probemesh.cli.render.Table;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.AgentInfo;
import dev.probemesh.proto.v1.ListAgentsRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "agents", description = "List the agents the coordinator knows, connected or not.")
public final class AgentsCommand extends AdminCall {
    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
    OutputFormat output;

    @Override
    protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
        List<AgentInfo> agents = admin.listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList();
        if (output == OutputFormat.json) {
            List<Object> list = new ArrayList<>();
            for (AgentInfo a : agents) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", a.getName());
                m.put("site", a.getSite());
                m.put("labels", new TreeMap<>(a.getLabelsMap()));
                m.put("connected", a.getConnected());
                m.put("lastSeen", Json.time(a.getLastSeenMs()));
                m.put("version", a.getVersion());
                m.put("clockSkewMs", a.getClockSkewMs());
                Map<String, Object> caps = new LinkedHashMap<>();
                caps.put("ipv4", a.getCapabilities().getIpv4());
                caps.put("ipv6", a.getCapabilities().getIpv6());
                caps.put("icmp", a.getCapabilities().getIcmp());
                caps.put("probeKinds", a.getCapabilities().getProbeKindsList());
                m.put("capabilities", caps);
                list.add(m);
            }
            out().println(Json.write(Map.of("agents", list)));
            return 0;
        }
        if (agents.isEmpty()) {
            out().println("no agents yet: create a join token with 'probemesh token create --site SITE' and start one");
            return 0;
        }
        List<List<String>> rows = new ArrayList<>();
        Instant now = Instant.now();
        for (AgentInfo a : agents) {
            long ago = Duration.between(Instant.ofEpochMilli(a.getLastSeenMs()), now).toSeconds();
            rows.add(List.of(a.getSite(), a.getName(), a.getConnected() ? "connected" : "offline",
                    ago <= 1 ? "now" : ago + "s ago",
                    (a.getCapabilities().getIpv6() ? "v4+v6" : "v4") + (a.getCapabilities().getIcmp() ? " icmp" : ""),
                    a.getVersion(), labels(a.getLabelsMap())));
        }
        StringBuilder sb = new StringBuilder();
        Table.render(sb, List.of("site", "agent", "state", "last seen", "can", "version", "labels"), rows, false);
        out().print(sb);
        return 0;
    }

    static String labels(Map<String, String> labels) {
        StringBuilder sb = new StringBuilder();
        new TreeMap<>(labels).forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ",").append(k).append('=').append(v));
        return sb.toString();
    }
}
