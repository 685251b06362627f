package dev.probemesh.common.tls;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A CA fingerprint as kubeadm's --discovery-token-ca-cert-hash: "sha256:" and the hex SHA-256 of
 * the CA's SubjectPublicKeyInfo. Pinning the key (not the certificate) survives a re-issued CA
 * certificate with the same key.
 */
public final class CaPin {
    private static final Pattern FORMAT = Pattern.compile("sha256:[0-9a-f]{64}");

    private CaPin() {
    }

    public static String of(X509Certificate cert) {
        try {
            byte[] spki = cert.getPublicKey().getEncoded(); // X.509 SubjectPublicKeyInfo
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(spki));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * The pin in canonical form (lower case, "sha256:" prefix); accepts upper-case hex and a bare
     * 64-digit hex string. Throws with a message naming the expected form.
     */
    public static String normalize(String pin) {
        if (pin == null) {
            throw new IllegalArgumentException("CA pin is missing: expected sha256:<64 hex digits>");
        }
        String p = pin.trim().toLowerCase(Locale.ROOT);
        if (!p.startsWith("sha256:")) {
            p = "sha256:" + p;
        }
        if (!FORMAT.matcher(p).matches()) {
            throw new IllegalArgumentException(
                    "CA pin '" + pin + "' is malformed: expected sha256:<64 hex digits> as printed by 'probemesh token create'");
        }
        return p;
    }

    /** True if the certificate's public key has this pin; constant time. */
    public static boolean verify(String pin, X509Certificate cert) {
        byte[] expected = normalize(pin).getBytes(StandardCharsets.US_ASCII);
        byte[] actual = of(cert).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, actual);
    }
}
