package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlagdTest {
    private static final String DOC = "{\"metadata\": {\"team\": \"core\"}, \"flags\": {"
            + "\"color\": {\"state\": \"ENABLED\", \"variants\": {\"red\": \"red\", \"blue\": \"blue\"},"
            + " \"defaultVariant\": \"blue\","
            + " \"targeting\": {\"if\": [{\"==\": [{\"var\": \"user.tier\"}, \"gold\"]}, \"red\", null]}},"
            + "\"broken\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1}, \"targeting\": {\"nope\": []}},"
            + "\"off\": {\"state\": \"DISABLED\", \"variants\": {\"a\": true}, \"defaultVariant\": \"a\"}}}";

    @Test
    void loadsEvaluatesAndReportsErrors() {
        try (FeatureFlags ff = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("u1")) {
            ff.loadFlagdJson(DOC.getBytes(StandardCharsets.UTF_8));
            assertThrows(InvalidConfigException.class, () -> ff.loadFlagdJson("[]".getBytes(StandardCharsets.UTF_8)));
            assertThrows(FeatureFlagsIOException.class, () -> ff.loadFlagdFile(Path.of("/nonexistent.json")));
            ctx.setJson("user", "{\"tier\": \"gold\"}");
            assertThrows(InvalidArgumentException.class, () -> ctx.setJson("bad", "{"));

            FlagdResult r = ff.evaluateFlagd("color", ctx, FlagdResult.Type.STRING);
            assertEquals(FlagdResult.Reason.TARGETING_MATCH, r.reason());
            assertEquals("red", r.variant());
            assertEquals("red", r.value());
            assertEquals(Map.of("team", "core"), Json.parse(r.metadataJson()));

            assertEquals(FlagdResult.ErrorCode.TYPE_MISMATCH,
                    ff.evaluateFlagd("color", ctx, FlagdResult.Type.BOOLEAN).errorCode());
            FlagdResult broken = ff.evaluateFlagd("broken", ctx, FlagdResult.Type.ANY);
            assertEquals(FlagdResult.ErrorCode.PARSE_ERROR, broken.errorCode());
            assertNull(broken.valueJson());
            assertEquals(FlagdResult.Reason.DISABLED, ff.evaluateFlagd("off", ctx, FlagdResult.Type.ANY).reason());
            assertEquals(FlagdResult.ErrorCode.FLAG_NOT_FOUND,
                    ff.evaluateFlagd("missing", ctx, FlagdResult.Type.ANY).errorCode());
        }
    }
}
