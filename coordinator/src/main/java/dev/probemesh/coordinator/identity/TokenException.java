package dev.probemesh.coordinator.identity;

/** A join token that cannot be used, and why. */
public final class TokenException extends Exception {
    private static final long serialVersionUID = 1L;

    public enum Reason { MALFORMED, UNKNOWN, EXPIRED, USED_UP, REVOKED }

    private final Reason reason;

    public TokenException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
