package dev.probemesh.coordinator.store;

import java.util.List;

/** What {@link Store#applyChecks} did to each check id. */
public record ApplyOutcome(List<String> created, List<String> updated, List<String> unchanged,
                           List<String> deleted) {
    public ApplyOutcome {
        created = List.copyOf(created);
        updated = List.copyOf(updated);
        unchanged = List.copyOf(unchanged);
        deleted = List.copyOf(deleted);
    }

    /** True when anything changed, i.e. assignments need to be pushed again. */
    public boolean changed() {
        return !created.isEmpty() || !updated.isEmpty() || !deleted.isEmpty();
    }
}
