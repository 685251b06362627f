package dev.probemesh.coordinator.identity;

import io.grpc.ServerCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's whole identity layer, wired: on first start it creates the CA
 * ({@code <dataDir>/ca/ca.key} 0600, {@code ca.crt}), the server certificate
 * ({@code <dataDir>/ca/server.{crt,key}}) and the admin credential
 * ({@code <dataDir>/admin/{admin.crt,admin.key,ca.crt}}); later starts reuse them.
 */
public final class CoordinatorIdentity {
    private static final Logger log = LoggerFactory.getLogger(CoordinatorIdentity.class);

    private final CertificateAuthority ca;
    private final TokenService tokens;
    private final AgentRegistry registry;
    private final AgentCertificates certificates;
    private final RotatingServerIdentity server;
    private final CertificateAuthority.AdminCredential admin;
    private final Clock clock;

    private CoordinatorIdentity(CertificateAuthority ca, TokenService tokens, AgentRegistry registry,
            AgentCertificates certificates, RotatingServerIdentity server, CertificateAuthority.AdminCredential admin,
            Clock clock) {
        this.ca = ca;
        this.tokens = tokens;
        this.registry = registry;
        this.certificates = certificates;
        this.server = server;
        this.admin = admin;
        this.clock = clock;
    }

    /**
     * @param dnsNames    names agents and the CLI dial (e.g. the host's FQDN, "localhost")
     * @param ipAddresses IP literals they dial; the server certificate must name what is dialled
     * @param agentTtl    agent certificate lifetime (agents renew at 2/3); {@link AgentCertificates#DEFAULT_TTL}
     */
    public static CoordinatorIdentity open(Path dataDir, DataSource dataSource, Clock clock, List<String> dnsNames,
            List<String> ipAddresses, Duration agentTtl) throws IOException {
        Objects.requireNonNull(dataSource, "dataSource");
        SecureRandom random = new SecureRandom();
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dataDir.resolve("ca"), clock, random);
        TokenService tokens = new TokenService(dataSource, clock, random);
        AgentRegistry registry = new AgentRegistry(dataSource, clock);
        AgentCertificates certificates = new AgentCertificates(ca, registry, tokens, clock, agentTtl);
        RotatingServerIdentity server = new RotatingServerIdentity(ca, dnsNames, ipAddresses);
        CertificateAuthority.AdminCredential admin = ca.ensureAdminCredential(dataDir.resolve("admin"));
        log.info("coordinator identity ready: CA pin {}, admin credential in {}", ca.caPin(), admin.certificate().getParent());
        return new CoordinatorIdentity(ca, tokens, registry, certificates, server, admin, clock);
    }

    public CertificateAuthority ca() {
        return ca;
    }

    public TokenService tokens() {
        return tokens;
    }

    public AgentRegistry registry() {
        return registry;
    }

    public AgentCertificates certificates() {
        return certificates;
    }

    public RotatingServerIdentity serverIdentity() {
        return server;
    }

    public CertificateAuthority.AdminCredential adminCredential() {
        return admin;
    }

    /** TLS with our rotating server certificate; client certificates optional, from our CA only. */
    public ServerCredentials serverCredentials() {
        return server.serverCredentials();
    }

    public AuthInterceptor interceptor() {
        return AuthInterceptor.mtls(ca, registry, clock);
    }

    public EnrollServiceImpl enrollService() {
        return new EnrollServiceImpl(certificates);
    }
}
