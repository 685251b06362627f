package dev.probemesh.agent;

import dev.probemesh.agent.policy.AgentPolicy;
import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.policy.PolicyException;
import dev.probemesh.agent.policy.RateLimiter;
import dev.probemesh.agent.probe.ProbeRunner;
import dev.probemesh.common.check.CheckKind;
import java.nio.file.Path;
import java.util.Set;

/** Loads the agent's local policy (or the safe defaults) into what the runtime needs. */
final class AgentPolicies {
    private AgentPolicies() {
    }

    record Loaded(DestinationPolicy policy, ProbeRunner.Gate gate, Set<CheckKind> kinds, String description) {
    }

    static Loaded load(Path file) throws PolicyException {
        AgentPolicy p = file == null ? AgentPolicy.defaults() : AgentPolicy.load(file);
        RateLimiter limiter = p.newRateLimiter();
        return new Loaded(p, (check, now) -> p.refuse(check, limiter, now), p.allowedKinds(),
                (file == null ? "built-in defaults" : file.toString()) + " (" + p.describe() + ")");
    }
}
