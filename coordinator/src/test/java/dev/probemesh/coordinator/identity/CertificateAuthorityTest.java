package dev.probemesh.coordinator.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.probemesh.common.tls.CaPin;
import dev.probemesh.common.tls.Pem;
import dev.probemesh.testing.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.now());

    @Test
    void createsCaOnceWithPrivateKeyAndReloadsTheSameOne() throws Exception {
        CertificateAuthority first = CertificateAuthority.loadOrCreate(dir, clock);
        CertificateAuthority second = CertificateAuthority.loadOrCreate(dir, clock);

        assertThat(second.caPin()).isEqualTo(first.caPin()).isEqualTo(CaPin.of(first.caCert()));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key")))).isEqualTo("rw-------");
        assertThat(first.caCert().getBasicConstraints()).isEqualTo(0);
        assertThat(first.caCert().getPublicKey().getAlgorithm()).isEqualTo("EC");
    }

    @Test
    void refusesToReplaceHalfOfAnExistingCa() throws Exception {
        CertificateAuthority.loadOrCreate(dir, clock);
        Files.delete(dir.resolve("ca.key"));
        assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, clock))
                .hasMessageContaining("found only one of").hasMessageContaining("re-enroll");
    }

    @Test
    void serverCertificateIsReusedUntilNamesChangeOrItNearsExpiry() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, clock);
        X509Certificate a = ca.issueServer(List.of("coord.example"), List.of("192.0.2.10")).certificate();

        assertThat(ca.issueServer(List.of("coord.example"), List.of("192.0.2.10")).certificate()).isEqualTo(a);
        assertThat(ca.issueServer(List.of("coord.example"), List.of("192.0.2.11")).certificate()).isNotEqualTo(a);
        X509Certificate b = ca.issueServer(List.of("coord.example"), List.of("192.0.2.11")).certificate();
        clock.advance(CertificateAuthority.SERVER_LIFETIME.multipliedBy(2).dividedBy(3).plusDays(1));
        assertThat(ca.issueServer(List.of("coord.example"), List.of("192.0.2.11")).certificate()).isNotEqualTo(b);
        assertThat(b.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(ca.issueServer(List.of("x"), List.of()).chain()).hasSize(2).endsWith(ca.caCert());
    }

    @Test
    void adminCredentialIsWrittenOnceWithPrivateKey() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir.resolve("ca"), clock);
        CertificateAuthority.AdminCredential cred = ca.ensureAdminCredential(dir.resolve("admin"));
        String certPem = Files.readString(cred.certificate());

        assertThat(ca.ensureAdminCredential(dir.resolve("admin")).certificate()).isEqualTo(cred.certificate());
        assertThat(Files.readString(cred.certificate())).isEqualTo(certPem);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cred.key()))).isEqualTo("rw-------");
        X509Certificate admin = Pem.readCertificate(certPem);
        assertThat(admin.getSubjectX500Principal().getName()).isEqualTo("CN=admin,O=probemesh-admin");
        assertThat(Pem.readCertificate(Files.readString(cred.ca()))).isEqualTo(ca.caCert());
    }

    @Test
    void agentCertificateCarriesIdentityFromArgumentsNotFromTheCsr() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, clock);
        var key = IdentityHarness.newKey();
        byte[] csr = IdentityHarness.csr(key, "evil");

        X509Certificate c = ca.signAgent(Csrs.parse(csr).request(), "edge-1", "paris",
                Map.of("env", "prod", "team", "net ops"), Duration.ofHours(1));

        assertThat(c.getSubjectX500Principal().getName()).isEqualTo("CN=edge-1,OU=paris,O=probemesh-agent");
        assertThat(AgentCertificateNames.read(c)).hasValueSatisfying(id -> {
            assertThat(id.commonName()).isEqualTo("edge-1");
            assertThat(id.site()).isEqualTo("paris");
            assertThat(id.labels()).isEqualTo(Map.of("env", "prod", "team", "net ops"));
        });
        assertThat(c.getSubjectAlternativeNames()).singleElement()
                .satisfies(san -> assertThat(san.get(1)).isEqualTo("probemesh://agent/paris/edge-1?env=prod&team=net%20ops"));
        assertThat(c.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(c.getNotAfter().toInstant()).isEqualTo(clock.instant().plus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    }

    @Test
    void serverNamesForThisHostCoverLoopbackAndExtraNames() throws Exception {
        ServerNames names = ServerNames.forThisHost(List.of("Coord.Example", "203.0.113.7"));

        assertThat(names.dnsNames()).contains("localhost", "coord.example");
        assertThat(names.ipAddresses()).contains("127.0.0.1", "203.0.113.7");
        assertThat(names.ipAddresses()).noneMatch(ip -> ip.contains("%") || ip.startsWith("fe80"));
        // every name is acceptable to the CA
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, clock);
        assertThat(ca.issueServer(names.dnsNames(), names.ipAddresses()).certificate().getSubjectAlternativeNames())
                .hasSize(names.dnsNames().size() + names.ipAddresses().size());
    }
}
