package dev.probemesh.cli.render;

import dev.probemesh.common.check.CheckFacts;
import dev.probemesh.proto.v1.AgentInfo;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.MatrixCell;
import dev.probemesh.proto.v1.MatrixChunk;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A matrix assembled from the coordinator's stream of chunks, rendered as the JSON contract or a table. */
public final class MatrixView {
    private long generatedAtMs;
    private final List<AgentInfo> agents = new ArrayList<>();
    private final List<Check> checks = new ArrayList<>();
    private final List<MatrixCell> cells = new ArrayList<>();

    public static MatrixView collect(Iterator<MatrixChunk> chunks) {
        MatrixView v = new MatrixView();
        chunks.forEachRemaining(c -> {
            if (c.getGeneratedAtMs() != 0) {
                v.generatedAtMs = c.getGeneratedAtMs();
            }
            v.agents.addAll(c.getAgentsList());
            v.checks.addAll(c.getChecksList());
            v.cells.addAll(c.getCellsList());
        });
        return v;
    }

    public static MatrixView of(long generatedAtMs, List<AgentInfo> agents, List<Check> checks, List<MatrixCell> cells) {
        MatrixView v = new MatrixView();
        v.generatedAtMs = generatedAtMs;
        v.agents.addAll(agents);
        v.checks.addAll(checks);
        v.cells.addAll(cells);
        return v;
    }

    public List<AgentInfo> agents() {
        return agents;
    }

    public List<Check> checks() {
        return checks;
    }

    public List<MatrixCell> cells() {
        return cells;
    }

