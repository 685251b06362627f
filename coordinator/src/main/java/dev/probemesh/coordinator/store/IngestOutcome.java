package dev.probemesh.coordinator.store;

import java.util.List;

/**
 * The committed outcome of one batch.
 *
 * @param ackedUpTo  the (agent, incarnation) high-water mark after the commit: every seq up to it
 *                   is stored, a duplicate or rejected; ack exactly this
 * @param rejected   malformed results, skipped
 * @param inserted   new raw rows
 * @param duplicates results at or below the previous high-water mark (or repeated in the batch)
 */
public record IngestOutcome(long ackedUpTo, List<Rejected> rejected, int inserted, int duplicates) {
    public IngestOutcome {
        rejected = List.copyOf(rejected);
    }
}
