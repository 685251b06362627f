package dev.probemesh.agent.probe;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.net.AddressResolver;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What every probe shares, made once by the agent's main and passed in: a scheduler for
 * deadlines (never the common pool), the name resolver, the destination policy and extra CAs the
 * agent trusts for https/tls probes besides the system's (the lab's CA, for instance).
 */
public record ProbeEnv(
        ScheduledExecutorService scheduler,
        AddressResolver resolver,
        DestinationPolicy policy,
        List<X509Certificate> extraTrust) {

    public ProbeEnv {
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(resolver, "resolver");
        Objects.requireNonNull(policy, "policy");
        extraTrust = List.copyOf(extraTrust);
    }
}
