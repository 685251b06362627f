package dev.probemesh.coordinator.session;

import dev.probemesh.common.check.Selectors;
import dev.probemesh.proto.v1.Assignment;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.CoordinatorMessage;
import dev.probemesh.proto.v1.Goodbye;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live agent streams, by agent name. One stream per agent: a second connection under the
 * same name replaces the first (the old one is told goodbye), which is what an agent restart or
 * a half-dead TCP connection looks like from here.
 */
public final class SessionRegistry {
    private static final Logger log = LoggerFactory.getLogger(SessionRegistry.class);

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final Supplier<List<Check>> checks;
    private final AtomicLong generation = new AtomicLong();

    public SessionRegistry(Supplier<List<Check>> checks) {
        this.checks = checks;
    }

    public void register(Session s) {
        Session old = sessions.put(s.agent(), s);
        if (old != null && old != s) {
            log.info("agent {} reconnected; closing its previous stream", s.agent());
            old.terminate(Status.ABORTED.withDescription("replaced by a newer connection of the same agent"));
        }
        pushAssignment(s, checks.get());
    }

    /** Removes the session if it is still the registered one for its agent. */
    public void unregister(Session s) {
        s.markClosed();
        sessions.remove(s.agent(), s);
    }

    public Optional<Session> get(String agent) {
        return Optional.ofNullable(sessions.get(agent));
    }

    public List<Session> all() {
        return new ArrayList<>(sessions.values());
    }

    public boolean isConnected(String agent) {
        Session s = sessions.get(agent);
        return s != null && s.isOpen();
    }

    /** Re-sends every connected agent its assignment (after checks changed). */
    public void pushAssignments() {
        List<Check> all = checks.get();
        sessions.values().forEach(s -> pushAssignment(s, all));
    }

    private void pushAssignment(Session s, List<Check> all) {
        List<Check> mine = assignedTo(s.site(), s.labels(), all);
        s.send(CoordinatorMessage.newBuilder().setAssignment(Assignment.newBuilder()
                .addAllChecks(mine).setGeneration(generation.incrementAndGet())).build());
    }

    public static List<Check> assignedTo(String site, Map<String, String> labels, List<Check> all) {
        return all.stream().filter(c -> Selectors.matches(c.getSelectorMap(), site, labels)).toList();
    }

    /** Cuts a revoked agent's stream at once. */
    public void revoke(String agent, String reason) {
        Session s = sessions.remove(agent);
        if (s != null) {
            s.send(CoordinatorMessage.newBuilder().setGoodbye(Goodbye.newBuilder().setReason(reason)).build());
            s.terminate(Status.PERMISSION_DENIED.withDescription(reason));
            log.warn("agent {} revoked; stream cut", agent);
        }
    }

    public void closeAll(String reason) {
        sessions.values().forEach(s -> s.terminate(Status.UNAVAILABLE.withDescription(reason)));
        sessions.clear();
    }
}
