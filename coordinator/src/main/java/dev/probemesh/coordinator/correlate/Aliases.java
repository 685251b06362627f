package dev.probemesh.coordinator.correlate;

import java.util.HashMap;
import java.util.Map;

/**
 * Union-find over host names and addresses known to be the same endpoint (a name and the
 * addresses it resolves to, the names of one CNAME chain). Deterministic: the representative of
 * a class is its lexicographically smallest member, whatever the order of unions.
 */
final class Aliases {
    private final Map<String, String> parent = new HashMap<>();

    void union(String a, String b) {
        if (a == null || b == null || a.isEmpty() || b.isEmpty()) {
            return;
        }
        String ra = find(a);
        String rb = find(b);
        if (ra.equals(rb)) {
            return;
        }
        if (ra.compareTo(rb) < 0) {
            parent.put(rb, ra);
        } else {
            parent.put(ra, rb);
        }
    }

    String find(String x) {
        String r = x;
        String p;
        while ((p = parent.get(r)) != null) {
            r = p;
        }
        // path compression keeps repeated lookups cheap on large fleets
        String c = x;
        while (!c.equals(r)) {
            String next = parent.get(c);
            parent.put(c, r);
            c = next;
        }
        return r;
    }
}
