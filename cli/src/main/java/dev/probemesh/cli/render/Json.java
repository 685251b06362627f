package dev.probemesh.cli.render;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.time.Instant;

/** JSON output: one shared, configured mapper; maps with insertion order keep field order stable. */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }

    /** ISO-8601 UTC, or null for 0 (unset). */
    public static String time(long epochMs) {
        return epochMs == 0 ? null : Instant.ofEpochMilli(epochMs).toString();
    }
}
