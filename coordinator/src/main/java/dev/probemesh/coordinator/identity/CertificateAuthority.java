package dev.probemesh.coordinator.identity;

import dev.probemesh.common.tls.CaPin;
import dev.probemesh.common.tls.FilePermissions;
import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's own CA: an ECDSA P-256 key made on first start ({@code ca.key} 0600,
 * {@code ca.crt}), which signs the coordinator's server certificate, agents' client certificates
 * (from their CSRs) and the admin credential the CLI uses.
 */
public final class CertificateAuthority {
    private static final Logger log = LoggerFactory.getLogger(CertificateAuthority.class);

    public static final Duration CA_LIFETIME = Duration.ofDays(3650);
    public static final Duration SERVER_LIFETIME = Duration.ofDays(365);
    public static final Duration ADMIN_LIFETIME = Duration.ofDays(5 * 365);
    /** Certificates start a little in the past so a host whose clock lags still accepts them. */
    public static final Duration BACKDATE = Duration.ofMinutes(5);

    public static final String CA_KEY = "ca.key";
    public static final String CA_CERT = "ca.crt";
    public static final String SERVER_KEY = "server.key";
    public static final String SERVER_CERT = "server.crt";
    public static final String ADMIN_CERT = "admin.crt";
    public static final String ADMIN_KEY = "admin.key";

    private final Path dir;
    private final Clock clock;
    private final SecureRandom random;
    private final PrivateKey caKey;
    private final X509Certificate caCert;

    private CertificateAuthority(Path dir, Clock clock, SecureRandom random, PrivateKey caKey, X509Certificate caCert) {
        this.dir = dir;
        this.clock = clock;
        this.random = random;
        this.caKey = caKey;
        this.caCert = caCert;
    }

    /** Where the admin credential, server certificate and CA files live on disk. */
    public record AdminCredential(Path certificate, Path key, Path ca) {
    }

    public static CertificateAuthority loadOrCreate(Path dir, Clock clock) throws IOException {
        return loadOrCreate(dir, clock, new SecureRandom());
    }

