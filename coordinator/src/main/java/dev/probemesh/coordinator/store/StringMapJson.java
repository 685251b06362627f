package dev.probemesh.coordinator.store;

import java.util.Map;
import java.util.TreeMap;

/**
 * Labels and result attributes as compact JSON objects of strings: readable in SQL tools and
 * (later) a PostgreSQL jsonb column, without pulling a JSON library into the store for a flat map.
 */
final class StringMapJson {
    private StringMapJson() {
    }

    /** Encodes with sorted keys, so equal maps give equal text. */
    static String encode(Map<String, String> map) {
        if (map.isEmpty()) {
            return "{}";
        }
        StringBuilder sb = new StringBuilder(16 + map.size() * 24);
        sb.append('{');
        boolean first = true;
        for (Map.Entry<String, String> e : new TreeMap<>(map).entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            quote(sb, e.getKey());
            sb.append(':');
            quote(sb, e.getValue());
        }
        return sb.append('}').toString();
    }

    /**
     * Encodes at most {@code maxChars}: entries that do not fit are left out (whole entries, so
     * the text stays valid JSON) and {@code "_truncated":"true"} records that some were.
     */
    static String encodeBounded(Map<String, String> map, int maxChars) {
        String full = encode(map);
        if (full.length() <= maxChars) {
            return full;
        }
        TreeMap<String, String> kept = new TreeMap<>();
        String marker = ",\"_truncated\":\"true\"";
        for (Map.Entry<String, String> e : new TreeMap<>(map).entrySet()) {
            kept.put(e.getKey(), e.getValue());
            if (encode(kept).length() + marker.length() > maxChars) {
                kept.remove(e.getKey());
                break;
            }
        }
        kept.put("_truncated", "true");
        return encode(kept);
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** Decodes what {@link #encode} wrote; anything else is a corrupt row. */
    static Map<String, String> decode(String json) {
        if (json == null || json.isEmpty() || json.equals("{}")) {
            return Map.of();
        }
        Parser p = new Parser(json);
        return p.object();
    }

    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        Map<String, String> object() {
            Map<String, String> out = new TreeMap<>();
            skipWs();
            expect('{');
            skipWs();
            if (peek() == '}') {
                i++;
                return out;
            }
            while (true) {
                skipWs();
                String k = string();
                skipWs();
                expect(':');
                skipWs();
                String v = string();
                out.put(k, v);
                skipWs();
                char c = next();
                if (c == '}') {
                    return out;
                }
                if (c != ',') {
                    throw new IllegalArgumentException("bad JSON map at " + (i - 1) + ": " + s);
                }
            }
        }

        private String string() {
            expect('"');
            StringBuilder sb = new StringBuilder();
            while (true) {
                char c = next();
                if (c == '"') {
                    return sb.toString();
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = next();
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            throw new IllegalArgumentException("bad JSON escape: " + s);
                        }
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw new IllegalArgumentException("bad JSON escape: " + s);
                }
            }
        }

        private void skipWs() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private char peek() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("truncated JSON map: " + s);
            }
            return s.charAt(i);
        }

        private char next() {
            char c = peek();
            i++;
            return c;
        }

        private void expect(char c) {
            if (next() != c) {
                throw new IllegalArgumentException("expected '" + c + "' at " + (i - 1) + ": " + s);
            }
        }
    }
}
