package dev.probemesh.agent.probe;

/** Per-phase durations in microseconds; 0 means the phase was not reached or does not apply. */
public record PhaseTimings(long resolveUs, long connectUs, long tlsUs, long firstByteUs, long totalUs) {
    public static final PhaseTimings NONE = new PhaseTimings(0, 0, 0, 0, 0);

    public static PhaseTimings total(long totalUs) {
        return new PhaseTimings(0, 0, 0, 0, totalUs);
    }
}
