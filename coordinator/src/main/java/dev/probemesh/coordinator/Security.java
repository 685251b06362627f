package dev.probemesh.coordinator;

import dev.probemesh.coordinator.api.AgentAuthenticator;
import dev.probemesh.coordinator.api.AgentServiceImpl;
import dev.probemesh.coordinator.api.TokenAdmin;
import io.grpc.BindableService;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import java.util.List;

/**
 * Everything about who may call what, gathered in one place: the server's credentials, the
 * interceptor that authenticates each call, how an agent stream learns its agent's identity,
 * join tokens, renewal, and the extra services (enrollment) that exist only with a CA.
 */
public interface Security {
    ServerCredentials serverCredentials();

    List<ServerInterceptor> interceptors();

    AgentAuthenticator agentAuthenticator();

    TokenAdmin tokenAdmin();

    AgentServiceImpl.Renewer renewer();

    List<BindableService> extraServices();

    /** Hourly upkeep, e.g. rotating the server certificate before it expires. */
    default void periodic() {
    }

    /** Registers what to do when an agent is revoked (cut its stream). */
    void onRevoke(java.util.function.Consumer<String> listener);

    /** Plaintext, no authentication: only with an explicit --insecure, logged loudly. */
    static Security insecure() {
        return new Security() {
            @Override
            public ServerCredentials serverCredentials() {
                return io.grpc.InsecureServerCredentials.create();
            }

            @Override
            public List<ServerInterceptor> interceptors() {
                return List.of();
            }

            @Override
            public AgentAuthenticator agentAuthenticator() {
                return AgentAuthenticator.insecure();
            }

            @Override
            public TokenAdmin tokenAdmin() {
                return TokenAdmin.unavailable();
            }

            @Override
            public AgentServiceImpl.Renewer renewer() {
                return (agent, csr) -> {
                    throw io.grpc.Status.FAILED_PRECONDITION.withDescription("insecure mode has no CA").asException();
                };
            }

            @Override
            public List<BindableService> extraServices() {
                return List.of();
            }

            @Override
            public void onRevoke(java.util.function.Consumer<String> listener) {
            }
        };
    }
}
