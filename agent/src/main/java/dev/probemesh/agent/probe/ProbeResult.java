package dev.probemesh.agent.probe;

import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Family;
import java.util.Map;
import java.util.Objects;

/**
 * What one probe run found: status, the normalized failure code (null when OK), per-phase
 * timings, the address and family actually used, a short detail and kind-specific attributes
 * (rcode, http_status, zone, loss_pct, ...).
 */
public record ProbeResult(
        ProbeStatus status,
        FailureCode failure,
        String detail,
        PhaseTimings timings,
        String address,
        Family family,
        Map<String, String> attributes) {

    public ProbeResult {
        Objects.requireNonNull(status, "status");
        detail = detail == null ? "" : detail;
        timings = timings == null ? PhaseTimings.NONE : timings;
        address = address == null ? "" : address;
        family = family == null ? Family.FAMILY_ANY : family;
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
        if (status == ProbeStatus.OK && failure != null) {
            throw new IllegalArgumentException("an OK result carries no failure code");
        }
        if ((status == ProbeStatus.FAIL || status == ProbeStatus.ERROR) && failure == null) {
            throw new IllegalArgumentException(status + " needs a failure code");
        }
    }

    public static ProbeResult ok(String detail, PhaseTimings timings, String address, Family family,
            Map<String, String> attributes) {
        return new ProbeResult(ProbeStatus.OK, null, detail, timings, address, family, attributes);
    }

    public static ProbeResult fail(FailureCode code, String detail, PhaseTimings timings, String address,
            Family family, Map<String, String> attributes) {
        return new ProbeResult(ProbeStatus.FAIL, code, detail, timings, address, family, attributes);
    }

    /** A result for a run refused before it started (policy, bad spec, unsupported host). */
    public static ProbeResult refused(ProbeStatus status, FailureCode code, String detail) {
        return new ProbeResult(status, code, detail, PhaseTimings.NONE, "", Family.FAMILY_ANY, Map.of());
    }
}
