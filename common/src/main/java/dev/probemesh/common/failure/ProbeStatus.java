package dev.probemesh.common.failure;

import dev.probemesh.proto.v1.Status;

/** The status of one probe run. */
public enum ProbeStatus {
    OK, FAIL, DEGRADED, ERROR, UNSUPPORTED;

    public Status toProto() {
        return switch (this) {
            case OK -> Status.STATUS_OK;
            case FAIL -> Status.STATUS_FAIL;
            case DEGRADED -> Status.STATUS_DEGRADED;
            case ERROR -> Status.STATUS_ERROR;
            case UNSUPPORTED -> Status.STATUS_UNSUPPORTED;
        };
    }

    public static ProbeStatus fromProto(Status s) {
        return switch (s) {
            case STATUS_OK -> OK;
            case STATUS_FAIL -> FAIL;
            case STATUS_DEGRADED -> DEGRADED;
            case STATUS_UNSUPPORTED -> UNSUPPORTED;
            default -> ERROR;
        };
    }
}
