package dev.probemesh.coordinator.identity;

import dev.probemesh.common.tls.Pem;
import dev.probemesh.proto.v1.EnrollRequest;
import dev.probemesh.proto.v1.EnrollResponse;
import dev.probemesh.proto.v1.EnrollServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Enrollment over TLS without a client certificate: the join token is the credential. */
public final class EnrollServiceImpl extends EnrollServiceGrpc.EnrollServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(EnrollServiceImpl.class);

    private final AgentCertificates certificates;

    public EnrollServiceImpl(AgentCertificates certificates) {
        this.certificates = Objects.requireNonNull(certificates, "certificates");
    }

    @Override
    public void enroll(EnrollRequest request, StreamObserver<EnrollResponse> responses) {
        AgentCertificates.Enrolled e;
        try {
            e = certificates.enroll(request.getToken(), request.getAgentName(), request.getCsrDer().toByteArray());
        } catch (IdentityException ex) {
            log.info("refused enrollment of '{}': {}", request.getAgentName(), ex.getMessage());
            responses.onError(ex.toStatus().asRuntimeException());
            return;
        } catch (RuntimeException ex) {
            log.error("enrollment of '{}' failed", request.getAgentName(), ex);
            responses.onError(Status.INTERNAL.withDescription("enrollment failed on the coordinator; see its log")
                    .asRuntimeException());
            return;
        }
        responses.onNext(EnrollResponse.newBuilder()
                .setAgentName(e.name())
                .setSite(e.site())
                .putAllLabels(e.labels())
                .setCertificatePem(Pem.certificate(e.certificate()))
                .setCaPem(certificates.ca().caPem())
                .build());
        responses.onCompleted();
    }
}
