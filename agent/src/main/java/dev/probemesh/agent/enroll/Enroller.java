package dev.probemesh.agent.enroll;

import com.google.protobuf.ByteString;
import dev.probemesh.common.check.HostPort;
import dev.probemesh.common.tls.CaPin;
import dev.probemesh.common.tls.Pem;
import dev.probemesh.common.tls.PinnedTrustManager;
import dev.probemesh.proto.v1.EnrollRequest;
import dev.probemesh.proto.v1.EnrollResponse;
import dev.probemesh.proto.v1.EnrollServiceGrpc;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enrolls this host: makes a key pair locally, sends only a CSR and the join token to the
 * coordinator over TLS verified against the pinned CA key, and stores the identity it gets back.
 */
public final class Enroller {
    private static final Logger log = LoggerFactory.getLogger(Enroller.class);
    public static final int DEFAULT_PORT = 443;
    public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(30);

    private final Duration deadline;

    public Enroller() {
        this(DEFAULT_DEADLINE);
    }

    public Enroller(Duration deadline) {
        this.deadline = Objects.requireNonNull(deadline, "deadline");
    }

    /**
     * @param coordinatorHostPort host:port (default port 443), [v6]:port
     * @param requestedName       the agent name to ask for; ignored when the token is bound to a name
     */
    public AgentCredentials enroll(String coordinatorHostPort, String token, String caPin, String requestedName,
            Path dataDir) throws EnrollException {
        String pin;
        try {
            pin = CaPin.normalize(caPin);
        } catch (IllegalArgumentException e) {
            throw new EnrollException(EnrollException.Reason.INVALID_INPUT, e.getMessage(), e);
        }
        HostPort hp = parseAddress(coordinatorHostPort);
        if (hp == null) {
            throw new EnrollException(EnrollException.Reason.INVALID_INPUT,
                    "coordinator address '" + coordinatorHostPort + "' is invalid: expected host:port or [v6]:port", null);
        }
        if (token == null || token.isBlank()) {
            throw new EnrollException(EnrollException.Reason.INVALID_INPUT,
                    "a join token is required: create one with 'probemesh token create'", null);
        }
        KeyPair keyPair = Csr.newKeyPair();
        EnrollRequest request = EnrollRequest.newBuilder()
                .setToken(token.trim())
                .setAgentName(requestedName == null ? "" : requestedName)
                .setCsrDer(ByteString.copyFrom(Csr.create(keyPair, requestedName)))
                .build();
        String target = hp.toString();
        ManagedChannel channel = Grpc.newChannelBuilder(target,
                TlsChannelCredentials.newBuilder().trustManager(new PinnedTrustManager(pin)).build()).build();
        EnrollResponse response;
        try {
            response = EnrollServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
                    .enroll(request);
        } catch (StatusRuntimeException e) {
            throw translate(target, e);
        } finally {
            channel.shutdownNow();
        }
        X509Certificate ca;
        X509Certificate cert;
        try {
            ca = Pem.readCertificate(response.getCaPem());
            cert = Pem.readCertificate(response.getCertificatePem());
        } catch (IllegalArgumentException e) {
            throw new EnrollException(EnrollException.Reason.INVALID_RESPONSE,
                    "the coordinator's answer holds no valid certificate: " + e.getMessage(), e);
        }
        if (!CaPin.verify(pin, ca)) {
            throw new EnrollException(EnrollException.Reason.PIN_MISMATCH, "the CA the coordinator returned ("
                    + CaPin.of(ca) + ") does not match the pin " + pin + ": refusing it", null);
        }
        if (!cert.getPublicKey().equals(keyPair.getPublic())) {
            throw new EnrollException(EnrollException.Reason.INVALID_RESPONSE,
                    "the coordinator returned a certificate for another key", null);
        }
        try {
            cert.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new EnrollException(EnrollException.Reason.INVALID_RESPONSE,
                    "the returned certificate is not signed by the pinned CA", e);
        }
        if (!AgentCredentials.commonName(cert).equals(response.getAgentName())) {
            throw new EnrollException(EnrollException.Reason.INVALID_RESPONSE, "the certificate names '"
                    + AgentCredentials.commonName(cert) + "' but the answer says '" + response.getAgentName() + "'", null);
        }
        try {
            AgentCredentials creds = AgentCredentials.store(dataDir, keyPair, cert, ca, response.getAgentName(),
                    response.getSite(), response.getLabelsMap(), target);
            log.info("enrolled as agent {} at site {} (certificate valid until {})", creds.name(), creds.site(),
                    creds.notAfter());
            return creds;
        } catch (IOException e) {
            throw new EnrollException(EnrollException.Reason.STORAGE,
                    "enrolled, but cannot write the credentials to " + dataDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * host, host:port, [v6]:port or a bare IPv6 literal (default port 443). Parsed here rather
     * than with HostPort.parse, which reads "192.0.2.1:7443" as an IPv6 literal.
     */
    static HostPort parseAddress(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String t = text.trim();
        String host;
        String port = null;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0) {
                return null;
            }
            host = t.substring(1, close);
            String rest = t.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    return null;
                }
                port = rest.substring(1);
            }
        } else if (t.indexOf(':') != t.lastIndexOf(':')) {
            host = t; // bare IPv6 literal
        } else if (t.contains(":")) {
            host = t.substring(0, t.indexOf(':'));
            port = t.substring(t.indexOf(':') + 1);
        } else {
            host = t;
        }
        try {
            int p = port == null ? DEFAULT_PORT : Integer.parseInt(port);
            return host.isEmpty() || p < 1 || p > 65535 ? null : new HostPort(host, p);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static EnrollException translate(String target, StatusRuntimeException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof PinnedTrustManager.PinMismatchException) {
                return new EnrollException(EnrollException.Reason.PIN_MISMATCH, "refusing " + target + ": "
                        + c.getMessage(), e);
            }
        }
        Status s = e.getStatus();
        if (s.getCode() == Status.Code.UNAVAILABLE) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof CertificateException || c instanceof SSLException) {
                    return new EnrollException(EnrollException.Reason.TLS, "TLS with " + target + " failed: "
                            + c.getMessage() + " (the coordinator's certificate must name the address you dial)", e);
                }
            }
        }
        if (s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            return new EnrollException(EnrollException.Reason.UNREACHABLE, "coordinator " + target
                    + " unreachable: " + s.getCode() + (s.getDescription() == null ? "" : " " + s.getDescription()), e);
        }
        return new EnrollException(EnrollException.Reason.REFUSED, "coordinator " + target + " refused the enrollment: "
                + s.getCode() + ": " + s.getDescription(), e);
    }
}
