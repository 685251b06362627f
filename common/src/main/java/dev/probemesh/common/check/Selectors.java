package dev.probemesh.common.check;

import java.util.LinkedHashMap;
import java.util.Map;

/** Label selectors: {@code k=v,k2=v2}; every pair must match. The key {@code site} matches the agent's site. */
public final class Selectors {
    private Selectors() {
    }

    public static boolean matches(Map<String, String> selector, String site, Map<String, String> labels) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            String actual = "site".equals(e.getKey()) ? site : labels.get(e.getKey());
            if (!e.getValue().equals(actual)) {
                return false;
            }
        }
        return true;
    }

    /** Parses {@code k=v,k2=v2}; an empty string is the empty selector (matches everything). */
    public static Map<String, String> parse(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        if (text == null || text.isBlank()) {
            return out;
        }
        for (String part : text.split(",", -1)) {
            int eq = part.indexOf('=');
            String key = eq < 0 ? "" : part.substring(0, eq).trim();
            String value = eq < 0 ? "" : part.substring(eq + 1).trim();
            if (key.isEmpty() || value.isEmpty()) {
                throw new IllegalArgumentException("selector \"" + text + "\": \"" + part.trim()
                        + "\" is not key=value (e.g. site=idc,role=edge)");
            }
            // Two values for one key could never both match; the user meant something else.
            if (out.putIfAbsent(key, value) != null) {
                throw new IllegalArgumentException("selector \"" + text + "\": key \"" + key + "\" appears twice");
            }
        }
        return out;
    }

    public static String format(Map<String, String> selector) {
        StringBuilder sb = new StringBuilder();
        selector.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ",").append(k).append('=').append(v));
        return sb.toString();
    }
}
