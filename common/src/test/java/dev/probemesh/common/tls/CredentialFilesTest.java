package dev.probemesh.common.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** File modes, PEM round trips and pin syntax; certificate handling is exercised over TLS in agent and coordinator. */
class CredentialFilesTest {
    @TempDir
    Path tmp;

    @Test
    void writePrivateCreatesOwnerOnlyFileAndDirectoriesAndReplacesAtomically() throws Exception {
        Path key = tmp.resolve("a/b/agent.key");

        FilePermissions.writePrivate(key, "one".getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePrivate(key, "two".getBytes(StandardCharsets.US_ASCII));

        assertThat(Files.readString(key)).isEqualTo("two");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("a")))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("a/b")))).isEqualTo("rwx------");
        try (var files = Files.list(tmp.resolve("a/b"))) {
            assertThat(files).as("no temporary file left behind").containsExactly(key);
        }
    }

    @Test
    void writePublicIsWorldReadable() throws Exception {
        Path crt = tmp.resolve("agent.crt");
        FilePermissions.writePublic(crt, "cert".getBytes(StandardCharsets.US_ASCII));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(crt))).isEqualTo("rw-r--r--");
    }

    @Test
    void privateKeyRoundTripsThroughPkcs8Pem() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        PrivateKey key = g.generateKeyPair().getPrivate();

        String pem = Pem.privateKey(key);

        assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n").endsWith("-----END PRIVATE KEY-----\n");
        assertThat(Pem.readPrivateKey(pem).getEncoded()).isEqualTo(key.getEncoded());
    }

    @Test
    void certificateRequestRoundTripsAndMissingBlocksAreNamed() {
        byte[] der = {0x30, 0x03, 0x02, 0x01, 0x01};
        assertThat(Pem.readCertificateRequest(Pem.certificateRequest(der))).isEqualTo(der);
        assertThatThrownBy(() -> Pem.readCertificate("nothing here")).hasMessageContaining("BEGIN CERTIFICATE");
        assertThatThrownBy(() -> Pem.readPrivateKey("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
                .hasMessageContaining("PKCS#8");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "SHA256:0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    })
    void pinIsNormalizedToLowerCaseWithPrefix(String pin) {
        assertThat(CaPin.normalize(pin))
                .isEqualTo("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "sha256:", "sha256:abc", "md5:0123456789abcdef0123456789abcdef",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"})
    void malformedPinIsRefusedWithTheExpectedForm(String pin) {
        assertThatThrownBy(() -> CaPin.normalize(pin)).hasMessageContaining("sha256:<64 hex digits>");
        assertThatThrownBy(() -> new PinnedTrustManager(pin)).isInstanceOf(IllegalArgumentException.class);
    }
}
