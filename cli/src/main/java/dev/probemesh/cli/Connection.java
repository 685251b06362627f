package dev.probemesh.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Option;

/**
 * Which coordinator a command talks to, and how: the current context (like kubectl's), a named
 * one, or an explicit address. Mixed into every command that calls the admin API.
 */
public final class Connection {
    @Option(names = "--context", description = "Context to use (default: the current one; see 'probemesh context list').")
    String context;

    @Option(names = "--coordinator", description = "Coordinator address HOST:PORT, overriding the context's.")
    String coordinator;

    @Option(names = "--insecure", description = "Plaintext, no credentials (only for a coordinator started with --insecure).")
    boolean insecure;

    @Option(names = "--timeout", defaultValue = "30s", description = "Deadline of each call (default: ${DEFAULT-VALUE}).")
    String timeout;

    public long timeoutMs() {
        return dev.probemesh.common.check.Durations.parseMillis(timeout);
    }

    public ManagedChannel open() throws CliException {
        return Channels.open(context, coordinator, insecure);
    }

    public String describeTarget() {
        return Channels.describe(context, coordinator);
    }

    /** Why a call failed, in words that say what to do. */
    public static String explain(StatusRuntimeException e, String target) {
        var s = e.getStatus();
        String d = s.getDescription() == null ? "" : s.getDescription();
        return switch (s.getCode()) {
            case UNAVAILABLE -> "cannot reach the coordinator at " + target + ": " + d
                    + (d.contains("ssl") || d.contains("SSL") || d.contains("certificate")
                    ? "" : " (is it running? check the address, or 'probemesh context list')");
            case DEADLINE_EXCEEDED -> "the coordinator at " + target + " did not answer in time: " + d;
            case UNAUTHENTICATED -> "not authenticated: " + d;
            case PERMISSION_DENIED -> "permission denied: " + d;
            case UNIMPLEMENTED -> "the coordinator does not support this call (older version?): " + d;
            default -> d.isEmpty() ? s.getCode().toString() : d;
        };
    }

    public static int exitCode(StatusRuntimeException e) {
        return switch (e.getStatus().getCode()) {
            case UNAVAILABLE, DEADLINE_EXCEEDED -> ExitCodes.UNREACHABLE;
            case UNAUTHENTICATED, PERMISSION_DENIED -> ExitCodes.AUTH;
            case INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS, OUT_OF_RANGE -> ExitCodes.REFUSED;
            default -> ExitCodes.ERROR;
        };
    }
}
