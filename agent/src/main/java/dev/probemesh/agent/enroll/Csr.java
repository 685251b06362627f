package dev.probemesh.agent.enroll;

import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import javax.security.auth.x500.X500Principal;

/**
 * Key pairs and PKCS#10 requests made on the agent: the private key never leaves the host.
 *
 * <p>The request is DER-encoded here with the JDK alone (RFC 2986 is four fields), not with
 * BouncyCastle: keeping BouncyCastle off the agent's class path saves about 1 MiB of jar indexes
 * in the heap of every running agent (docs/ARCHITECTURE.md, "Agent memory").
 */
public final class Csr {
    /** AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2), parameters absent (RFC 5758). */
    private static final byte[] ECDSA_WITH_SHA256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce,
            0x3d, 0x04, 0x03, 0x02};

    private Csr() {
    }

    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is missing from this JVM", e);
        }
    }

    /**
     * A request signed by the key (proof of possession). The subject is only a hint: the
     * coordinator names the certificate from the join token or the current certificate.
     */
    public static byte[] create(KeyPair keyPair, String commonName) {
        String cn = commonName == null || commonName.isBlank() ? "agent" : commonName;
        X500Principal subject = new X500Principal("CN=" + cn.replaceAll("[^a-z0-9._-]", "_"));
        // CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name,
        //   subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute (empty) }
        byte[] info = der(0x30, concat(new byte[] {0x02, 0x01, 0x00}, subject.getEncoded(),
                keyPair.getPublic().getEncoded(), new byte[] {(byte) 0xa0, 0x00}));
        try {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(keyPair.getPrivate());
            s.update(info);
            byte[] sig = s.sign();
            // CertificationRequest ::= SEQUENCE { info, signatureAlgorithm, signature BIT STRING }
            return der(0x30, concat(info, ECDSA_WITH_SHA256, der(0x03, concat(new byte[] {0}, sig))));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create a certificate request", e);
        }
    }

    private static byte[] der(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else if (n < 0x10000) {
            out.write(0x82);
            out.write(n >> 8);
            out.write(n);
        } else {
            throw new IllegalArgumentException("DER content too long for a CSR: " + n + " bytes");
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
