package dev.probemesh.agent.probe.net;

import dev.probemesh.common.failure.FailureCode;

/** A name did not resolve; {@link #code()} says how (DNS_TIMEOUT, DNS_NXDOMAIN, DNS_SERVFAIL, ...). */
public final class ResolveException extends Exception {
    private final FailureCode code;

    public ResolveException(FailureCode code, String message) {
        super(message);
        this.code = code;
    }

    public FailureCode code() {
        return code;
    }
}
