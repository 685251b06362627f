package dev.probemesh.coordinator.identity;

import dev.probemesh.common.tls.KeyMaterial;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.util.List;

/** The coordinator's TLS: our server certificate, client certificates optional and trusted only from our CA. */
public final class TlsServerSetup {
    /**
     * Recommended server max inbound message size (gRPC's default): an enrollment is a few KiB,
     * result batches are bounded by Welcome.max_batch.
     */
    public static final int MAX_INBOUND_MESSAGE_BYTES = 4 * 1024 * 1024;

    private TlsServerSetup() {
    }

    /**
     * Client certificates are OPTIONAL at the TLS layer because enrollment has none yet;
     * {@link AuthInterceptor} then requires the right one per service.
     */
    public static ServerCredentials serverCredentials(CertificateAuthority ca, ServerIdentity id) {
        return TlsServerCredentials.newBuilder()
                .keyManager(KeyMaterial.keyManagers(id.key(), id.chain()))
                .trustManager(KeyMaterial.trustOnly(List.of(ca.caCert())))
                .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
                .build();
    }
}
