package dev.probemesh.agent.probe;

import dev.probemesh.proto.v1.Check;
import java.util.concurrent.CompletionStage;

/**
 * One probe kind. A probe takes a validated check and a deadline and completes a result; it never
 * throws for a network failure (failure is data) and never blocks the calling thread. Thousands
 * of runs may be in flight at once, so heavy objects (resolvers, bootstraps, SSL contexts) are
 * made once per probe instance, not per run.
 */
public interface Probe {

    /**
     * Runs the check once.
     *
     * @param check a check already validated by {@code CheckValidator}
     * @param deadlineNanos {@link System#nanoTime()} by which the returned stage completes
     */
    CompletionStage<ProbeResult> run(Check check, long deadlineNanos);
}
