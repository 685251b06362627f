package dev.probemesh.agent;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** The agent's small config file: flat YAML keys mirroring the flags. */
final class AgentConfigFile {
    static final Set<String> KEYS = Set.of("coordinator", "name", "site", "labels", "data-dir", "policy", "trust-ca",
            "insecure");

    private AgentConfigFile() {
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> read(Path file) throws IOException {
        Object parsed;
        try (Reader r = Files.newBufferedReader(file)) {
            parsed = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage(), e);
        }
        if (parsed == null) {
            return Map.of();
        }
        if (!(parsed instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(file + ": expected a mapping of settings (" + String.join(", ", KEYS) + ")");
        }
        for (Object k : m.keySet()) {
            if (!KEYS.contains(String.valueOf(k))) {
                throw new IllegalArgumentException(file + ": unknown setting \"" + k + "\" (known: "
                        + String.join(", ", new java.util.TreeSet<>(KEYS)) + ")");
            }
        }
        return (Map<String, Object>) m;
    }
}