    public static CertificateAuthority loadOrCreate(Path dir, Clock clock, SecureRandom random) throws IOException {
        Objects.requireNonNull(clock, "clock");
        Path keyFile = dir.resolve(CA_KEY);
        Path certFile = dir.resolve(CA_CERT);
        boolean hasKey = Files.exists(keyFile);
        boolean hasCert = Files.exists(certFile);
        if (hasKey && hasCert) {
            PrivateKey key = Pem.readPrivateKey(Files.readString(keyFile));
            X509Certificate cert = Pem.readCertificate(Files.readString(certFile));
            if (!KeyMaterial.matches(key, cert)) {
                throw new IOException(keyFile + " does not belong to " + certFile + ": restore the pair from a backup");
            }
            warnIfReadableByOthers(keyFile);
            return new CertificateAuthority(dir, clock, random, key, cert);
        }
        if (hasKey || hasCert) {
            // Never mint a new CA over half of an old one: every enrolled agent would be locked out.
            throw new IOException("found only one of " + keyFile + " and " + certFile
                    + ": restore the missing file, or remove both to create a new CA (all agents must re-enroll)");
        }
        KeyPair pair = newKeyPair(random);
        Instant now = clock.instant();
        X500Name name = AgentCertificateNames.subject("probemesh",
                "probemesh CA " + HexFormat.of().formatHex(pair.getPublic().getEncoded(), 27, 31));
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(random),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_LIFETIME)), name, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(b.build(signer(pair.getPrivate())));
            FilePermissions.writePrivate(keyFile, Pem.privateKey(pair.getPrivate()).getBytes(StandardCharsets.US_ASCII));
            FilePermissions.writePublic(certFile, Pem.certificate(cert).getBytes(StandardCharsets.US_ASCII));
            CertificateAuthority ca = new CertificateAuthority(dir, clock, random, pair.getPrivate(), cert);
            log.info("created a new coordinator CA in {} (pin {})", dir, ca.caPin());
            return ca;
        } catch (GeneralSecurityException | org.bouncycastle.cert.CertIOException e) {
            throw new IllegalStateException("cannot create the CA certificate", e);
        }
    }

    /** A CA key restored from a backup often comes back 0644: say so instead of silently running with it. */
    private static void warnIfReadableByOthers(Path keyFile) {
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile);
            if (perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ)
                    || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                log.warn("{} is readable by other users ({}): anyone who reads it can mint agent and admin"
                        + " certificates; run 'chmod 600 {}'", keyFile,
                        java.nio.file.attribute.PosixFilePermissions.toString(perms), keyFile);
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: nothing to check
        }
    }

    public X509Certificate caCert() {
        return caCert;
    }

    public String caPem() {
        return Pem.certificate(caCert);
    }

    /** "sha256:<hex>" of the CA public key, what agents pin at enrollment. */
    public String caPin() {
        return CaPin.of(caCert);
    }

    public Path directory() {
        return dir;
    }

    /** True if our CA key signed this certificate. */
    public boolean issued(X509Certificate cert) {
        try {
            cert.verify(caCert.getPublicKey());
            return cert.getIssuerX500Principal().equals(caCert.getSubjectX500Principal());
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /**
     * The server certificate for these names and addresses, loaded from {@code server.crt} when it
     * still fits (same names, our CA, more than a third of its life left), else issued anew.
     */
    public synchronized ServerIdentity issueServer(List<String> dnsNames, List<String> ipAddresses) throws IOException {
        Set<String> wanted = new TreeSet<>();
        dnsNames.forEach(n -> wanted.add("dns:" + n.toLowerCase(java.util.Locale.ROOT)));
        List<GeneralName> sans = new ArrayList<>();
        for (String n : dnsNames) {
            sans.add(new GeneralName(GeneralName.dNSName, n));
        }
        for (String ip : ipAddresses) {
            if (!looksLikeIp(ip)) {
                throw new IllegalArgumentException("'" + ip + "' is not an IP address literal");
            }
            String canonical = InetAddress.getByName(ip).getHostAddress();
            wanted.add("ip:" + canonical);
            sans.add(new GeneralName(GeneralName.iPAddress, canonical));
        }
        if (sans.isEmpty()) {
            throw new IllegalArgumentException("the server certificate needs at least one DNS name or IP address");
        }
        Path keyFile = dir.resolve(SERVER_KEY);
        Path certFile = dir.resolve(SERVER_CERT);
        if (Files.exists(keyFile) && Files.exists(certFile)) {
            try {
                PrivateKey key = Pem.readPrivateKey(Files.readString(keyFile));
                X509Certificate cert = Pem.readCertificate(Files.readString(certFile));
                if (issued(cert) && KeyMaterial.matches(key, cert) && sanSet(cert).equals(wanted) && !nearExpiry(cert)) {
                    return new ServerIdentity(key, List.of(cert, caCert));
                }
            } catch (IllegalArgumentException e) {
                log.warn("ignoring unreadable server certificate in {}: {}", dir, e.getMessage());
            }
        }
        KeyPair pair = newKeyPair(random);
        X509Certificate cert = sign(AgentCertificateNames.subject(AgentCertificateNames.SERVER_ORG, "probemesh coordinator"),
                pair.getPublic(), SERVER_LIFETIME, new GeneralNames(sans.toArray(new GeneralName[0])),
                KeyPurposeId.id_kp_serverAuth);
        FilePermissions.writePrivate(keyFile, Pem.privateKey(pair.getPrivate()).getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePublic(certFile, Pem.certificate(cert).getBytes(StandardCharsets.US_ASCII));
        log.info("issued the coordinator server certificate for {} valid until {}", wanted, cert.getNotAfter().toInstant());
        return new ServerIdentity(pair.getPrivate(), List.of(cert, caCert));
    }

    private static boolean looksLikeIp(String s) {
        return s.matches("[0-9.]+") || s.contains(":");
    }

    private static Set<String> sanSet(X509Certificate cert) {
        Set<String> out = new TreeSet<>();
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    int type = (Integer) san.get(0);
                    if (type == GeneralName.dNSName) {
                        out.add("dns:" + ((String) san.get(1)).toLowerCase(java.util.Locale.ROOT));
                    } else if (type == GeneralName.iPAddress) {
                        out.add("ip:" + InetAddress.getByName((String) san.get(1)).getHostAddress());
                    }
                }
            }
        } catch (java.security.cert.CertificateParsingException | java.net.UnknownHostException e) {
            return Set.of();
        }
        return out;
    }

    private boolean nearExpiry(X509Certificate cert) {
        Instant from = cert.getNotBefore().toInstant();
        Instant to = cert.getNotAfter().toInstant();
        Instant renewAt = from.plus(Duration.between(from, to).multipliedBy(2).dividedBy(3));
        return !clock.instant().isBefore(renewAt);
    }

    /**
     * Signs an agent's request: the identity is what the caller says (from the join token or the
     * current certificate), never the request's own subject.
     */
    public X509Certificate signAgent(PKCS10CertificationRequest csr, String agentName, String site,
            Map<String, String> labels, Duration ttl) throws IdentityException {
        return signAgent(Csrs.parse(encoded(csr)).publicKey(), agentName, site, labels, ttl);
    }

    private static byte[] encoded(PKCS10CertificationRequest csr) throws IdentityException {
        try {
            return csr.getEncoded();
        } catch (IOException e) {
            throw new IdentityException(IdentityException.Kind.INVALID_REQUEST, "CSR cannot be encoded", e);
        }
    }

    /** Signs an already checked public key (see {@link Csrs#parse}). */
    public X509Certificate signAgent(PublicKey key, String agentName, String site, Map<String, String> labels,
            Duration ttl) throws IdentityException {
        Names.requireAgentName(agentName, "agent name");
        Names.requireSite(site);
        Names.requireLabels(labels);
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("certificate ttl must be positive, got " + ttl);
        }
        GeneralNames san = new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                AgentCertificateNames.agentUri(agentName, site, labels)));
        return sign(AgentCertificateNames.agentSubject(agentName, site), key, ttl, san, KeyPurposeId.id_kp_clientAuth);
    }

    /**
     * Writes {@code admin.crt}, {@code admin.key} (0600) and {@code ca.crt} into adminDir unless a
     * valid credential from this CA is already there; returns where they are.
     */
    public synchronized AdminCredential ensureAdminCredential(Path adminDir) throws IOException {
        AdminCredential cred = new AdminCredential(adminDir.resolve(ADMIN_CERT), adminDir.resolve(ADMIN_KEY),
                adminDir.resolve(CA_CERT));
        if (Files.exists(cred.certificate()) && Files.exists(cred.key()) && Files.exists(cred.ca())) {
            try {
                X509Certificate cert = Pem.readCertificate(Files.readString(cred.certificate()));
                PrivateKey key = Pem.readPrivateKey(Files.readString(cred.key()));
                if (issued(cert) && KeyMaterial.matches(key, cert)
                        && cert.getNotAfter().toInstant().isAfter(clock.instant().plus(Duration.ofDays(30)))) {
                    return cred;
                }
            } catch (IllegalArgumentException e) {
                log.warn("replacing unreadable admin credential in {}: {}", adminDir, e.getMessage());
            }
        }
        FilePermissions.createPrivateDirectories(adminDir);
        KeyPair pair = newKeyPair(random);
        X509Certificate cert = sign(AgentCertificateNames.subject(AgentCertificateNames.ADMIN_ORG, "admin"),
                pair.getPublic(), ADMIN_LIFETIME, null, KeyPurposeId.id_kp_clientAuth);
        FilePermissions.writePrivate(cred.key(), Pem.privateKey(pair.getPrivate()).getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePublic(cred.certificate(), Pem.certificate(cert).getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePublic(cred.ca(), caPem().getBytes(StandardCharsets.US_ASCII));
        log.info("wrote the admin credential to {} (copy it with 'probemesh context add')", adminDir);
        return cred;
    }

    private X509Certificate sign(X500Name subject, PublicKey key, Duration ttl, GeneralNames san, KeyPurposeId purpose) {
        Instant now = clock.instant();
        Instant notAfter = now.plus(ttl);
        Instant caEnd = caCert.getNotAfter().toInstant();
        if (notAfter.isAfter(caEnd)) {
            notAfter = caEnd; // a leaf must not outlive its issuer
        }
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(random),
                    Date.from(now.minus(BACKDATE)), Date.from(notAfter), subject, key)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature
                            | (key.getAlgorithm().equals("RSA") ? KeyUsage.keyEncipherment : 0)))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
            if (san != null) {
                b.addExtension(Extension.subjectAlternativeName, false, san);
            }
            return new JcaX509CertificateConverter().getCertificate(b.build(signer(caKey)));
        } catch (GeneralSecurityException | org.bouncycastle.cert.CertIOException e) {
            throw new IllegalStateException("cannot sign a certificate for " + subject, e);
        }
    }

    private static ContentSigner signer(PrivateKey key) {
        try {
            return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException("cannot create an ECDSA signer", e);
        }
    }

    /** Random positive 127-bit serials: unguessable and unique without a counter. */
    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(127, random).setBit(126);
    }

    static KeyPair newKeyPair(SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is missing from this JVM", e);
        }
    }

}
