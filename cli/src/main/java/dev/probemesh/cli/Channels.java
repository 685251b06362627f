package dev.probemesh.cli;

import dev.probemesh.cli.context.ContextStore;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;

/** Opens the channel a command uses: an explicit --coordinator --insecure, else a context (like kubectl). */
final class Channels {
    private Channels() {
    }

    static ManagedChannel open(String contextName, String coordinator, boolean insecure) throws CliException {
        if (insecure) {
            String target = coordinator != null ? coordinator : System.getenv("PROBEMESH_COORDINATOR");
            if (target == null) {
                throw new CliException(ExitCodes.USAGE, "--insecure needs --coordinator HOST:PORT");
            }
            return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
        }
        try {
            ContextStore.Context ctx = ContextStore.atDefaultLocation().resolve(contextName);
            if (coordinator != null) {
                ctx = ctx.withCoordinator(coordinator);
            }
            return ctx.openChannel();
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.USAGE, e.getMessage());
        } catch (IOException e) {
            throw new CliException(ExitCodes.AUTH, e.getMessage());
        }
    }

    /** The address a command would talk to, for messages. */
    static String describe(String contextName, String coordinator) {
        if (coordinator != null) {
            return coordinator;
        }
        try {
            return ContextStore.atDefaultLocation().resolve(contextName).coordinator();
        } catch (IOException | IllegalArgumentException e) {
            return "HOST:PORT";
        }
    }
}
