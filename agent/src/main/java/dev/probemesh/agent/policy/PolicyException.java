package dev.probemesh.agent.policy;

/** A policy file that cannot be used; the message names the field and the fix. */
public final class PolicyException extends Exception {
    public PolicyException(String message) {
        super(message);
    }

    public PolicyException(String message, Throwable cause) {
        super(message, cause);
    }
}
