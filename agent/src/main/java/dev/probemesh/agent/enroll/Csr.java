package dev.probemesh.agent.enroll;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Key pairs and PKCS#10 requests made on the agent: the private key never leaves the host. */
public final class Csr {
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
        try {
            String cn = commonName == null || commonName.isBlank() ? "agent" : commonName;
            return new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=" + cn.replaceAll("[^a-z0-9._-]", "_")),
                    keyPair.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate()))
                    .getEncoded();
        } catch (OperatorCreationException | java.io.IOException e) {
            throw new IllegalStateException("cannot create a certificate request", e);
        }
    }
}
