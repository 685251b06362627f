package dev.probemesh.agent.probe.tls;

import dev.probemesh.common.failure.FailureCode;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The TLS machinery the http, https and tls probes share: one client {@link SslContext} per
 * distinct trust configuration, built on first use and cached for the life of the probe (building
 * one loads every system CA, far too slow to do per run), plus the mapping of handshake failures to
 * the failure taxonomy.
 *
 * <p>Every context verifies the chain and the host name (endpoint identification "HTTPS" against
 * the peer host given to {@link SslContext#newHandler}), except the insecure one. Its trust manager
 * also remembers the chain the server presented, so a tls probe can report the leaf's expiry even
 * when validation failed (an expired certificate is exactly when days_left matters).
 */
public final class TlsContexts {

    /** Which CAs a run trusts: the system's plus the agent's extra CAs, a check's own PEM, or none. */
    public record Trust(String caPem, boolean insecure) {
        public Trust {
            caPem = caPem == null ? "" : caPem;
        }

        public static Trust system() {
            return new Trust("", false);
        }
    }

    /** A handshake failure mapped to the taxonomy. */
    public record Classified(FailureCode code, String detail) {
        public Classified {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(detail, "detail");
        }
    }

    private final List<X509Certificate> extraTrust;
    private final ConcurrentMap<Trust, SslContext> contexts = new ConcurrentHashMap<>();
    // Chains seen by the trust managers, keyed by engine identity; weak so an engine whose run
    // never asked (a crash between handshake and read) cannot leak its entry.
    private final Map<SSLEngine, List<X509Certificate>> presented = Collections.synchronizedMap(new WeakHashMap<>());

    public TlsContexts(List<X509Certificate> extraTrust) {
        this.extraTrust = List.copyOf(extraTrust);
    }

    /**
     * The client context for {@code trust}, built once and cached.
     *
     * @throws GeneralSecurityException when {@code trust.caPem()} holds no parsable certificate or
     *     the JDK's trust store cannot be read
     */
    public SslContext context(Trust trust) throws GeneralSecurityException {
        SslContext existing = contexts.get(trust);
        if (existing != null) {
            return existing;
        }
        SslContext built = build(trust);
        SslContext raced = contexts.putIfAbsent(trust, built);
        return raced == null ? built : raced;
    }

    /** The chain the server presented on {@code engine}'s handshake, forgotten once taken. */
    public List<X509Certificate> takePresentedChain(SSLEngine engine) {
        List<X509Certificate> chain = presented.remove(engine);
        return chain == null ? List.of() : chain;
    }

    /** Forgets whatever was recorded for {@code engine} (a run that does not need the chain). */
    public void forget(SSLEngine engine) {
        presented.remove(engine);
    }

    private SslContext build(Trust trust) throws GeneralSecurityException {
        X509ExtendedTrustManager delegate = trust.insecure() ? null : pkix(anchors(trust));
        TrustManager tm = new RecordingTrustManager(delegate);
        try {
            return SslContextBuilder.forClient()
                    // The JDK provider, not OpenSSL: the cause chains we classify are the JDK's.
                    .sslProvider(SslProvider.JDK)
                    .trustManager(tm)
                    .endpointIdentificationAlgorithm(trust.insecure() ? null : "HTTPS")
                    .build();
        } catch (javax.net.ssl.SSLException e) {
            throw new GeneralSecurityException("cannot build a TLS client context: " + e.getMessage(), e);
        }
    }

    private List<X509Certificate> anchors(Trust trust) throws GeneralSecurityException {
        if (!trust.caPem().isBlank()) {
            List<X509Certificate> own = parsePem(trust.caPem());
            if (own.isEmpty()) {
                throw new CertificateException("ca_pem holds no certificate");
            }
            return own;
        }
        TrustManagerFactory system = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        system.init((KeyStore) null);
        List<X509Certificate> all = new ArrayList<>();
        for (TrustManager m : system.getTrustManagers()) {
            if (m instanceof X509TrustManager x) {
                all.addAll(List.of(x.getAcceptedIssuers()));
            }
        }
        all.addAll(extraTrust);
        return all;
    }

    private static X509ExtendedTrustManager pkix(List<X509Certificate> anchors) throws GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        try {
            ks.load(null, null);
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException(e);
        }
        int i = 0;
        for (X509Certificate c : anchors) {
            ks.setCertificateEntry("ca-" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        for (TrustManager m : tmf.getTrustManagers()) {
            if (m instanceof X509ExtendedTrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("the JDK offers no X509ExtendedTrustManager");
    }

    /** Parses one or more PEM certificates. */
    public static List<X509Certificate> parsePem(String pem) throws CertificateException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : cf.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    /**
     * Maps a failure seen while the TLS handshake was in progress. Certificate problems are found in
     * the cause chain the JDK builds (expired leaf, unknown issuer, name mismatch); anything else
     * that broke the handshake (a peer that is not speaking TLS, a reset, a close) is TLS_HANDSHAKE.
     */
    public static Classified classifyHandshake(Throwable failure) {
        Throwable top = failure;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateExpiredException) {
                return new Classified(FailureCode.TLS_CERT_EXPIRED, "certificate expired: " + message(t));
            }
            if (t instanceof CertificateNotYetValidException) {
                return new Classified(FailureCode.TLS_CERT_UNTRUSTED, "certificate not yet valid: " + message(t));
            }
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String m = message(t);
            if (m.contains("No subject alternative") || m.contains("No name matching")) {
                return new Classified(FailureCode.TLS_HOSTNAME_MISMATCH, m);
            }
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String m = message(t);
            if (t instanceof CertPathValidatorException || t instanceof CertPathBuilderException
                    || m.contains("unable to find valid certification path") || m.contains("PKIX path")) {
                return new Classified(FailureCode.TLS_CERT_UNTRUSTED, "certificate not trusted: " + m);
            }
        }
        Throwable root = top;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String detail = root.getClass().getSimpleName() + (message(root).isEmpty() ? "" : ": " + message(root));
        return new Classified(FailureCode.TLS_HANDSHAKE, "TLS handshake failed: " + detail);
    }

    private static String message(Throwable t) {
        return t.getMessage() == null ? "" : t.getMessage();
    }

    /** Records the presented chain, then lets the PKIX manager decide (or accepts, when insecure). */
    private final class RecordingTrustManager extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager delegate;

        RecordingTrustManager(X509ExtendedTrustManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            if (engine != null) {
                presented.put(engine, List.of(chain));
            }
            if (delegate != null) {
                delegate.checkServerTrusted(chain, authType, engine);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            if (delegate != null) {
                delegate.checkServerTrusted(chain, authType, socket);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (delegate != null) {
                delegate.checkServerTrusted(chain, authType);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("a probe is never a TLS server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("a probe is never a TLS server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a probe is never a TLS server");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate == null ? new X509Certificate[0] : delegate.getAcceptedIssuers();
        }
    }

    /** Optional view used by callers that only want the leaf. */
    public static Optional<X509Certificate> leaf(List<X509Certificate> chain) {
        return chain.isEmpty() ? Optional.empty() : Optional.of(chain.get(0));
    }
}
