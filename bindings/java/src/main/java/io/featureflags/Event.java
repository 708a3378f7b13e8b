package io.featureflags;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One engine event as delivered to a listener ({@link FeatureFlags#addListener}) or
 * drained: a JSON object whose {@code type}, {@code seq} and {@code time_ms} are always
 * present, with the fields of its type (docs/events.md). Decoded only when read: a
 * listener that counts or forwards events pays for neither the string nor the parse.
 */
public final class Event {
    private final byte[] utf8;
    private String json;
    private Map<String, Object> fields;

    Event(byte[] utf8) {
        this.utf8 = utf8;
    }

    /**
     * The event as the engine wrote it.
     *
     * @return one JSON object
     */
    public synchronized String json() {
        if (json == null) {
            json = new String(utf8, StandardCharsets.UTF_8);
        }
        return json;
    }

    /**
     * The event's fields: strings, {@code Double} numbers, {@code Boolean}s, nested
     * {@code Map}s and {@code List}s, and nulls.
     *
     * @return the fields, in the engine's order
     */
    @SuppressWarnings("unchecked")
    public synchronized Map<String, Object> fields() {
        if (fields == null) {
            fields = (Map<String, Object>) Json.parse(json());
        }
        return fields;
    }

    /**
     * The event's type: {@code config_loaded}, {@code override_set}, {@code exposure}, ...
     *
     * @return the type
     */
    public String type() {
        return (String) fields().get("type");
    }

    /**
     * The event's number, 1, 2, ... per engine in emission order (gaps mean drops).
     *
     * @return the sequence number
     */
    public long seq() {
        return ((Double) fields().get("seq")).longValue();
    }

    @Override
    public String toString() {
        return json();
    }
}
