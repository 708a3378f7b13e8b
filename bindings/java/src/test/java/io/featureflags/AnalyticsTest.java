package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Planning calculators, time series, funnels, revision and the event controls. */
class AnalyticsTest {
    static final String CONFIG = "{\"schema_version\": 1, \"revision\": \"r7\", \"flags\": {\"on\": {\"type\": \"boolean\"}},"
            + " \"experiments\": {\"btn\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"blue\": 50},"
            + "   \"metrics\": {\"buy\": \"conversion\", \"pay\": \"revenue\"}}},"
            + " \"funnels\": {\"buy-then-pay\": {\"steps\": [\"buy\", \"pay\"], \"experiment\": \"btn\"}}}";

    @Test
    void planningCalculators() {
        double n = FeatureFlags.sampleSize(0.1, 0.1, 0.05, 0.8);
        assertEquals(0.8, FeatureFlags.power(0.1, 0.1, 0.05, n), 0.01);
        assertEquals(0.1, FeatureFlags.minimumDetectableEffect(0.1, 0.05, 0.8, n), 0.01);
        assertEquals(20.0, FeatureFlags.testDurationDays(1000, 2, 100, 1));
        assertEquals(20.0, FeatureFlags.lifetimeValue(10, 0.5, 0, 0), 1e-9);
        // The library's message, with the argument it names, reaches the exception.
        InvalidArgumentException e =
                assertThrows(InvalidArgumentException.class, () -> FeatureFlags.power(-1, 0.1, 0.05, n));
        assertTrue(e.getMessage().contains("baseline"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> FeatureFlags.sampleSize(0.1, 0.1, 0.05, 2));
        assertTrue(e.getMessage().contains("power"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> FeatureFlags.minimumDetectableEffect(-1, 0.05, 0.8, n));
        assertThrows(InvalidArgumentException.class, () -> FeatureFlags.testDurationDays(1000, 0, 100, 1));
        assertThrows(InvalidArgumentException.class, () -> FeatureFlags.lifetimeValue(10, 1.5, 0, 0));
    }

    @Test
    void timeSeriesFunnelRevisionAndEvents() {
        try (FeatureFlags ff = FeatureFlags.create("{\"event_capacity\": 1}")) {
            assertEquals("", ff.revision());
            ff.loadJson(CONFIG);
            assertEquals("r7", ff.revision());
            ff.setTime(1795000000000L);
            for (String user : new String[] {"a", "b", "c", "d"}) {
                try (EvaluationContext ctx = EvaluationContext.of(user)) {
                    ff.assign("btn", ctx);
                }
                ff.track(user, "buy", 1);
                ff.track(user, "pay", 2.5);
            }
            String aggregates = ff.experimentAggregatesJson("btn");
            assertTrue(aggregates.contains("\"experiment\":\"btn\"") && aggregates.contains("\"user_sample\":["), aggregates);
            assertThrows(NotFoundException.class, () -> ff.experimentAggregatesJson("nope"));
            String series = ff.experimentTimeSeriesJson("btn");
            assertTrue(series.contains("\"intervals\":[{"), series);
            String funnel = ff.funnelReportJson("buy-then-pay");
            assertTrue(funnel.contains("\"step\":\"pay\",\"users\":4"), funnel);
            assertThrows(NotFoundException.class, () -> ff.funnelReportJson("nope"));
            assertThrows(NotFoundException.class, () -> ff.experimentTimeSeriesJson("nope"));
            assertTrue(ff.eventsDropped() > 0, "a queue of one event dropped the rest");
            ff.drainEvents(0);
            ff.setEvaluationEvents(true);
            try (EvaluationContext ctx = EvaluationContext.of("a")) {
                ff.isEnabled("on", ctx, false);
                assertEquals(1, ff.drainEvents(0).size());
                ff.setEvaluationEvents(false);
                ff.isEnabled("on", ctx, false);
                assertEquals(0, ff.drainEvents(0).size());
            }
        }
    }
}
