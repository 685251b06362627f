package dev.probemesh.cli;

import dev.probemesh.proto.v1.AdminServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Base of every command that calls the admin API: opens the channel, maps failures to messages and exit codes. */
public abstract class AdminCall implements Callable<Integer> {
    @Mixin
    protected Connection connection;

    @Spec
    protected CommandSpec spec;

    protected PrintWriter out() {
        return spec.commandLine().getOut();
    }

    protected PrintWriter err() {
        return spec.commandLine().getErr();
    }

    @Override
    public final Integer call() {
        ManagedChannel channel;
        try {
            channel = connection.open();
        } catch (CliException e) {
            err().println("probemesh: " + e.getMessage());
            return e.exitCode();
        }
        try {
            AdminServiceGrpc.AdminServiceBlockingStub stub = AdminServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(connection.timeoutMs(), TimeUnit.MILLISECONDS)
                    .withMaxInboundMessageSize(64 << 20);
            return run(stub);
        } catch (StatusRuntimeException e) {
            err().println("probemesh: " + Connection.explain(e, channel.authority()));
            return Connection.exitCode(e);
        } catch (CliException e) {
            err().println("probemesh: " + e.getMessage());
            return e.exitCode();
        } finally {
            channel.shutdownNow();
        }
    }

    protected abstract int run(AdminServiceGrpc.AdminServiceBlockingStub admin) throws CliException;
}
