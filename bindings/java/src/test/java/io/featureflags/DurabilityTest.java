package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A durable engine: what it was told and counted comes back after a restart. */
class DurabilityTest {
    static final long NOW = 1795000000000L + 31 * 60000;

    static FeatureFlags open(Path dir) {
        String path = dir.resolve("flags.db").toString().replace("\\", "\\\\").replace("\"", "\\\"");
        return FeatureFlags.create("{\"state_path\": \"" + path + "\"}");
    }

    static void traffic(FeatureFlags ff, int first, int n) {
        for (int i = first; i < first + n; i++) {
            try (EvaluationContext ctx = EvaluationContext.of("u" + i)) {
                assertTrue(ff.assign("btn", ctx) != null);
            }
            if (i % 4 == 0) {
                ff.track("u" + i, "buy", 1.0);
            }
        }
    }

    /** Everything a host can read about the engine's state. */
    static Map<String, String> observe(FeatureFlags ff) {
        Map<String, String> seen = new TreeMap<>();
        seen.put("results", ff.experimentResultsJson("btn"));
        RolloutStatus s = ff.rolloutStatus("router");
        seen.put("rollout", s.state() + " " + s.stage() + " " + s.percentage() + " " + s.stageStartedAtMs() + " "
                + s.nextStageAtMs() + " " + s.held() + " " + s.hasHealth() + " " + s.lastErrorRate() + " " + s.lastSamples());
        for (String flag : new String[] {"router", "geo", "layout"}) {
            seen.put("history/" + flag, ff.historyJson(flag));
        }
        for (int i = 0; i < 100; i++) {
            try (EvaluationContext ctx = EvaluationContext.of("u" + i).set("country", i % 2 == 0 ? "US" : "DE")) {
                for (String flag : new String[] {"on", "geo", "layout", "router"}) {
                    Evaluation ev = ff.evaluate(flag, ctx);
                    seen.put(flag + "/" + i, ev.variant().orElse("-") + " " + ev.reason() + " " + ev.ruleId().orElse("-"));
                }
            }
        }
        return seen;
    }

    @Test
    void aRestartedEngineServesAndReportsWhatWasCommitted(@TempDir Path dir) {
        Map<String, String> before;
        try (FeatureFlags ff = open(dir)) {
            ff.loadJson(FeatureFlagsTest.CONFIG);
            ff.setTime(NOW);
            traffic(ff, 0, 1000);
            ff.setOverride("geo", "on");
            ff.declareWinner("btn", "blue");
            ff.reportHealth("router", 0.5, 10.0, 100);
            assertEquals(RolloutStatus.State.ROLLED_BACK, ff.rolloutStatus("router").state());
            ff.checkpoint();
            before = observe(ff);
        }
        // No load: the stored config serves, with its override, winner and rollback.
        try (FeatureFlags ff = open(dir)) {
            ff.setTime(NOW);
            assertEquals(before, observe(ff));
            FeatureFlagsIOException inUse = assertThrows(FeatureFlagsIOException.class, () -> open(dir));
            assertTrue(inUse.getMessage().contains("in use by pid"), inUse.getMessage());
        }
    }

    @Test
    void theCheckpointerWritesOnItsIntervalAndOnClose(@TempDir Path dir) throws InterruptedException {
        Map<String, String> before;
        try (FeatureFlags ff = open(dir)) {
            ff.loadJson(FeatureFlagsTest.CONFIG);
            ff.setTime(NOW);
            try (Checkpointer ticking = ff.startCheckpointing(Duration.ofMillis(5))) {
                traffic(ff, 0, 300);
                Thread.sleep(50);
                assertNull(ticking.lastError());
            }
            // Restoring runs on the system clock, which would move a running rollout on.
            ff.rollbackRollout("router");
            ff.startCheckpointing(Duration.ofHours(1));
            traffic(ff, 300, 200); // only the checkpoint on close writes these
            before = observe(ff);
        }
        try (FeatureFlags ff = open(dir)) {
            ff.setTime(NOW);
            Map<String, String> after = observe(ff);
            assertEquals(before, after);
            assertTrue(after.get("results").contains("\"exposures\":500"), after.get("results"));
        }
        try (FeatureFlags memory = FeatureFlags.create()) {
            memory.checkpoint(); // nothing to write, no error
            assertThrows(IllegalArgumentException.class, () -> memory.startCheckpointing(Duration.ZERO));
        }
    }
}
