package dev.probemesh.coordinator.api;

import dev.probemesh.proto.v1.Hello;
import io.grpc.StatusException;
import java.util.Map;

/**
 * Says who is on the other end of an agent stream. With mTLS the answer comes from the client
 * certificate (in the call's gRPC Context) and the hello's claims are ignored; only the explicit
 * --insecure development mode believes the hello.
 */
@FunctionalInterface
public interface AgentAuthenticator {

    /** Called on the stream's thread, with the call's gRPC Context current. */
    AgentIdentity authenticate(Hello hello) throws StatusException;

    /** The trusted identity of an agent stream. */
    record AgentIdentity(String name, String site, Map<String, String> labels) {
        public AgentIdentity {
            labels = Map.copyOf(labels);
        }
    }

    /** Development mode: believes the hello (logged loudly at start). */
    static AgentAuthenticator insecure() {
        return hello -> {
            if (hello.getAgentName().isBlank()) {
                throw io.grpc.Status.INVALID_ARGUMENT.withDescription("hello without agent_name").asException();
            }
            return new AgentIdentity(hello.getAgentName(), hello.getSite(), hello.getLabelsMap());
        };
    }
}
