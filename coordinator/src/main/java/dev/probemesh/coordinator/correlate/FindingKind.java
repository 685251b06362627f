package dev.probemesh.coordinator.correlate;

/** The verdict kinds of DESIGN.md. */
public enum FindingKind {
    TARGET_OUTAGE, SHARED_DEPENDENCY_OUTAGE, LOCAL_PATH_BLOCK, TARGET_POLICY_BLOCK, DEGRADED, AGENT_SILENT,
    INCONCLUSIVE;

    /** Kinds that blame something for failing cells (AGENT_SILENT and DEGRADED do not). */
    public boolean blamesFailures() {
        return this != AGENT_SILENT && this != DEGRADED;
    }
}
