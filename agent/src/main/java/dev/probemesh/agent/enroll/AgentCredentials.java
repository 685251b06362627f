package dev.probemesh.agent.enroll;

import dev.probemesh.common.tls.FilePermissions;
import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * The agent's enrolled identity in its data directory: {@code agent.key} (0600), {@code agent.crt},
 * {@code ca.crt} and {@code identity.properties}. Immutable: a renewal returns new credentials.
 *
 * <p>Renewal keeps the new key in {@code agent.key.pending} until its certificate arrives, then
 * moves key and certificate into place; {@link #load} finishes a swap a crash interrupted.
 */
public final class AgentCredentials {
    public static final String KEY = "agent.key";
    public static final String CERT = "agent.crt";
    public static final String CA = "ca.crt";
    public static final String IDENTITY = "identity.properties";
    public static final String PENDING_KEY = "agent.key.pending";
    public static final String PENDING_CERT = "agent.crt.pending";

    private final Path dataDir;
    private final String name;
    private final String site;
    private final Map<String, String> labels;
    private final Optional<String> coordinator;
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final X509Certificate ca;

    private AgentCredentials(Path dataDir, String name, String site, Map<String, String> labels,
            Optional<String> coordinator, PrivateKey key, X509Certificate certificate, X509Certificate ca) {
        this.dataDir = dataDir;
        this.name = name;
        this.site = site;
        this.labels = Map.copyOf(labels);
        this.coordinator = coordinator;
        this.key = key;
        this.certificate = certificate;
        this.ca = ca;
    }

    /** True if the data directory holds an enrolled identity (it may still be expired). */
    public static boolean exists(Path dataDir) {
        return Files.exists(dataDir.resolve(CERT)) && Files.exists(dataDir.resolve(KEY))
                && Files.exists(dataDir.resolve(CA)) && Files.exists(dataDir.resolve(IDENTITY));
    }

    /** Writes a fresh enrollment (called by {@link Enroller}). */
    static AgentCredentials store(Path dataDir, KeyPair keyPair, X509Certificate cert, X509Certificate ca,
            String name, String site, Map<String, String> labels, String coordinator) throws IOException {
        FilePermissions.createPrivateDirectories(dataDir);
        Properties p = new Properties();
        p.setProperty("name", name);
        p.setProperty("site", site);
        p.setProperty("coordinator", coordinator);
        labels.forEach((k, v) -> p.setProperty("label." + k, v));
        StringWriter w = new StringWriter();
        p.store(w, "probemesh agent identity: written at enrollment; the certificate is authoritative");
        FilePermissions.writePublic(dataDir.resolve(CA), Pem.certificate(ca).getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePublic(dataDir.resolve(IDENTITY), w.toString().getBytes(StandardCharsets.UTF_8));
        // key before certificate: a crash in between leaves a pair load() refuses, never a wrong pair it accepts
        FilePermissions.writePrivate(dataDir.resolve(KEY), Pem.privateKey(keyPair.getPrivate()).getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePublic(dataDir.resolve(CERT), Pem.certificate(cert).getBytes(StandardCharsets.US_ASCII));
        Files.deleteIfExists(dataDir.resolve(PENDING_KEY));
        Files.deleteIfExists(dataDir.resolve(PENDING_CERT));
        return load(dataDir);
    }

    public static AgentCredentials load(Path dataDir) throws IOException {
        if (!exists(dataDir)) {
            throw new IOException("no agent identity in " + dataDir + ": enroll first with a join token and the CA pin");
        }
        finishInterruptedRenewal(dataDir);
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(dataDir.resolve(IDENTITY), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        String name = p.getProperty("name", "");
        Map<String, String> labels = new TreeMap<>();
        for (String k : p.stringPropertyNames()) {
            if (k.startsWith("label.")) {
                labels.put(k.substring("label.".length()), p.getProperty(k));
            }
        }
        try {
            PrivateKey key = Pem.readPrivateKey(Files.readString(dataDir.resolve(KEY)));
            X509Certificate cert = Pem.readCertificate(Files.readString(dataDir.resolve(CERT)));
            X509Certificate ca = Pem.readCertificate(Files.readString(dataDir.resolve(CA)));
            if (!KeyMaterial.matches(key, cert)) {
                throw new IOException(dataDir.resolve(KEY) + " does not belong to " + dataDir.resolve(CERT)
                        + ": re-enroll with a new join token");
            }
            String cn = commonName(cert);
            if (!cn.equals(name)) {
                throw new IOException("certificate names agent '" + cn + "' but " + dataDir.resolve(IDENTITY)
                        + " says '" + name + "': re-enroll with a new join token");
            }
            return new AgentCredentials(dataDir, name, p.getProperty("site", ""), labels,
                    Optional.ofNullable(p.getProperty("coordinator")), key, cert, ca);
        } catch (IllegalArgumentException e) {
            throw new IOException("unreadable credentials in " + dataDir + ": " + e.getMessage(), e);
        }
    }

    private static void finishInterruptedRenewal(Path dir) throws IOException {
        Path pendingCert = dir.resolve(PENDING_CERT);
        if (!Files.exists(pendingCert)) {
            return;
        }
        X509Certificate cert;
        try {
            cert = Pem.readCertificate(Files.readString(pendingCert));
        } catch (IllegalArgumentException e) {
            Files.delete(pendingCert);
            return;
        }
        Path pendingKey = dir.resolve(PENDING_KEY);
        if (Files.exists(pendingKey) && KeyMaterial.matches(Pem.readPrivateKey(Files.readString(pendingKey)), cert)) {
            move(pendingKey, dir.resolve(KEY));
            move(pendingCert, dir.resolve(CERT));
        } else if (KeyMaterial.matches(Pem.readPrivateKey(Files.readString(dir.resolve(KEY))), cert)) {
            move(pendingCert, dir.resolve(CERT)); // crashed after the key moved
        } else {
            Files.delete(pendingCert);
        }
    }

    static String commonName(X509Certificate cert) {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            return "";
        }
        return "";
    }

    public String name() {
        return name;
    }

    public String site() {
        return site;
    }

    public Map<String, String> labels() {
        return labels;
    }

    /** The coordinator address used at enrollment, if recorded. */
    public Optional<String> coordinator() {
        return coordinator;
    }

    public Instant notBefore() {
        return certificate.getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return certificate.getNotAfter().toInstant();
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public X509Certificate caCertificate() {
        return ca;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** mTLS to the coordinator: our key and certificate, trusting only the coordinator's CA. */
    public ChannelCredentials channelCredentials() {
        return TlsChannelCredentials.newBuilder()
                .keyManager(KeyMaterial.keyManagers(key, List.of(certificate)))
                .trustManager(KeyMaterial.trustOnly(List.of(ca)))
                .build();
    }

    /** Past two thirds of the certificate's life: time to renew over the open stream. */
    public boolean renewalDue(Instant now) {
        Duration life = Duration.between(notBefore(), notAfter());
        return !now.isBefore(notBefore().plus(life.multipliedBy(2).dividedBy(3)));
    }

    /** Expired: the coordinator will refuse the handshake; the agent needs a new join token. */
    public boolean expired(Instant now) {
        return !now.isBefore(notAfter());
    }

    /**
     * Makes a new key pair, keeps it in {@code agent.key.pending} (0600) and returns a CSR for it;
     * the current key stays in use until {@link #storeRenewed} installs the answer.
     */
    public byte[] newCsr() throws IOException {
        KeyPair kp = Csr.newKeyPair();
        FilePermissions.writePrivate(dataDir.resolve(PENDING_KEY), Pem.privateKey(kp.getPrivate()).getBytes(StandardCharsets.US_ASCII));
        return Csr.create(kp, name);
    }

    /**
     * Installs the renewed certificate with the pending key and returns the new credentials. Refuses
     * a certificate that is not for the pending key, not from our CA, or for another identity.
     */
    public AgentCredentials storeRenewed(String certPem) throws IOException {
        Path pendingKeyFile = dataDir.resolve(PENDING_KEY);
        if (!Files.exists(pendingKeyFile)) {
            throw new IOException("no pending key in " + dataDir + ": call newCsr() before storeRenewed()");
        }
        X509Certificate cert;
        PrivateKey pendingKey;
        try {
            cert = Pem.readCertificate(certPem);
            pendingKey = Pem.readPrivateKey(Files.readString(pendingKeyFile));
        } catch (IllegalArgumentException e) {
            throw new IOException("renewed certificate is unreadable: " + e.getMessage(), e);
        }
        if (!KeyMaterial.matches(pendingKey, cert)) {
            throw new IOException("renewed certificate is not for the pending key");
        }
        try {
            cert.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IOException("renewed certificate is not signed by the coordinator's CA", e);
        }
        if (!cert.getSubjectX500Principal().equals(certificate.getSubjectX500Principal())) {
            throw new IOException("renewed certificate names " + cert.getSubjectX500Principal() + ", expected "
                    + certificate.getSubjectX500Principal());
        }
        FilePermissions.writePublic(dataDir.resolve(PENDING_CERT), Pem.certificate(cert).getBytes(StandardCharsets.US_ASCII));
        move(pendingKeyFile, dataDir.resolve(KEY));
        move(dataDir.resolve(PENDING_CERT), dataDir.resolve(CERT));
        return new AgentCredentials(dataDir, name, site, labels, coordinator, pendingKey, cert, ca);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public String toString() {
        return "AgentCredentials[" + name + "@" + site + ", until " + notAfter() + "]";
    }
}
