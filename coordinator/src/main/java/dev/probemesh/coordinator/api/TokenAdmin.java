package dev.probemesh.coordinator.api;

import dev.probemesh.proto.v1.CreateTokenRequest;
import dev.probemesh.proto.v1.CreateTokenResponse;
import dev.probemesh.proto.v1.ListTokensResponse;
import io.grpc.StatusException;

/** Join tokens and agent revocation, served by the identity layer. */
public interface TokenAdmin {
    CreateTokenResponse create(CreateTokenRequest request) throws StatusException;

    ListTokensResponse list() throws StatusException;

    boolean revokeToken(String id) throws StatusException;

    boolean revokeAgent(String name) throws StatusException;

    /** In --insecure mode there is no CA and agents join without tokens. */
    static TokenAdmin unavailable() {
        StatusException e = io.grpc.Status.FAILED_PRECONDITION
                .withDescription("the coordinator runs with --insecure: there is no CA, agents join without tokens")
                .asException();
        return new TokenAdmin() {
            @Override
            public CreateTokenResponse create(CreateTokenRequest r) throws StatusException {
                throw e;
            }

            @Override
            public ListTokensResponse list() throws StatusException {
                throw e;
            }

            @Override
            public boolean revokeToken(String id) throws StatusException {
                throw e;
            }

            @Override
            public boolean revokeAgent(String name) throws StatusException {
                throw e;
            }
        };
    }
}
