package dev.probemesh.coordinator.identity;

import dev.probemesh.coordinator.identity.IdentityException.Kind;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Parses and checks a PKCS#10 request from an untrusted client. Every failure is an
 * INVALID_ARGUMENT with a reason, never an exception that escapes as INTERNAL.
 */
public final class Csrs {
    public static final int MAX_CSR_BYTES = 8 * 1024;

    private Csrs() {
    }

    /** A request whose signature proves possession of the key, with that key. */
    public record CheckedCsr(PKCS10CertificationRequest request, PublicKey publicKey) {
    }

    public static CheckedCsr parse(byte[] der) throws IdentityException {
        if (der == null || der.length == 0) {
            throw invalid("csr_der is empty: send a PKCS#10 certificate request made from the agent's own key", null);
        }
        if (der.length > MAX_CSR_BYTES) {
            throw invalid("CSR is " + der.length + " bytes, over the " + MAX_CSR_BYTES + "-byte limit", null);
        }
        PKCS10CertificationRequest csr;
        try {
            csr = new PKCS10CertificationRequest(der);
        } catch (java.io.IOException | RuntimeException e) {
            throw invalid("CSR is not valid PKCS#10 DER: " + e.getMessage(), e);
        }
        SubjectPublicKeyInfo spki = csr.getSubjectPublicKeyInfo();
        boolean ec = checkKey(spki);
        PublicKey key;
        try {
            // Decode by name: the JDK's providers do not resolve key factories by OID.
            key = KeyFactory.getInstance(ec ? "EC" : "RSA").generatePublic(new X509EncodedKeySpec(spki.getEncoded()));
        } catch (Exception e) {
            throw invalid("CSR public key cannot be decoded: " + e.getMessage(), e);
        }
        boolean signed;
        try {
            signed = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key));
        } catch (Exception e) {
            throw invalid("CSR signature cannot be checked: " + e.getMessage(), e);
        }
        if (!signed) {
            throw invalid("CSR signature does not match its public key", null);
        }
        return new CheckedCsr(csr, key);
    }

    /** Returns true for EC, false for RSA; refuses anything else. */
    private static boolean checkKey(SubjectPublicKeyInfo spki) throws IdentityException {
        ASN1ObjectIdentifier alg = spki.getAlgorithm().getAlgorithm();
        if (X9ObjectIdentifiers.id_ecPublicKey.equals(alg)) {
            if (!SECObjectIdentifiers.secp256r1.equals(spki.getAlgorithm().getParameters())) {
                throw invalid("CSR key is EC on an unsupported curve: use P-256 (secp256r1)", null);
            }
            return true;
        }
        if (PKCSObjectIdentifiers.rsaEncryption.equals(alg)) {
            try {
                BigInteger modulus = org.bouncycastle.asn1.pkcs.RSAPublicKey.getInstance(spki.parsePublicKey()).getModulus();
                if (modulus.bitLength() < 2048) {
                    throw invalid("CSR key is RSA-" + modulus.bitLength() + ": use RSA of at least 2048 bits or EC P-256", null);
                }
                return false;
            } catch (java.io.IOException | RuntimeException e) {
                throw invalid("CSR RSA key cannot be decoded: " + e.getMessage(), e);
            }
        }
        throw invalid("CSR key algorithm " + alg + " is not supported: use EC P-256 or RSA >= 2048", null);
    }

    private static IdentityException invalid(String message, Throwable cause) {
        return new IdentityException(Kind.INVALID_REQUEST, message, cause);
    }
}
