package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.cli.OutputFormat;
import dev.probemesh.cli.render.Json;
import dev.probemesh.cli.render.Table;
import dev.probemesh.common.check.Durations;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.CreateTokenRequest;
import dev.probemesh.proto.v1.CreateTokenResponse;
import dev.probemesh.proto.v1.ListTokensRequest;
import dev.probemesh.proto.v1.RevokeTokenRequest;
import dev.probemesh.proto.v1.TokenInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "token", description = "Join tokens: single-use, expiring credentials that enroll a new agent.",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
public final class TokenCommand {

    @Command(name = "create", description = "Create a join token bound to a site and labels; prints it with the CA pin.")
    public static final class Create extends AdminCall {
        @Option(names = "--site", required = true, description = "Site the agent will belong to.")
        String site;

        @Option(names = "--labels", description = "Labels k=v[,k=v] the agent will carry.")
        String labels;

        @Option(names = "--name", description = "Bind the token to this agent name (also allows re-enrolling that agent).")
        String name;

        @Option(names = "--ttl", defaultValue = "1h", description = "Lifetime (default ${DEFAULT-VALUE}).")
        String ttl;

        @Option(names = "--uses", defaultValue = "1", description = "How many enrollments it allows (default ${DEFAULT-VALUE}).")
        int uses;

        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            long ttlMs = Durations.parseMillis(ttl);
            CreateTokenRequest.Builder req = CreateTokenRequest.newBuilder().setSite(site)
                    .putAllLabels(Selectors.parse(labels)).setTtlS((int) Math.max(1, ttlMs / 1000)).setUses(uses);
            if (name != null) {
                req.setAgentName(name);
            }
            CreateTokenResponse r = admin.createToken(req.build());
            if (output == OutputFormat.json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("token", r.getToken());
                m.put("caPin", r.getCaPin());
                m.put("id", r.getInfo().getId());
                m.put("site", r.getInfo().getSite());
                m.put("expiresAt", Json.time(r.getInfo().getExpiresAtMs()));
                m.put("uses", r.getInfo().getUsesLeft());
                out().println(Json.write(m));
                return 0;
            }
            out().println("token:   " + r.getToken());
            out().println("ca pin:  " + r.getCaPin());
            out().println("expires: " + Json.time(r.getInfo().getExpiresAtMs()) + " (" + r.getInfo().getUsesLeft()
                    + " use" + (r.getInfo().getUsesLeft() == 1 ? "" : "s") + ")");
            out().println();
            out().println("on the new host, run:");
            out().println("  probemesh agent --coordinator " + connection.describeTarget() + " --name "
                    + (name == null ? "NAME" : name) + " --site " + site + " --token " + r.getToken()
                    + " --ca-pin " + r.getCaPin());
            return 0;
        }
    }

    @Command(name = "list", description = "List join tokens (never their secrets).")
    public static final class ListTokens extends AdminCall {
        @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json")
        OutputFormat output;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            List<TokenInfo> tokens = admin.listTokens(ListTokensRequest.getDefaultInstance()).getTokensList();
            if (output == OutputFormat.json) {
                List<Object> list = new ArrayList<>();
                for (TokenInfo t : tokens) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("id", t.getId());
                    m.put("site", t.getSite());
                    m.put("labels", t.getLabelsMap());
                    m.put("agentName", t.getAgentName().isEmpty() ? null : t.getAgentName());
                    m.put("expiresAt", Json.time(t.getExpiresAtMs()));
                    m.put("usesLeft", t.getUsesLeft());
                    m.put("revoked", t.getRevoked());
                    list.add(m);
                }
                out().println(Json.write(Map.of("tokens", list)));
                return 0;
            }
            List<List<String>> rows = new ArrayList<>();
            for (TokenInfo t : tokens) {
                rows.add(List.of(t.getId(), t.getSite(), t.getAgentName(), Json.time(t.getExpiresAtMs()),
                        String.valueOf(t.getUsesLeft()), t.getRevoked() ? "revoked" : ""));
            }
            StringBuilder sb = new StringBuilder();
            Table.render(sb, List.of("id", "site", "agent", "expires", "uses left", ""), rows, false);
            out().print(sb);
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke a join token by id.")
    public static final class Revoke extends AdminCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
            admin.revokeToken(RevokeTokenRequest.newBuilder().setId(id).build());
            out().println("revoked token " + id);
            return 0;
        }
    }
}
