package dev.probemesh.agent.enroll;

/** Enrollment did not happen; the message tells the operator what to check. */
public final class EnrollException extends Exception {
    private static final long serialVersionUID = 1L;

    public enum Reason {
        /** Bad arguments (pin, address, name) before anything was sent. */
        INVALID_INPUT,
        /** The server's CA does not have the pinned key: wrong coordinator or a man in the middle. */
        PIN_MISMATCH,
        /** TLS failed for another reason (e.g. the server certificate does not name this address). */
        TLS,
        /** No answer in time, or connection refused. */
        UNREACHABLE,
        /** The coordinator answered with an error (bad token, name taken, bad request). */
        REFUSED,
        /** The coordinator's answer does not fit what was asked. */
        INVALID_RESPONSE,
        /** The credentials could not be written. */
        STORAGE
    }

    private final Reason reason;

    public EnrollException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
