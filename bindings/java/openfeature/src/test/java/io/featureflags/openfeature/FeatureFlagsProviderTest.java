package io.featureflags.openfeature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.ErrorCode;
import dev.openfeature.sdk.EventDetails;
import dev.openfeature.sdk.FlagEvaluationDetails;
import dev.openfeature.sdk.ImmutableContext;
import dev.openfeature.sdk.ImmutableStructure;
import dev.openfeature.sdk.OpenFeatureAPI;
import dev.openfeature.sdk.ProviderState;
import dev.openfeature.sdk.Value;
import io.featureflags.FeatureFlags;
import io.featureflags.InvalidConfigException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The provider as applications use it: through an OpenFeature client. */
class FeatureFlagsProviderTest {
    static final String CONFIG = "{\"schema_version\": 1, \"revision\": \"r1\", \"flags\": {"
            + " \"on\": {\"type\": \"boolean\"},"
            + " \"geo\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"id\": \"na\", \"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\"]}, \"serve\": \"on\"}]},"
            + " \"theme\": {\"type\": \"multivariate\", \"variants\": {\"light\": \"#fff\", \"dark\": \"#000\"}, \"default\": \"dark\","
            + "   \"rules\": [{\"when\": {\"attr\": \"account.tier\", \"op\": \"equals\", \"value\": \"gold\"}, \"serve\": \"light\"}]},"
            + " \"limit\": {\"type\": \"multivariate\", \"variants\": {\"low\": 10, \"high\": 100}, \"default\": \"high\"},"
            + " \"rate\": {\"type\": \"multivariate\", \"variants\": {\"slow\": 0.25, \"fast\": 2}, \"default\": \"slow\"},"
            + " \"layout\": {\"type\": \"multivariate\", \"variants\": {\"classic\": 1, \"pro\": {\"levels\": 20, \"tags\": [\"a\", \"b\"]}}, \"default\": \"pro\"}}}";

    FeatureFlags engine;
    FeatureFlagsProvider provider;
    OpenFeatureAPI api;
    Client client;
    final BlockingQueue<EventDetails> changes = new LinkedBlockingQueue<>();
    final BlockingQueue<EventDetails> errors = new LinkedBlockingQueue<>();
    final BlockingQueue<EventDetails> ready = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() {
        engine = FeatureFlags.create();
        provider = new FeatureFlagsProvider(engine);
        provider.loadJson(CONFIG);
        api = OpenFeatureAPI.createIsolated();
        api.onProviderReady(ready::add);
        api.onProviderConfigurationChanged(changes::add);
        api.onProviderError(errors::add);
        api.setProviderAndWait(provider);
        client = api.getClient();
    }

    @AfterEach
    void stop() {
        api.shutdown();
        engine.close();
    }

    @Test
    void typedEvaluationsCarryVariantReasonAndRule() throws Exception {
        assertEquals("featureflags", api.getProviderMetadata().getName());
        assertEquals(ProviderState.READY, client.getProviderState());
        assertTrue(ready.poll(5, TimeUnit.SECONDS) != null, "PROVIDER_READY");

        ImmutableContext us = new ImmutableContext("user-1", Map.of("country", new Value("US")));
        FlagEvaluationDetails<Boolean> geo = client.getBooleanDetails("geo", false, us);
        assertEquals(true, geo.getValue());
        assertEquals("on", geo.getVariant());
        assertEquals("TARGETING_MATCH", geo.getReason());
        assertNull(geo.getErrorCode());
        assertEquals("na", geo.getFlagMetadata().getString("ruleId"));
        assertEquals(0, geo.getFlagMetadata().getInteger("ruleIndex"));
        assertEquals("RULE_MATCH", geo.getFlagMetadata().getString("reason"));
        assertEquals("DEFAULT", client.getBooleanDetails("geo", true, new ImmutableContext("user-1")).getReason());
        assertFalse(client.getBooleanValue("geo", true, new ImmutableContext("user-1")), "the flag's off, not the default");

        assertEquals("#000", client.getStringValue("theme", "none", us));
        assertEquals(100, client.getIntegerValue("limit", 0, us));
        assertEquals(0.25, client.getDoubleValue("rate", 0.0, us));
        Value layout = client.getObjectValue("layout", new Value(), us);
        assertEquals(20, layout.asStructure().getValue("levels").asInteger());
        assertEquals("b", layout.asStructure().getValue("tags").asList().get(1).asString());
    }

    @Test
    void nestedStructuresAreFlattenedToDottedNames() {
        ImmutableContext gold = new ImmutableContext("user-2",
                Map.of("account", new Value(new ImmutableStructure(Map.of("tier", new Value("gold"))))));
        FlagEvaluationDetails<String> theme = client.getStringDetails("theme", "none", gold);
        assertEquals("#fff", theme.getValue());
        assertEquals("light", theme.getVariant());
    }

    @Test
    void problemsGiveTheDefaultWithAnErrorCode() {
        FlagEvaluationDetails<Boolean> missing = client.getBooleanDetails("nope", true, new ImmutableContext("u"));
        assertEquals(true, missing.getValue());
        assertEquals(ErrorCode.FLAG_NOT_FOUND, missing.getErrorCode());
        assertEquals("ERROR", missing.getReason());

        FlagEvaluationDetails<Integer> mismatch = client.getIntegerDetails("theme", 7, new ImmutableContext("u"));
        assertEquals(7, mismatch.getValue());
        assertEquals(ErrorCode.TYPE_MISMATCH, mismatch.getErrorCode());
        assertEquals(-1, client.getIntegerValue("rate", -1, new ImmutableContext("u")), "0.25 is no integer");
        assertEquals(0.25, client.getDoubleValue("rate", 0.0), "no context: an empty user id");
    }

    @Test
    void reloadsNameTheChangedFlagsAndRejectedConfigsAreErrors() throws Exception {
        String next = CONFIG.replace("\"r1\"", "\"r2\"").replace("\"high\": 100", "\"high\": 101")
                .replace(" \"on\": {\"type\": \"boolean\"},", " \"on2\": {\"type\": \"boolean\"},");
        provider.loadJson(next);
        EventDetails changed = changes.poll(5, TimeUnit.SECONDS);
        assertEquals(List.of("limit", "on", "on2"), changed.getFlagsChanged(), "changed, removed, added");
        assertTrue(changed.getMessage().contains("revision r2"), changed.getMessage());

        assertThrows(InvalidConfigException.class, () -> provider.loadJson("{\"schema_version\": 1, \"flags\": {\"x\": {\"type\": \"bogus\"}}}"));
        EventDetails error = errors.poll(5, TimeUnit.SECONDS);
        assertTrue(error.getMessage().contains("flags.x"), error.getMessage());
        assertEquals(101, client.getIntegerValue("limit", 0, new ImmutableContext("u")), "the previous config keeps serving");

        ready.clear();
        engine.loadJson(CONFIG);
        assertTrue(changes.poll(5, TimeUnit.SECONDS).getFlagsChanged().isEmpty(), "a load past the provider names no flags");
        assertTrue(ready.poll(5, TimeUnit.SECONDS) != null, "ready again after an accepted config");
    }

    @Test
    void shutdownStopsListeningAndLeavesTheEngineOpen() {
        engine.drainEvents(0); // the config_loaded of start(), before the provider listened
        api.shutdown();
        engine.setOverride("limit", "low");
        assertEquals(1, engine.drainEvents(0).size(), "events queue again once the provider stopped listening");
    }
}
