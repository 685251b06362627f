package dev.probemesh.coordinator.store;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The one place where SQL differs between databases. Everything else the store sends is plain
 * standard SQL. Upserts are standard {@code MERGE ... USING (VALUES ...)} statements (H2 2.x and
 * PostgreSQL 15+), with every parameter cast so that both can type the VALUES row.
 */
enum SqlDialect {
    H2("VARBINARY"),
    POSTGRESQL("BYTEA");

    private final String binaryType;

    SqlDialect(String binaryType) {
        this.binaryType = binaryType;
    }

    static SqlDialect forUrl(String jdbcUrl) {
        String u = jdbcUrl.toLowerCase(Locale.ROOT);
        if (u.startsWith("jdbc:h2:")) {
            return H2;
        }
        if (u.startsWith("jdbc:postgresql:")) {
            return POSTGRESQL;
        }
        throw new IllegalArgumentException("unsupported JDBC URL " + jdbcUrl
                + ": use jdbc:h2:... (PostgreSQL support comes with its own migrations)");
    }

    /** A column of a MERGE source row: name and portable type. */
    record Col(String name, Type type) {
    }

    enum Type { VARCHAR, BIGINT, INTEGER, BOOLEAN, DOUBLE, BINARY }

    String sqlType(Type t) {
        return switch (t) {
            case VARCHAR -> "VARCHAR(8192)";
            case BIGINT -> "BIGINT";
            case INTEGER -> "INTEGER";
            case BOOLEAN -> "BOOLEAN";
            case DOUBLE -> "DOUBLE PRECISION";
            case BINARY -> binaryType;
        };
    }

    /**
     * An upsert of one row (parameters in {@code cols} order) keyed on {@code keys}.
     *
     * @param updateSet       the SET list used when the key exists (may refer to t. and s.)
     * @param matchedCondition extra condition for updating an existing row, or null
     */
    String merge(String table, List<Col> cols, List<String> keys, String updateSet,
                 String matchedCondition) {
        String values = cols.stream()
                .map(c -> "CAST(? AS " + sqlType(c.type()) + ")")
                .collect(Collectors.joining(", "));
        String names = cols.stream().map(Col::name).collect(Collectors.joining(", "));
        String on = keys.stream().map(k -> "t." + k + " = s." + k)
                .collect(Collectors.joining(" AND "));
        String insertValues = cols.stream().map(c -> "s." + c.name())
                .collect(Collectors.joining(", "));
        return "MERGE INTO " + table + " t USING (VALUES (" + values + ")) s(" + names + ") ON "
                + on
                + " WHEN MATCHED" + (matchedCondition == null ? "" : " AND " + matchedCondition)
                + " THEN UPDATE SET " + updateSet
                + " WHEN NOT MATCHED THEN INSERT (" + names + ") VALUES (" + insertValues + ")";
    }

    /** The SET list that copies every non-key column from the source row. */
    static String setAllBut(List<Col> cols, List<String> keys) {
        return cols.stream().map(Col::name).filter(n -> !keys.contains(n))
                .map(n -> n + " = s." + n).collect(Collectors.joining(", "));
    }
}
