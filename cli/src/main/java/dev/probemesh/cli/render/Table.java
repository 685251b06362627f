package dev.probemesh.cli.render;

import java.util.List;

/** Plain aligned text tables, with optional ANSI colour for status symbols. */
public final class Table {
    private static final String GREEN = "\u001b[32m";
    private static final String RED = "\u001b[31m";
    private static final String YELLOW = "\u001b[33m";
    private static final String DIM = "\u001b[2m";
    private static final String RESET = "\u001b[0m";

    private Table() {
    }

    public static void render(StringBuilder out, List<String> header, List<List<String>> rows, boolean color) {
        int[] width = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            width[i] = header.get(i).length();
        }
        for (List<String> r : rows) {
            for (int i = 0; i < r.size(); i++) {
                width[i] = Math.max(width[i], r.get(i).codePointCount(0, r.get(i).length()));
            }
        }
        line(out, header, width, false);
        for (List<String> r : rows) {
            line(out, r, width, color);
        }
    }

    private static void line(StringBuilder out, List<String> cells, int[] width, boolean color) {
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i);
            int pad = width[i] - c.codePointCount(0, c.length());
            out.append(color ? paint(c) : c);
            if (i < cells.size() - 1) {
                out.append(" ".repeat(pad + 2));
            }
        }
        out.append('\n');
    }

    static String paint(String cell) {
        if (cell.startsWith("✓")) {
            return GREEN + cell + RESET;
        }
        if (cell.startsWith("✗")) {
            return RED + cell + RESET;
        }
        if (cell.startsWith("~")) {
            return YELLOW + cell + RESET;
        }
        if (cell.equals("?") || cell.equals("-")) {
            return DIM + cell + RESET;
        }
        return cell;
    }

    /** Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
    public static boolean colorWanted() {
        return System.console() != null && System.getenv("NO_COLOR") == null;
    }
}
