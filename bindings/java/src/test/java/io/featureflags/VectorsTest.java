package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Runs the shared vectors in tests/vectors/ (the same files every binding runs). */
class VectorsTest {
    static final Path VECTORS = Path.of("..", "..", "tests", "vectors");
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode read(String name) throws Exception {
        return JSON.readTree(Files.readAllBytes(VECTORS.resolve(name)));
    }

    static EvaluationContext context(JsonNode spec) {
        EvaluationContext ctx = EvaluationContext.of(spec.get("user_id").asText());
        JsonNode attrs = spec.get("attributes");
        if (attrs != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = attrs.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> a = it.next();
                JsonNode v = a.getValue();
                if (v.isTextual()) {
                    ctx.set(a.getKey(), v.asText());
                } else if (v.isBoolean()) {
                    ctx.set(a.getKey(), v.asBoolean());
                } else {
                    ctx.set(a.getKey(), v.asDouble());
                }
            }
        }
        return ctx;
    }

    @Test
    void everyFlagCase() throws Exception {
        JsonNode spec = read("flags.json");
        List<String> failures = new ArrayList<>();
        int count = 0;
        try (FeatureFlags ff = FeatureFlags.create()) {
            ff.loadJson(Files.readAllBytes(VECTORS.resolve(spec.get("config").asText())));
            for (JsonNode scenario : spec.get("scenarios")) {
                ff.setTime(scenario.get("time_ms").asLong());
                JsonNode overrides = scenario.get("overrides");
                if (overrides != null) {
                    overrides.fields().forEachRemaining(o -> ff.setOverride(o.getKey(), o.getValue().asText()));
                }
                for (JsonNode c : scenario.get("cases")) {
                    count++;
                    String name = scenario.get("name").asText() + "/" + c.get("name").asText();
                    String flag = c.get("flag").asText();
                    JsonNode want = c.get("expect");
                    try (EvaluationContext ctx = context(c.get("context"))) {
                        Evaluation ev = ff.evaluate(flag, ctx);
                        String wantVariant = want.get("variant").isNull() ? null : want.get("variant").asText();
                        if (!java.util.Objects.equals(ev.variant().orElse(null), wantVariant)) failures.add(name + ": variant " + ev);
                        if (!ev.reason().name().equals(want.get("reason").asText())) failures.add(name + ": reason " + ev);
                        int wantIndex = want.get("rule_index").isNull() ? -1 : want.get("rule_index").asInt();
                        if (ev.ruleIndex().orElse(-1) != wantIndex) failures.add(name + ": rule index " + ev);
                        String wantId = want.get("rule_id").isNull() ? null : want.get("rule_id").asText();
                        if (!java.util.Objects.equals(ev.ruleId().orElse(null), wantId)) failures.add(name + ": rule id " + ev);
                        JsonNode value = ev.valueJson().map(v -> {
                            try {
                                return JSON.readTree(v);
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        }).orElse(JSON.nullNode());
                        if (!value.equals(want.get("value")) && !(value.isNumber() && want.get("value").isNumber()
                                && value.asDouble() == want.get("value").asDouble())) {
                            failures.add(name + ": value " + value + " want " + want.get("value"));
                        }
                        if (ff.isEnabled(flag, ctx, false) != want.get("enabled").asBoolean()) failures.add(name + ": enabled");
                        if (!java.util.Objects.equals(ff.variant(flag, ctx, null), wantVariant)) failures.add(name + ": variant()");
                    }
                }
                if (overrides != null) {
                    overrides.fieldNames().forEachRemaining(ff::clearOverride);
                }
            }
        }
        assertTrue(count >= 100, "only " + count + " vectors");
        assertEquals(List.of(), failures);
    }

    @Test
    void bucketing() throws Exception {
        JsonNode cases = read("bucketing.json");
        assertTrue(cases.size() >= 20);
        for (JsonNode c : cases) {
            assertEquals(c.get("bucket").asInt(), FeatureFlags.bucket(c.get("salt").asText(), c.get("key").asText()), c.toString());
        }
    }

    @Test
    void invalidConfigsChangeNothing() throws Exception {
        JsonNode cases = read("invalid.json");
        assertTrue(cases.size() >= 20);
        try (FeatureFlags ff = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("u")) {
            ff.loadJson("{\"schema_version\": 1, \"flags\": {\"keep\": {\"type\": \"boolean\"}}}");
            for (JsonNode c : cases) {
                InvalidConfigException e = assertThrows(InvalidConfigException.class,
                        () -> ff.loadJson(JSON.writeValueAsBytes(c.get("config"))), c.get("name").asText());
                assertEquals(2, e.status());
                for (JsonNode p : c.get("paths")) {
                    assertTrue(e.getMessage().contains(p.asText()), c.get("name").asText() + " lacks " + p.asText());
                }
                assertTrue(ff.isEnabled("keep", ctx, false));
            }
        }
        assertFalse(cases.isEmpty());
    }
}
