package dev.probemesh.cli.context;

import dev.probemesh.common.tls.FilePermissions;
import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * What the picocli 'context' commands do, as plain methods: {@link #add} copies the admin
 * credential the coordinator wrote at first start ({@code <dataDir>/admin/{admin.crt,admin.key,ca.crt}})
 * into the config directory, after checking that it fits together.
 */
public final class ContextCommands {
    public static final String ADMIN_CERT = "admin.crt";
    public static final String ADMIN_KEY = "admin.key";
    public static final String CA_CERT = "ca.crt";

    private final ContextStore store;

    public ContextCommands(ContextStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /** Adds (or replaces) a TLS context and makes it current. */
    public ContextStore.Context add(String name, String coordinatorHostPort, Path adminDir) throws IOException {
        String caPem = read(adminDir.resolve(CA_CERT));
        String certPem = read(adminDir.resolve(ADMIN_CERT));
        String keyPem = read(adminDir.resolve(ADMIN_KEY));
        try {
            X509Certificate ca = Pem.readCertificate(caPem);
            X509Certificate cert = Pem.readCertificate(certPem);
            PrivateKey key = Pem.readPrivateKey(keyPem);
            if (!KeyMaterial.matches(key, cert)) {
                throw new IllegalArgumentException(adminDir.resolve(ADMIN_KEY) + " does not belong to "
                        + adminDir.resolve(ADMIN_CERT));
            }
            try {
                cert.verify(ca.getPublicKey());
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException(adminDir.resolve(ADMIN_CERT) + " was not issued by "
                        + adminDir.resolve(CA_CERT), e);
            }
        } catch (IllegalArgumentException e) {
            throw new IOException("admin credential in " + adminDir + " is not usable: " + e.getMessage(), e);
        }
        Path dir = FilePermissions.createPrivateDirectories(store.directory().resolve("contexts").resolve(name));
        FilePermissions.writePublic(dir.resolve(CA_CERT), caPem.getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePublic(dir.resolve(ADMIN_CERT), certPem.getBytes(StandardCharsets.US_ASCII));
        FilePermissions.writePrivate(dir.resolve(ADMIN_KEY), keyPem.getBytes(StandardCharsets.US_ASCII));
        ContextStore.Context c = new ContextStore.Context(name, coordinatorHostPort, false,
                dir.resolve(CA_CERT).toString(), dir.resolve(ADMIN_CERT).toString(), dir.resolve(ADMIN_KEY).toString());
        store.add(c, true);
        return c;
    }

    /** Adds (or replaces) a plaintext context for a coordinator started with --insecure, and makes it current. */
    public ContextStore.Context addInsecure(String name, String coordinatorHostPort) throws IOException {
        ContextStore.Context c = new ContextStore.Context(name, coordinatorHostPort, true, null, null, null);
        store.add(c, true);
        return c;
    }

    private static String read(Path p) throws IOException {
        if (!Files.isReadable(p)) {
            throw new IOException("cannot read " + p + ": point --admin-dir at the coordinator's <data-dir>/admin"
                    + " (written at its first start)");
        }
        return Files.readString(p);
    }
}
