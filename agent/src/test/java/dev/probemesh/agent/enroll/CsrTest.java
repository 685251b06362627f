package dev.probemesh.agent.enroll;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;

/** The JDK-only PKCS#10 encoder, checked by an independent parser (BouncyCastle, as the coordinator uses). */
class CsrTest {

    @Test
    void requestParsesWithTheSubjectAndKeyAndAValidSignature() throws Exception {
        KeyPair kp = Csr.newKeyPair();

        PKCS10CertificationRequest req = new PKCS10CertificationRequest(Csr.create(kp, "idc-1.example"));

        assertThat(req.getSubject()).isEqualTo(new X500Name("CN=idc-1.example"));
        assertThat(req.getSubjectPublicKeyInfo().getEncoded()).isEqualTo(kp.getPublic().getEncoded());
        assertThat(req.getSignatureAlgorithm().getAlgorithm().getId()).isEqualTo("1.2.840.10045.4.3.2");
        assertThat(req.getAttributes()).isEmpty();
        assertThat(req.isSignatureValid(new JcaContentVerifierProviderBuilder().build(kp.getPublic()))).isTrue();
    }

    @Test
    void signatureDoesNotVerifyWithAnotherKey() throws Exception {
        KeyPair kp = Csr.newKeyPair();

        PKCS10CertificationRequest req = new PKCS10CertificationRequest(Csr.create(kp, "a"));

        assertThat(req.isSignatureValid(new JcaContentVerifierProviderBuilder().build(Csr.newKeyPair().getPublic())))
                .isFalse();
    }

    @Test
    void blankOrOddNamesBecomeASafeSubject() throws Exception {
        KeyPair kp = Csr.newKeyPair();

        assertThat(new PKCS10CertificationRequest(Csr.create(kp, " ")).getSubject()).isEqualTo(new X500Name("CN=agent"));
        assertThat(new PKCS10CertificationRequest(Csr.create(kp, "Bad Name,x")).getSubject())
                .isEqualTo(new X500Name("CN=_ad__ame_x"));
    }
}
