package dev.probemesh.coordinator.identity;

import io.grpc.Status;

/**
 * A refused identity operation, with the gRPC status it maps to. The message is meant for the
 * operator who runs the agent or the CLI, so it says what to do.
 */
public class IdentityException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why it was refused; decides the status code in one place. */
    public enum Kind {
        INVALID_REQUEST(Status.Code.INVALID_ARGUMENT),
        BAD_CREDENTIAL(Status.Code.UNAUTHENTICATED),
        NOT_ALLOWED(Status.Code.PERMISSION_DENIED);

        private final Status.Code code;

        Kind(Status.Code code) {
            this.code = code;
        }

        public Status.Code code() {
            return code;
        }
    }

    private final Kind kind;

    public IdentityException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public IdentityException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public Status toStatus() {
        return Status.fromCode(kind.code).withDescription(getMessage());
    }
}
