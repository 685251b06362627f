package dev.probemesh.coordinator.identity;

import dev.probemesh.common.tls.KeyMaterial;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The coordinator's server certificate, replaceable while the server runs: the key manager reads
 * the current identity at every handshake, so {@link #rotateIfDue} (call it e.g. hourly) swaps in
 * a new certificate before the old one expires without a restart.
 */
public final class RotatingServerIdentity {
    private static final String ALIAS = "coordinator";

    private final CertificateAuthority ca;
    private final List<String> dnsNames;
    private final List<String> ipAddresses;
    private volatile ServerIdentity current;

    public RotatingServerIdentity(CertificateAuthority ca, List<String> dnsNames, List<String> ipAddresses)
            throws IOException {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.dnsNames = List.copyOf(dnsNames);
        this.ipAddresses = List.copyOf(ipAddresses);
        this.current = ca.issueServer(this.dnsNames, this.ipAddresses);
    }

    public ServerIdentity current() {
        return current;
    }

    /** Re-issues the certificate when it is past 2/3 of its life; true if it changed. */
    public boolean rotateIfDue() throws IOException {
        ServerIdentity next = ca.issueServer(dnsNames, ipAddresses);
        boolean changed = !next.certificate().equals(current.certificate());
        current = next;
        return changed;
    }

    /** Like {@link TlsServerSetup#serverCredentials}, but always serving the current certificate. */
    public ServerCredentials serverCredentials() {
        return TlsServerCredentials.newBuilder()
                .keyManager(new CurrentKeyManager())
                .trustManager(KeyMaterial.trustOnly(List.of(ca.caCert())))
                .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
                .build();
    }

    private final class CurrentKeyManager extends X509ExtendedKeyManager {
        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return ALIAS.equals(alias) ? current.chain().toArray(new X509Certificate[0]) : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? current.key() : null;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[0];
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }
}
