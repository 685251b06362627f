package dev.probemesh.coordinator.identity;

import dev.probemesh.coordinator.identity.IdentityException.Kind;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issues agent certificates: at enrollment (identity from the join token) and at renewal
 * (identity from the current certificate). The request only ever contributes a public key.
 */
public final class AgentCertificates {
    private static final Logger log = LoggerFactory.getLogger(AgentCertificates.class);
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);

    private final CertificateAuthority ca;
    private final AgentRegistry registry;
    private final TokenService tokens;
    private final Clock clock;
    private final Duration ttl;
    private final Object enrollLock = new Object();

    public AgentCertificates(CertificateAuthority ca, AgentRegistry registry, TokenService tokens, Clock clock,
            Duration ttl) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.tokens = Objects.requireNonNull(tokens, "tokens");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (ttl.compareTo(Duration.ofMinutes(5)) < 0) {
            throw new IllegalArgumentException("agent certificate ttl must be at least 5 minutes, got " + ttl);
        }
        this.ttl = ttl;
    }

    /** A signed agent identity. */
    public record Enrolled(String name, String site, Map<String, String> labels, X509Certificate certificate) {
        public Enrolled {
            labels = Map.copyOf(labels);
        }
    }

    public CertificateAuthority ca() {
        return ca;
    }

    public Duration ttl() {
        return ttl;
    }

    public Enrolled enroll(String token, String requestedName, byte[] csrDer) throws IdentityException {
        if (token == null || token.isBlank()) {
            throw new IdentityException(Kind.INVALID_REQUEST, "token is required: pass the join token from 'probemesh token create'");
        }
        Csrs.CheckedCsr csr = Csrs.parse(csrDer);
        TokenService.Redeemed grant = checkToken(token, false);
        String name;
        if (grant.agentName().isPresent()) {
            name = grant.agentName().get();
            if (requestedName != null && !requestedName.isBlank() && !requestedName.equals(name)) {
                log.warn("enrollment asked for name {} but token {} is bound to {}: issuing {}", requestedName,
                        grant.tokenId(), name, name);
            }
        } else {
            if (requestedName == null || requestedName.isBlank()) {
                throw new IdentityException(Kind.INVALID_REQUEST,
                        "agent_name is required: the join token is not bound to a name");
            }
            Names.requireAgentName(requestedName, "agent_name");
            name = requestedName;
        }
        X509Certificate cert;
        // Name check, redemption and record under one lock: two hosts racing for the same free
        // name cannot both get it. Enrollment is rare, so one lock for all names is cheap.
        synchronized (enrollLock) {
            if (grant.agentName().isEmpty() && registry.nameTaken(name)) {
                throw new IdentityException(Kind.NOT_ALLOWED, "agent name " + name + " is already enrolled: choose"
                        + " another name, or re-enroll it with a token bound to it ('probemesh token create --agent-name "
                        + name + "')");
            }
            grant = checkToken(token, true);
            cert = ca.signAgent(csr.publicKey(), name, grant.site(), grant.labels(), ttl);
            registry.recordEnrollment(name, grant.site(), grant.labels(), cert.getSerialNumber(),
                    cert.getNotAfter().toInstant());
        }
        log.info("enrolled agent {} at site {} with token {} (certificate valid until {})", name, grant.site(),
                grant.tokenId(), cert.getNotAfter().toInstant());
        return new Enrolled(name, grant.site(), grant.labels(), cert);
    }

    private TokenService.Redeemed checkToken(String token, boolean consume) throws IdentityException {
        try {
            return consume ? tokens.redeem(token) : tokens.check(token);
        } catch (TokenException e) {
            Kind kind = e.reason() == TokenException.Reason.MALFORMED ? Kind.INVALID_REQUEST : Kind.BAD_CREDENTIAL;
            throw new IdentityException(kind, e.getMessage(), e);
        }
    }

    /**
     * A new certificate for the calling agent: same name, site and labels as its current one,
     * with the (possibly new) key from the CSR.
     */
    public X509Certificate renew(Principal principal, byte[] csrDer) throws IdentityException {
        if (principal.role() != Principal.Role.AGENT) {
            throw new IdentityException(Kind.NOT_ALLOWED, "only an agent with a certificate can renew it"
                    + (principal.role() == Principal.Role.INSECURE ? " (the coordinator runs --insecure)" : ""));
        }
        if (principal.serial() == null || registry.isRevoked(principal.name(), principal.serial())) {
            throw new IdentityException(Kind.NOT_ALLOWED, "agent " + principal.name() + " has been revoked");
        }
        if (principal.notAfter() != null && !principal.notAfter().isAfter(clock.instant())) {
            throw new IdentityException(Kind.BAD_CREDENTIAL, "certificate already expired: re-enroll with a new token");
        }
        Csrs.CheckedCsr csr = Csrs.parse(csrDer);
        X509Certificate cert = ca.signAgent(csr.publicKey(), principal.name(), principal.site(), principal.labels(), ttl);
        Instant notAfter = cert.getNotAfter().toInstant();
        registry.recordRenewal(principal.name(), cert.getSerialNumber(), notAfter);
        log.info("renewed certificate of agent {} until {}", principal.name(), notAfter);
        return cert;
    }
}
