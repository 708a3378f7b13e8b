package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** A prepared batch ({@link FlagBatch}, {@link FeatureFlags#evaluateBatch}) against the single calls. */
class BatchTest {
    private static final Set<String> MULTIVARIATE = Set.of("layout");

    /** FeatureFlagsTest.CONFIG changed: geo's rule serves off, layout serves pro, router is gone, fresh is new. */
    private static final String RELOADED = "{\"schema_version\": 1, \"flags\": {"
            + "  \"on\": {\"type\": \"boolean\"},"
            + "  \"geo\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"id\": \"na\", \"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]}, \"serve\": \"off\"}]},"
            + "  \"layout\": {\"type\": \"multivariate\", \"variants\": {\"classic\": 1, \"pro\": {\"levels\": 20}}, \"default\": \"pro\"},"
            + "  \"emoji-🚀\": {\"type\": \"boolean\"},"
            + "  \"fresh\": {\"type\": \"boolean\"}}}";

    /** Every result of evaluateBatch and evaluateMany equals evaluate, isEnabled and variant for its key. */
    private static void assertBatchEqualsSingles(FeatureFlags ff, FlagBatch batch, EvaluationContext ctx, BatchResults r) {
        ff.evaluateBatch(batch, ctx, r);
        String[] keys = new String[batch.size()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = batch.key(i);
        }
        Evaluation[] many = ff.evaluateMany(keys, ctx);
        for (int i = 0; i < keys.length; i++) {
            String k = keys[i];
            Evaluation one = ff.evaluate(k, ctx);
            Evaluation got = r.evaluation(i);
            assertEquals(one.variant(), got.variant(), k);
            assertEquals(one.reason(), got.reason(), k);
            assertEquals(one.ruleIndex(), got.ruleIndex(), k);
            assertEquals(one.ruleId(), got.ruleId(), k);
            assertTrue(got.valueJson().isEmpty(), k);
            assertEquals(many[i].variant(), got.variant(), k);
            assertEquals(many[i].reason(), got.reason(), k);
            assertEquals(many[i].ruleIndex(), got.ruleIndex(), k);
            assertEquals(one.reason(), r.reason(i), k);
            assertEquals(ff.variant(k, ctx, "def"), r.variant(i, "def"), k);
            if (!MULTIVARIATE.contains(k)) {
                assertEquals(ff.isEnabled(k, ctx, false), r.isEnabled(i, false), k);
                assertEquals(ff.isEnabled(k, ctx, true), r.isEnabled(i, true), k);
            }
        }
    }

    /** isEnabledMany answers each key as isEnabled does, under three patterns of defaults and none. */
    private static void assertSwitchesEqualSingles(FeatureFlags ff, FlagBatch batch, EvaluationContext ctx) {
        int n = batch.size();
        boolean[] out = new boolean[n];
        for (int pattern = 0; pattern < 3; pattern++) {
            boolean[] defaults = new boolean[n];
            for (int i = 0; i < n; i++) {
                defaults[i] = pattern == 1 || (pattern == 2 && i % 3 == 1);
                out[i] = !defaults[i];
            }
            ff.isEnabledMany(batch, ctx, defaults, out);
            for (int i = 0; i < n; i++) {
                assertEquals(ff.isEnabled(batch.key(i), ctx, defaults[i]), out[i], batch.key(i) + " at " + i);
            }
        }
        java.util.Arrays.fill(out, true);
        ff.isEnabledMany(batch, ctx, null, out);
        for (int i = 0; i < n; i++) {
            assertEquals(ff.isEnabled(batch.key(i), ctx, false), out[i], batch.key(i) + " with null defaults");
        }
    }

    @Test
    void switchBatchesAnswerAsIsEnabled() {
        String[] base = {"on", "geo", "layout", "router", "missing", "", "emoji-🚀"};
        String[] keys = new String[150]; // three calls of 64 bits, the last partial
        for (int i = 0; i < keys.length; i++) {
            keys[i] = base[i % base.length];
        }
        FlagBatch batch = FlagBatch.of(keys);
        try (FeatureFlags ff = FeatureFlagsTest.engine()) {
            for (String country : new String[] {"US", "FR"}) {
                for (int u = 0; u < 4; u++) {
                    try (EvaluationContext ctx = EvaluationContext.of("user-" + u).set("country", country)) {
                        assertSwitchesEqualSingles(ff, batch, ctx);
                    }
                }
            }
            boolean[] defaults = new boolean[keys.length];
            boolean[] out = new boolean[keys.length];
            for (int i = 0; i < keys.length; i++) {
                defaults[i] = i % 2 == 0;
            }
            try (EvaluationContext ctx = EvaluationContext.of("user-1").set("country", "US")) {
                ff.isEnabledMany(batch, ctx, defaults, out);
                assertTrue(out[1], "geo for the US");
                assertEquals(defaults[2], out[2], "layout, multivariate: its default");
                assertThrows(IllegalArgumentException.class, () -> ff.isEnabledMany(batch, ctx, null, new boolean[3]));
                assertThrows(IllegalArgumentException.class, () -> ff.isEnabledMany(batch, ctx, new boolean[3], out));
                boolean[] inout = defaults.clone();
                ff.isEnabledMany(batch, ctx, inout, inout);
                ff.isEnabledMany(batch, ctx, defaults, out);
                assertTrue(java.util.Arrays.equals(out, inout), "defaults in, answers out");
            }
            EvaluationContext closed = EvaluationContext.of("u");
            closed.close();
            ff.isEnabledMany(batch, closed, defaults, out);
            assertTrue(java.util.Arrays.equals(defaults, out), "closed context: the defaults");
        }
        FeatureFlags closing = FeatureFlagsTest.engine();
        closing.close();
        boolean[] out = new boolean[keys.length];
        try (EvaluationContext ctx = EvaluationContext.of("user-1")) {
            java.util.Arrays.fill(out, true);
            closing.isEnabledMany(batch, ctx, null, out);
            for (boolean b : out) {
                assertFalse(b, "closed engine: the defaults");
            }
        }
    }

    @Test
    void batchResultsEqualSingleCallsAcrossUsersAndAReload() {
        String[] keys = {"on", "geo", "layout", "router", "missing", "", "emoji-🚀", "on", "héllo-ünknown"};
        FlagBatch batch = FlagBatch.of(keys);
        BatchResults r = batch.newResults();
        assertEquals(keys.length, r.size());
        assertEquals(Reason.ERROR, r.reason(0), "before any evaluation");
        assertTrue(r.isEnabled(0, true));
        try (FeatureFlags ff = FeatureFlagsTest.engine()) {
            for (String country : new String[] {"US", "FR"}) {
                for (int u = 0; u < 5; u++) {
                    try (EvaluationContext ctx = EvaluationContext.of("user-" + u).set("country", country)) {
                        assertBatchEqualsSingles(ff, batch, ctx, r);
                    }
                }
            }
            try (EvaluationContext ctx = EvaluationContext.of("user-1").set("country", "CA").set("nick", "a\u0000b🚀")) {
                assertBatchEqualsSingles(ff, batch, ctx, r);
                ff.evaluateBatch(batch, ctx, r);
                assertTrue(r.isEnabled(0, false));
                assertEquals("on", r.variant(1, ""));
                assertEquals("na", r.evaluation(1).ruleId().orElse(""));
                assertEquals(Reason.FLAG_NOT_FOUND, r.reason(4));
                assertEquals(Reason.FLAG_NOT_FOUND, r.reason(5));
                assertTrue(r.isEnabled(4, true), "unknown key: the default");
                assertFalse(r.isEnabled(4, false), "unknown key: the default");
                assertEquals(Reason.RULE_MATCH, r.reason(6), "a UTF-8 key");

                // After a reload (RELOADED).
                ff.loadJson(RELOADED);
                assertBatchEqualsSingles(ff, batch, ctx, r);
                ff.evaluateBatch(batch, ctx, r);
                assertFalse(r.isEnabled(1, true), "geo after the reload");
                assertEquals(Reason.FLAG_NOT_FOUND, r.reason(3), "router after the reload");
                assertEquals("pro", r.variant(2, ""), "layout after the reload");
                String[] more = java.util.Arrays.copyOf(keys, keys.length + 1);
                more[keys.length] = "fresh";
                FlagBatch fresh = FlagBatch.of(more);
                assertBatchEqualsSingles(ff, fresh, ctx, fresh.newResults());
                assertThrows(IllegalArgumentException.class, () -> ff.evaluateBatch(fresh, ctx, r));
            }
            EvaluationContext closed = EvaluationContext.of("u");
            closed.close();
            ff.evaluateBatch(batch, closed, r);
            assertEquals(Reason.ERROR, r.reason(0), "closed context");
            assertFalse(r.isEnabled(0, false));
            assertEquals("d", r.variant(0, "d"));
        }
        FeatureFlags closing = FeatureFlagsTest.engine();
        try (EvaluationContext ctx = EvaluationContext.of("user-1")) {
            closing.evaluateBatch(batch, ctx, r);
            assertEquals(Reason.DEFAULT, r.reason(0));
            closing.close();
            assertEquals(Reason.ERROR, r.reason(0), "read after the engine was closed");
            assertEquals(Reason.ERROR, r.evaluation(0).reason());
            closing.evaluateBatch(batch, ctx, r);
            assertEquals(Reason.ERROR, r.reason(1), "closed engine");
        }
        FlagBatch empty = FlagBatch.of();
        try (FeatureFlags ff = FeatureFlagsTest.engine(); EvaluationContext ctx = EvaluationContext.of("u")) {
            ff.evaluateBatch(empty, ctx, empty.newResults());
        }
    }

    @Test
    void warmBatchesAllocateNothing() {
        FlagBatch batch = FlagBatch.of("on", "geo", "layout", "router", "missing", "on", "geo", "layout", "router", "on");
        BatchResults r = batch.newResults();
        try (FeatureFlags ff = FeatureFlagsTest.engine(); EvaluationContext ctx = EvaluationContext.of("u").set("country", "CA")) {
            int calls = 200_000;
            long bytes = FeatureFlagsTest.allocatedBytes(calls, () -> {
                ff.evaluateBatch(batch, ctx, r);
                long on = 0;
                for (int i = 0; i < r.size(); i++) {
                    on += r.isEnabled(i, false) ? 1 : 0;
                    on += r.variant(i, "").length();
                }
                return on;
            });
            System.out.println("warmBatchesAllocateNothing: bytes per batch " + bytes / (double) calls);
            assertEquals(0, bytes, "bytes over " + calls + " batches of 10");
            boolean[] out = new boolean[batch.size()];
            long switchBytes = FeatureFlagsTest.allocatedBytes(calls, () -> {
                ff.isEnabledMany(batch, ctx, null, out);
                return out[1] ? 1 : 0;
            });
            assertEquals(0, switchBytes, "bytes over " + calls + " isEnabledMany of 10");
        }
    }
}
