package dev.probemesh.coordinator.identity;

import dev.probemesh.proto.v1.CreateTokenRequest;
import dev.probemesh.proto.v1.CreateTokenResponse;
import dev.probemesh.proto.v1.TokenInfo;
import java.time.Duration;

/** Wire mapping of the identity values used by the admin API (CreateToken, ListTokens). */
public final class IdentityProtos {
    public static final Duration DEFAULT_TOKEN_TTL = Duration.ofHours(1);

    private IdentityProtos() {
    }

    public static TokenInfo tokenInfo(TokenService.TokenInfo t) {
        return TokenInfo.newBuilder()
                .setId(t.id())
                .setSite(t.site())
                .putAllLabels(t.labels())
                .setExpiresAtMs(t.expiresAt().toEpochMilli())
                .setUsesLeft(Math.max(0, t.usesLeft()))
                .setRevoked(t.revoked())
                .setAgentName(t.agentName().orElse(""))
                .build();
    }

    /**
     * Creates a token from the request, applying the proto defaults (ttl 3600 s, 1 use). Throws
     * IllegalArgumentException (map to INVALID_ARGUMENT) for a bad site, label, ttl or name.
     */
    public static CreateTokenResponse createToken(TokenService tokens, CertificateAuthority ca, CreateTokenRequest r) {
        Duration ttl = r.getTtlS() == 0 ? DEFAULT_TOKEN_TTL : Duration.ofSeconds(r.getTtlS());
        int uses = r.getUses() == 0 ? 1 : r.getUses();
        TokenService.Created c = tokens.create(r.getSite(), r.getLabelsMap(), ttl, uses,
                r.getAgentName().isBlank() ? null : r.getAgentName());
        return CreateTokenResponse.newBuilder()
                .setToken(c.token())
                .setCaPin(ca.caPin())
                .setInfo(tokenInfo(c.info()))
                .build();
    }

    public static dev.probemesh.proto.v1.ListTokensResponse listTokens(TokenService tokens) {
        dev.probemesh.proto.v1.ListTokensResponse.Builder b = dev.probemesh.proto.v1.ListTokensResponse.newBuilder();
        tokens.list().forEach(t -> b.addTokens(tokenInfo(t)));
        return b.build();
    }
}
