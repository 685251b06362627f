package dev.probemesh.coordinator.identity;

import dev.probemesh.proto.v1.AgentServiceGrpc;
import dev.probemesh.proto.v1.EnrollServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides who may call what, from the TLS client certificate alone: EnrollService and health need
 * none, AgentService needs an unrevoked agent certificate, AdminService (and anything else) an
 * admin certificate. The caller's {@link Principal} goes into the gRPC Context under
 * {@link #PRINCIPAL}.
 */
public final class AuthInterceptor implements ServerInterceptor {
    private static final Logger log = LoggerFactory.getLogger(AuthInterceptor.class);

    public static final Context.Key<Principal> PRINCIPAL = Context.key("probemesh.principal");
    static final String HEALTH_SERVICE = "grpc.health.v1.Health";

    private final CertificateAuthority ca;
    private final AgentRegistry registry;
    private final Clock clock;
    private final boolean insecure;

    private AuthInterceptor(CertificateAuthority ca, AgentRegistry registry, Clock clock, boolean insecure) {
        this.ca = ca;
        this.registry = registry;
        this.clock = clock;
        this.insecure = insecure;
    }

    /** The production mode: TLS with client certificates from our CA. */
    public static AuthInterceptor mtls(CertificateAuthority ca, AgentRegistry registry, Clock clock) {
        return new AuthInterceptor(Objects.requireNonNull(ca, "ca"), Objects.requireNonNull(registry, "registry"),
                Objects.requireNonNull(clock, "clock"), false);
    }

    /** Explicit --insecure development mode: everyone is let through as {@link Principal.Role#INSECURE}. */
    public static AuthInterceptor insecure() {
        return new AuthInterceptor(null, null, null, true);
    }

    /** The current call's principal; throws if the interceptor is not installed (a wiring bug). */
    public static Principal current() {
        Principal p = PRINCIPAL.get();
        if (p == null) {
            throw new IllegalStateException("no Principal in the gRPC Context: install AuthInterceptor on this service");
        }
        return p;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        Principal principal;
        if (insecure) {
            principal = Principal.insecure();
        } else {
            Decision d = decide(call.getMethodDescriptor().getServiceName(), peerCertificate(call));
            if (d.refusal != null) {
                call.close(d.refusal, new Metadata());
                return new ServerCall.Listener<>() {
                };
            }
            principal = d.principal;
        }
        return Contexts.interceptCall(Context.current().withValue(PRINCIPAL, principal), call, headers, next);
    }

    private record Decision(Principal principal, Status refusal) {
        static Decision allow(Principal p) {
            return new Decision(p, null);
        }

        static Decision refuse(Status s) {
            return new Decision(null, s);
        }
    }

    private Decision decide(String service, Optional<X509Certificate> cert) {
        if (EnrollServiceGrpc.SERVICE_NAME.equals(service) || HEALTH_SERVICE.equals(service)) {
            return Decision.allow(Principal.anonymous());
        }
        boolean agentApi = AgentServiceGrpc.SERVICE_NAME.equals(service);
        if (cert.isEmpty()) {
            return Decision.refuse(Status.UNAUTHENTICATED.withDescription(agentApi
                    ? "no client certificate: enroll this agent with a join token first"
                    : "no client certificate: run 'probemesh context add' with the coordinator's admin credential"));
        }
        X509Certificate c = cert.get();
        if (!ca.issued(c)) {
            return Decision.refuse(Status.UNAUTHENTICATED.withDescription(
                    "client certificate was not issued by this coordinator's CA"));
        }
        if (!c.getNotAfter().toInstant().isAfter(clock.instant())) {
            return Decision.refuse(Status.UNAUTHENTICATED.withDescription("client certificate expired at "
                    + c.getNotAfter().toInstant() + (agentApi ? ": re-enroll the agent with a new join token" : "")));
        }
        Optional<AgentCertificateNames.CertIdentity> id = AgentCertificateNames.read(c);
        if (id.isEmpty()) {
            return Decision.refuse(Status.UNAUTHENTICATED.withDescription(
                    "client certificate does not carry a probemesh identity"));
        }
        String org = id.get().organization();
        if (agentApi) {
            if (!AgentCertificateNames.AGENT_ORG.equals(org)) {
                return Decision.refuse(Status.PERMISSION_DENIED.withDescription(
                        "only agent certificates may open the agent stream (this one is " + org + ")"));
            }
            String name = id.get().commonName();
            if (registry.isRevoked(name, c.getSerialNumber())) {
                log.info("refused revoked agent {} (serial {})", name, c.getSerialNumber().toString(16));
                return Decision.refuse(Status.PERMISSION_DENIED.withDescription("the certificate of agent " + name
                        + " has been revoked: re-enroll with a join token bound to this name"));
            }
            return Decision.allow(new Principal(Principal.Role.AGENT, name, id.get().site(), id.get().labels(),
                    c.getSerialNumber(), c.getNotAfter().toInstant()));
        }
        // AdminService and anything not listed above: admin only (fail closed for new services).
        if (AgentCertificateNames.AGENT_ORG.equals(org)) {
            return Decision.refuse(Status.PERMISSION_DENIED.withDescription("agent certificates cannot call the admin API"));
        }
        if (!AgentCertificateNames.ADMIN_ORG.equals(org)) {
            return Decision.refuse(Status.PERMISSION_DENIED.withDescription(
                    "certificate of " + org + " cannot call " + service));
        }
        return Decision.allow(new Principal(Principal.Role.ADMIN, id.get().commonName(), "", java.util.Map.of(),
                c.getSerialNumber(), c.getNotAfter().toInstant()));
    }

    private static Optional<X509Certificate> peerCertificate(ServerCall<?, ?> call) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? Optional.of(x) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

}
