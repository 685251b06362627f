package dev.probemesh.common.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a server only if its chain contains a certificate whose public key has the pinned
 * fingerprint, and then validates the chain with that certificate as the only trust anchor (so
 * expiry, signatures, key usage and the host name are still checked by the JDK's PKIX code).
 *
 * <p>This is how an agent reaches the coordinator before it holds the CA: the join token's pin
 * stands in for the CA file, as in kubeadm's discovery-token-ca-cert-hash. A certificate of the
 * same CA that is not a server certificate (an agent's client certificate) fails the PKIX
 * server-usage check, so one enrolled agent cannot impersonate the coordinator to another.
 */
public final class PinnedTrustManager extends X509ExtendedTrustManager {
    private final String pin;

    public PinnedTrustManager(String pin) {
        this.pin = CaPin.normalize(pin);
    }

    public String pin() {
        return pin;
    }

    /** Thrown (inside the TLS handshake) when no certificate of the server's chain has the pin. */
    public static final class PinMismatchException extends CertificateException {
        private static final long serialVersionUID = 1L;

        PinMismatchException(String message) {
            super(message);
        }
    }

    private X509ExtendedTrustManager delegateFor(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("server sent no certificate");
        }
        List<String> seen = new ArrayList<>();
        for (X509Certificate c : chain) {
            if (CaPin.verify(pin, c)) {
                return anchoredAt(c);
            }
            seen.add(CaPin.of(c));
        }
        throw new PinMismatchException("the coordinator's certificate chain does not match the CA pin " + pin
                + " (chain keys: " + String.join(", ", seen) + "); this is a different coordinator or a man in"
                + " the middle: check the address and the pin printed by 'probemesh token create'");
    }

    private static X509ExtendedTrustManager anchoredAt(X509Certificate anchor) throws CertificateException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("pinned-ca", anchor);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return x;
                }
            }
            throw new CertificateException("JDK offers no X509ExtendedTrustManager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new CertificateException("cannot build a trust manager for the pinned CA", e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        delegateFor(chain).checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        delegateFor(chain).checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegateFor(chain).checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("PinnedTrustManager only verifies servers");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("PinnedTrustManager only verifies servers");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("PinnedTrustManager only verifies servers");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
