package io.featureflags;

import com.google.gson.Gson;

/**
 * The engine's own JSON documents (results, events) as Java values: objects become
 * {@code Map}s in document order, arrays {@code List}s, numbers {@code Double}, plus
 * {@code String}, {@code Boolean} and {@code null}. Gson does the parsing; the jar
 * carries it relocated (pom.xml).
 */
final class Json {
    private static final Gson GSON = new Gson();

    private Json() {}

    static Object parse(String text) {
        return GSON.fromJson(text, Object.class);
    }
}
