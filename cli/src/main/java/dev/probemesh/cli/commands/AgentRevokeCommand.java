package dev.probemesh.cli.commands;

import dev.probemesh.cli.AdminCall;
import dev.probemesh.proto.v1.AdminServiceGrpc;
import dev.probemesh.proto.v1.RevokeAgentRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code probemesh agent revoke NAME}: the launcher routes it here (other 'agent' words run the agent). */
@Command(name = "agent-revoke", description = "Revoke an agent's certificate: its stream is cut at once and refused afterwards.")
public final class AgentRevokeCommand extends AdminCall {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    protected int run(AdminServiceGrpc.AdminServiceBlockingStub admin) {
        admin.revokeAgent(RevokeAgentRequest.newBuilder().setName(name).build());
        out().println("revoked agent " + name + "; it must re-enroll with a new token to come back");
        return 0;
    }
}
