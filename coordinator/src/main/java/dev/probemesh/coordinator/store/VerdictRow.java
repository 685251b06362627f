package dev.probemesh.coordinator.store;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * A verdict of the correlation engine, as history.
 *
 * @param closedAt null while open
 * @param site     null for global kinds
 * @param payload  probemesh.v1.Verdict bytes
 */
public record VerdictRow(String id, String kind, String state, Instant openedAt, Instant closedAt,
                         String site, byte[] payload) {
    public VerdictRow {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(openedAt, "openedAt");
        payload = payload == null ? new byte[0] : payload.clone();
    }

    @Override
    public byte[] payload() {
        return payload.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VerdictRow v && id.equals(v.id) && kind.equals(v.kind)
                && state.equals(v.state) && openedAt.equals(v.openedAt)
                && Objects.equals(closedAt, v.closedAt) && Objects.equals(site, v.site)
                && Arrays.equals(payload, v.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, kind, state, openedAt, closedAt, site, Arrays.hashCode(payload));
    }
}
