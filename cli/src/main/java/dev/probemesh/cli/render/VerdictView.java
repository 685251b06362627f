package dev.probemesh.cli.render;

import dev.probemesh.proto.v1.Component;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.Evidence;
import dev.probemesh.proto.v1.Verdict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Renders verdicts as the stable JSON contract of DESIGN.md, or as text an operator reads at 23:00. */
public final class VerdictView {
    private VerdictView() {
    }

    public static Map<String, Object> toJson(DiagnoseResponse r) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("generatedAt", Json.time(r.getGeneratedAtMs()));
        Map<String, Object> window = new LinkedHashMap<>();
        window.put("from", Json.time(r.getWindowFromMs()));
        window.put("to", Json.time(r.getWindowToMs()));
        root.put("window", window);
        List<Object> vs = new ArrayList<>();
        r.getVerdictsList().forEach(v -> vs.add(verdict(v)));
        root.put("verdicts", vs);
        return root;
    }

    public static Map<String, Object> verdict(Verdict v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", v.getId());
        m.put("kind", v.getKind());
        m.put("state", v.getState());
        m.put("openedAt", Json.time(v.getOpenedAtMs()));
        m.put("closedAt", Json.time(v.getClosedAtMs()));
        m.put("site", v.getSite().isEmpty() ? null : v.getSite());
        m.put("sites", v.getSitesList());
        m.put("agents", v.getAgentsList());
        m.put("component", component(v.getComponent()));
        m.put("checks", v.getChecksList());
        m.put("target", v.getTarget().isEmpty() ? null : v.getTarget());
        m.put("confidence", Math.round(v.getConfidence() * 100) / 100.0);
        m.put("summary", v.getSummary());
        List<Object> ev = new ArrayList<>();
        for (Evidence e : v.getEvidenceList()) {
            Map<String, Object> em = new LinkedHashMap<>();
            em.put("agent", e.getAgent());
            em.put("check", e.getCheck());
            em.put("status", e.getStatus());
            em.put("failure", e.getFailure().isEmpty() ? null : e.getFailure());
            em.put("layer", e.getLayer().isEmpty() ? null : e.getLayer());
            em.put("detail", e.getDetail().isEmpty() ? null : e.getDetail());
            ev.add(em);
        }
        m.put("evidence", ev);
        m.put("remedy", v.getRemedy());
        if (!v.getUndecided().isEmpty()) {
            m.put("undecided", v.getUndecided());
        }
        return m;
    }

    /** Only the fields that apply: protocol, port, zone, resolver appear where set. */
    static Map<String, Object> component(Component c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layer", c.getLayer());
        if (!c.getProtocol().isEmpty()) {
            m.put("protocol", c.getProtocol());
        }
        if (c.getPort() != 0) {
            m.put("port", c.getPort());
        }
        m.put("family", c.getFamily().isEmpty() ? "any" : c.getFamily());
        if (!c.getZone().isEmpty()) {
            m.put("zone", c.getZone());
        }
        if (!c.getResolver().isEmpty()) {
            m.put("resolver", c.getResolver());
        }
        return m;
    }

    /** "open since T", or for a closed verdict "closed at T2, opened T1": when it ended is what --all readers want. */
    static String when(Verdict v) {
        if (v.getClosedAtMs() != 0) {
            return v.getState().toLowerCase() + " at " + Json.time(v.getClosedAtMs()) + ", opened " + Json.time(v.getOpenedAtMs());
        }
        return v.getState().toLowerCase() + " since " + Json.time(v.getOpenedAtMs());
    }

    public static String toText(DiagnoseResponse r, boolean color) {
        StringBuilder out = new StringBuilder();
        if (r.getVerdictsCount() == 0) {
            return "no open verdicts (a red cell becomes a verdict once its failure is confirmed; cells refused by an agent's own policy never do)\n";
        }
        for (Verdict v : r.getVerdictsList()) {
            String where = v.getSite().isEmpty() ? "everywhere" : "site " + v.getSite();
            String head = v.getKind() + "  " + where + "  " + describe(v.getComponent()) + "  (" + v.getId() + ", "
                    + when(v) + ", confidence "
                    + Math.round(v.getConfidence() * 100) + "%)";
            out.append(color ? "\u001b[1m" + head + "\u001b[0m" : head).append('\n');
            out.append("  ").append(v.getSummary()).append('\n');
            if (!v.getEvidenceList().isEmpty()) {
                List<List<String>> rows = new ArrayList<>();
                for (Evidence e : v.getEvidenceList()) {
                    String sym = e.getStatus().equals("OK") ? "✓" : e.getStatus().equals("DEGRADED") ? "~" : "✗";
                    rows.add(List.of("  " + e.getLayer(), e.getAgent(), e.getCheck(),
                            sym + (e.getFailure().isEmpty() ? "" : " " + e.getFailure()),
                            e.getDetail().length() > 70 ? e.getDetail().substring(0, 70) + "…" : e.getDetail()));
                }
                Table.render(out, List.of("  layer", "agent", "check", "result", "detail"), rows, color);
            }
            if (!v.getRemedy().isEmpty()) {
                out.append("  remedy: ").append(v.getRemedy()).append('\n');
            }
            if (!v.getUndecided().isEmpty()) {
                out.append("  to decide: ").append(v.getUndecided()).append('\n');
            }
            out.append('\n');
        }
        return out.toString();
    }

    static String describe(Component c) {
        StringBuilder s = new StringBuilder(c.getLayer());
        if (!c.getProtocol().isEmpty()) {
            s.append(' ').append(c.getProtocol());
        }
        if (c.getPort() != 0) {
            s.append('/').append(c.getPort());
        }
        if (!c.getFamily().isEmpty() && !c.getFamily().equals("any")) {
            s.append(' ').append(c.getFamily());
        }
        if (!c.getZone().isEmpty()) {
            s.append(" zone ").append(c.getZone());
        }
        if (!c.getResolver().isEmpty()) {
            s.append(" via ").append(c.getResolver());
        }
        return s.toString();
    }
}