    /** The matrix contract of DESIGN.md: generatedAt, agents, checks, cells. */
    public Map<String, Object> toJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("generatedAt", Json.time(generatedAtMs));
        List<Object> as = new ArrayList<>();
        for (AgentInfo a : agents) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", a.getName());
            m.put("site", a.getSite());
            m.put("labels", new java.util.TreeMap<>(a.getLabelsMap()));
            m.put("connected", a.getConnected());
            m.put("lastSeen", Json.time(a.getLastSeenMs()));
            m.put("version", a.getVersion());
            m.put("ipv6", a.getCapabilities().getIpv6());
            m.put("icmp", a.getCapabilities().getIcmp());
            as.add(m);
        }
        root.put("agents", as);
        List<Object> cs = new ArrayList<>();
        for (Check c : checks) {
            CheckFacts f = CheckFacts.of(c);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", c.getId());
            m.put("kind", c.getKind());
            m.put("target", c.getTarget());
            m.put("protocol", f.protocol());
            m.put("port", f.port());
            m.put("family", f.family());
            m.put("revision", c.getRevision());
            m.put("intervalMs", c.getIntervalMs());
            m.put("timeoutMs", c.getTimeoutMs());
            cs.add(m);
        }
        root.put("checks", cs);
        List<Object> cells = new ArrayList<>();
        for (MatrixCell c : this.cells) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("agent", c.getAgent());
            m.put("check", c.getCheckId());
            m.put("status", c.getStatus());
            m.put("failure", c.getFailure().isEmpty() ? null : c.getFailure());
            m.put("latencyMs", c.getAtMs() == 0 ? null : Math.round(c.getLatencyMs() * 100) / 100.0);
            m.put("at", Json.time(c.getAtMs()));
            m.put("verdict", c.getVerdictId().isEmpty() ? null : c.getVerdictId());
            m.put("detail", c.getDetail().isEmpty() ? null : c.getDetail());
            cells.add(m);
        }
        root.put("cells", cells);
        return root;
    }

    /**
     * A terminal table: rows are agents grouped by site, columns are checks (numbered, with a
     * legend, so the table stays narrow when all is well); a cell is ✓, ✗ and its failure code,
     * ~ for degraded, ? for no data, - for unsupported. {@code byCheck} transposes it.
     */
    public String toTable(boolean color, boolean byCheck) {
        Map<String, MatrixCell> byKey = new HashMap<>();
        cells.forEach(c -> byKey.put(c.getAgent() + "|" + c.getCheckId(), c));
        StringBuilder out = new StringBuilder();
        if (agents.isEmpty()) {
            return "no agents have connected yet (start one with: probemesh agent --coordinator HOST:PORT ...)\n";
        }
        if (checks.isEmpty()) {
            return "no checks defined yet (add some with: probemesh checks apply -f checks.yaml)\n";
        }
        List<AgentInfo> sorted = new ArrayList<>(agents);
        sorted.sort((a, b) -> a.getSite().equals(b.getSite()) ? a.getName().compareTo(b.getName())
                : a.getSite().compareTo(b.getSite()));
        if (byCheck) {
            List<String> header = new ArrayList<>();
            header.add("check");
            sorted.forEach(a -> header.add(a.getSite() + "/" + a.getName() + (a.getConnected() ? "" : " (offline)")));
            List<List<String>> rows = new ArrayList<>();
            for (Check c : checks) {
                List<String> row = new ArrayList<>();
                row.add(c.getId());
                sorted.forEach(a -> row.add(symbol(byKey.get(a.getName() + "|" + c.getId()))));
                rows.add(row);
            }
            Table.render(out, header, rows, color);
        } else {
            List<String> header = new ArrayList<>();
            header.add("site");
            header.add("agent");
            for (int i = 0; i < checks.size(); i++) {
                header.add(String.valueOf(i + 1));
            }
            List<List<String>> rows = new ArrayList<>();
            for (AgentInfo a : sorted) {
                List<String> row = new ArrayList<>();
                row.add(a.getSite());
                row.add(a.getName() + (a.getConnected() ? "" : " (offline)"));
                for (Check c : checks) {
                    row.add(symbol(byKey.get(a.getName() + "|" + c.getId())));
                }
                rows.add(row);
            }
            Table.render(out, header, rows, color);
            out.append('\n');
            for (int i = 0; i < checks.size(); i++) {
                Check c = checks.get(i);
                out.append(String.format("%3d  %-22s %s %s%n", i + 1, c.getId(), c.getKind(), c.getTarget()));
            }
        }
        long red = cells.stream().filter(c -> c.getStatus().equals("FAIL") || c.getStatus().equals("ERROR")).count();
        long missing = cells.stream().filter(c -> c.getStatus().equals("MISSING")).count();
        long degraded = cells.stream().filter(c -> c.getStatus().equals("DEGRADED")).count();
        out.append(String.format("%n%d agents, %d checks, %d cells: %d failing, %d degraded, %d without data%n",
                agents.size(), checks.size(), cells.size(), red, degraded, missing));
        java.util.Map<String, Long> byVerdict = new java.util.TreeMap<>();
        cells.stream().filter(c -> !c.getVerdictId().isEmpty())
                .forEach(c -> byVerdict.merge(c.getVerdictId(), 1L, Long::sum));
        if (!byVerdict.isEmpty()) {
            StringBuilder v = new StringBuilder();
            byVerdict.forEach((id, n) -> v.append(v.length() == 0 ? "" : ", ").append(id).append(" (").append(n)
                    .append(n == 1 ? " cell)" : " cells)"));
            out.append("explained by open verdicts: ").append(v).append('\n');
        }
        if (red + degraded > 0) {
            out.append("explain the red cells: probemesh diagnose\n");
        }
        return out.toString();
    }

    static String symbol(MatrixCell c) {
        if (c == null) {
            return "";
        }
        return switch (c.getStatus()) {
            case "OK" -> "✓";
            case "FAIL", "ERROR" -> "✗ " + (c.getFailure().isEmpty() ? c.getStatus() : c.getFailure());
            case "DEGRADED" -> "~ " + (c.getFailure().isEmpty() ? "DEGRADED" : c.getFailure());
            case "UNSUPPORTED" -> "-";
            default -> "?";
        };
    }
}
