package dev.probemesh.common.tls;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM text for certificates, PKCS#8 private keys and PKCS#10 certificate requests, using only the
 * JDK so every module (and the CLI) can read what the coordinator writes.
 */
public final class Pem {
    public static final String CERTIFICATE = "CERTIFICATE";
    public static final String PRIVATE_KEY = "PRIVATE KEY";
    public static final String CERTIFICATE_REQUEST = "CERTIFICATE REQUEST";

    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]*?)-----END \\1-----");

    private Pem() {
    }

    /** One decoded PEM block. */
    public record Block(String type, byte[] der) {
    }

    public static String encode(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    public static String certificate(X509Certificate cert) {
        try {
            return encode(CERTIFICATE, cert.getEncoded());
        } catch (CertificateException e) {
            throw new IllegalStateException("cannot encode certificate " + cert.getSubjectX500Principal(), e);
        }
    }

    public static String certificates(List<X509Certificate> chain) {
        StringBuilder sb = new StringBuilder();
        chain.forEach(c -> sb.append(certificate(c)));
        return sb.toString();
    }

    /** PKCS#8 ("BEGIN PRIVATE KEY"), the form gRPC, Netty and openssl all read. */
    public static String privateKey(PrivateKey key) {
        if (!"PKCS#8".equals(key.getFormat())) {
            throw new IllegalArgumentException("private key is " + key.getFormat() + ", expected PKCS#8");
        }
        return encode(PRIVATE_KEY, key.getEncoded());
    }

    public static String certificateRequest(byte[] csrDer) {
        return encode(CERTIFICATE_REQUEST, csrDer);
    }

    public static List<Block> blocks(String pem) {
        List<Block> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            try {
                out.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2))));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("PEM block " + m.group(1) + " is not valid base64", e);
            }
        }
        return out;
    }

    private static List<byte[]> blocksOf(String pem, String type) {
        List<byte[]> out = new ArrayList<>();
        for (Block b : blocks(pem)) {
            if (b.type().equals(type)) {
                out.add(b.der());
            }
        }
        return out;
    }

    /** All certificates in the text, in order (a chain is leaf first). */
    public static List<X509Certificate> readCertificates(String pem) {
        List<byte[]> ders = blocksOf(pem, CERTIFICATE);
        if (ders.isEmpty()) {
            throw new IllegalArgumentException("no '-----BEGIN CERTIFICATE-----' block found");
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new ArrayList<>();
            for (byte[] der : ders) {
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
            }
            return List.copyOf(out);
        } catch (CertificateException e) {
            throw new IllegalArgumentException("not a valid X.509 certificate: " + e.getMessage(), e);
        }
    }

    /** The first certificate in the text. */
    public static X509Certificate readCertificate(String pem) {
        return readCertificates(pem).get(0);
    }

    /** A PKCS#8 EC or RSA private key. */
    public static PrivateKey readPrivateKey(String pem) {
        List<byte[]> ders = blocksOf(pem, PRIVATE_KEY);
        if (ders.isEmpty()) {
            throw new IllegalArgumentException(
                    "no '-----BEGIN PRIVATE KEY-----' (PKCS#8) block found; convert with 'openssl pkcs8 -topk8 -nocrypt'");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(ders.get(0));
        for (String alg : List.of("EC", "RSA")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm: PKCS#8 names it, but KeyFactory has to be chosen up front
            }
        }
        throw new IllegalArgumentException("private key is neither EC nor RSA PKCS#8");
    }

    /** DER of the first PKCS#10 request in the text. */
    public static byte[] readCertificateRequest(String pem) {
        List<byte[]> ders = blocksOf(pem, CERTIFICATE_REQUEST);
        if (ders.isEmpty()) {
            throw new IllegalArgumentException("no '-----BEGIN CERTIFICATE REQUEST-----' block found");
        }
        return ders.get(0);
    }
}
