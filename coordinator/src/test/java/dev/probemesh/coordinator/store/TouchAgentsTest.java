package dev.probemesh.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many agents' last-seen times in one write: known agents move on, unknown names are ignored. */
class TouchAgentsTest {
    private static final Instant T = Instant.parse("2026-11-22T10:00:00Z");

    @TempDir
    Path dir;

    @Test
    void recordsEveryKnownAgentsLastSeenAndSkewInOneCall() {
        try (Store store = Store.openH2(dir)) {
            for (String name : List.of("idc-1", "home-1")) {
                store.upsertAgent(new AgentRow(name, "s", Map.of(), "v", new byte[0], T, T, 0));
            }
            store.touchAgents(List.of(new Store.Touch("idc-1", T.plusSeconds(30), 5),
                    new Store.Touch("home-1", T.plusSeconds(40), -3), new Store.Touch("nobody", T, 0)));

            assertThat(store.agent("idc-1").orElseThrow()).satisfies(a -> {
                assertThat(a.lastSeen()).isEqualTo(T.plusSeconds(30));
                assertThat(a.clockSkewMs()).isEqualTo(5);
            });
            assertThat(store.agent("home-1").orElseThrow().lastSeen()).isEqualTo(T.plusSeconds(40));
            assertThat(store.agent("nobody")).isEmpty();
            store.touchAgents(List.of()); // nothing to write is not an error
        }
    }
}
