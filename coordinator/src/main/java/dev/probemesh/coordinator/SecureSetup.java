package dev.probemesh.coordinator;

import dev.probemesh.common.check.Hosts;
import dev.probemesh.coordinator.api.AgentAuthenticator;
import dev.probemesh.coordinator.api.AgentServiceImpl;
import dev.probemesh.coordinator.api.TokenAdmin;
import dev.probemesh.coordinator.identity.AgentCertificates;
import dev.probemesh.coordinator.identity.AuthInterceptor;
import dev.probemesh.coordinator.identity.CoordinatorIdentity;
import dev.probemesh.coordinator.identity.IdentityException;
import dev.probemesh.coordinator.identity.IdentityProtos;
import dev.probemesh.coordinator.identity.Principal;
import dev.probemesh.coordinator.identity.ServerNames;
import dev.probemesh.common.tls.Pem;
import dev.probemesh.proto.v1.CreateTokenRequest;
import dev.probemesh.proto.v1.CreateTokenResponse;
import dev.probemesh.proto.v1.ListTokensResponse;
import io.grpc.BindableService;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import javax.sql.DataSource;

/** Production security: our CA, mTLS on every call, join tokens, renewal and revocation. */
public final class SecureSetup implements Security {
    private final CoordinatorIdentity identity;

    private SecureSetup(CoordinatorIdentity identity) {
        this.identity = identity;
    }

    /**
     * Opens (or creates on first start) the CA, the server certificate naming every address in
     * {@code serverNames} (plus localhost), and the admin credential in {@code dataDir/admin}.
     */
    public static SecureSetup create(Path dataDir, List<String> serverNames, DataSource dataSource, Clock clock,
            Duration agentTtl) throws IOException {
        boolean wildcard = serverNames.stream().anyMatch(n -> n.equals("0.0.0.0") || n.equals("::") || n.equals("[::]"));
        List<String> named = serverNames.stream()
                .filter(n -> !(n.equals("0.0.0.0") || n.equals("::") || n.equals("[::]")))
                .map(n -> n.startsWith("[") ? n.substring(1, n.length() - 1) : n).toList();
        Set<String> dns = new LinkedHashSet<>(List.of("localhost"));
        Set<String> ips = new LinkedHashSet<>(List.of("127.0.0.1", "::1"));
        if (wildcard) {
            // Listening everywhere: name every address of this host, since agents may dial any.
            ServerNames here = ServerNames.forThisHost(named);
            dns.addAll(here.dnsNames());
            ips.addAll(here.ipAddresses());
        }
        for (String n : named) {
            (Hosts.isIpLiteral(n) ? ips : dns).add(n);
        }
        return new SecureSetup(CoordinatorIdentity.open(dataDir, dataSource, clock, new ArrayList<>(dns),
                new ArrayList<>(ips), agentTtl));
    }

    public String caPin() {
        return identity.ca().caPin();
    }

    public java.security.cert.X509Certificate caCertificate() {
        return identity.ca().caCert();
    }

    public Path adminDir() {
        return identity.adminCredential().certificate().getParent();
    }

    @Override
    public ServerCredentials serverCredentials() {
        return identity.serverCredentials();
    }

    @Override
    public List<ServerInterceptor> interceptors() {
        return List.of(identity.interceptor());
    }

    @Override
    public AgentAuthenticator agentAuthenticator() {
        return hello -> {
            Principal p = AuthInterceptor.current();
            if (p.role() != Principal.Role.AGENT) {
                throw Status.PERMISSION_DENIED.withDescription("only agent certificates may open an agent stream")
                        .asException();
            }
            // Identity from the certificate; the hello's claims are ignored.
            return new AgentAuthenticator.AgentIdentity(p.name(), p.site(), p.labels());
        };
    }

    @Override
    public TokenAdmin tokenAdmin() {
        return new TokenAdmin() {
            @Override
            public CreateTokenResponse create(CreateTokenRequest request) {
                return IdentityProtos.createToken(identity.tokens(), identity.ca(), request);
            }

            @Override
            public ListTokensResponse list() {
                return IdentityProtos.listTokens(identity.tokens());
            }

            @Override
            public boolean revokeToken(String id) {
                return identity.tokens().revoke(id);
            }

            @Override
            public boolean revokeAgent(String name) {
                return identity.registry().revokeAgent(name);
            }
        };
    }

    @Override
    public AgentServiceImpl.Renewer renewer() {
        AgentCertificates certs = identity.certificates();
        return (agent, csrDer) -> {
            try {
                return Pem.certificate(certs.renew(AuthInterceptor.current(), csrDer));
            } catch (IdentityException e) {
                throw e.toStatus().asException();
            }
        };
    }

    @Override
    public List<BindableService> extraServices() {
        return List.of(identity.enrollService());
    }

    @Override
    public void periodic() {
        try {
            identity.serverIdentity().rotateIfDue();
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(SecureSetup.class).error("server certificate rotation failed", e);
        }
    }

    @Override
    public void onRevoke(Consumer<String> listener) {
        identity.registry().addRevocationListener(listener);
    }
}
