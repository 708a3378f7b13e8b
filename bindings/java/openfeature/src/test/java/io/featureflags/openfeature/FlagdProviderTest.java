package io.featureflags.openfeature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.ErrorCode;
import dev.openfeature.sdk.EventDetails;
import dev.openfeature.sdk.FlagEvaluationDetails;
import dev.openfeature.sdk.ImmutableContext;
import dev.openfeature.sdk.ImmutableStructure;
import dev.openfeature.sdk.OpenFeatureAPI;
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

/** A flagd provider through an OpenFeature client. */
class FlagdProviderTest {
    static final String DOC = "{\"flags\": {"
            + " \"tiers\": {\"state\": \"ENABLED\", \"variants\": {\"gold\": \"gold\", \"basic\": \"basic\"}, \"defaultVariant\": \"basic\","
            + "   \"metadata\": {\"owner\": \"pricing\", \"version\": 3, \"weight\": 0.5},"
            + "   \"targeting\": {\"if\": [{\"in\": [\"beta\", {\"var\": \"user.groups\"}]}, \"gold\", null]}},"
            + " \"broken\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"on\", \"targeting\": {\"nope\": []}},"
            + " \"off\": {\"state\": \"DISABLED\", \"variants\": {\"on\": true, \"off\": false}, \"defaultVariant\": \"on\"}},"
            + " \"metadata\": {\"flagSetId\": \"shop\"}}";

    FeatureFlags engine;
    FeatureFlagsProvider provider;
    OpenFeatureAPI api;
    Client client;
    final BlockingQueue<EventDetails> changes = new LinkedBlockingQueue<>();
    final BlockingQueue<EventDetails> errors = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() {
        engine = FeatureFlags.create();
        provider = FeatureFlagsProvider.flagd(engine);
        provider.loadFlagdJson(DOC);
        api = OpenFeatureAPI.createIsolated();
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
    void evaluatesWithStructuredContext() {
        ImmutableContext beta = new ImmutableContext("u1", Map.of("user",
                new Value(new ImmutableStructure(Map.of("groups", new Value(List.of(new Value("alpha"), new Value("beta"))))))));
        FlagEvaluationDetails<String> d = client.getStringDetails("tiers", "none", beta);
        assertEquals("gold", d.getValue());
        assertEquals("gold", d.getVariant());
        assertEquals("TARGETING_MATCH", d.getReason());
        assertEquals("pricing", d.getFlagMetadata().getString("owner"));
        assertEquals(3, d.getFlagMetadata().getInteger("version"));
        assertEquals(0.5, d.getFlagMetadata().getDouble("weight"));
        assertEquals("shop", d.getFlagMetadata().getString("flagSetId"));
        d = client.getStringDetails("tiers", "none", new ImmutableContext("u2"));
        assertEquals("basic", d.getValue());
        assertEquals("DEFAULT", d.getReason());
    }

    @Test
    void errorsAndDisabled() {
        ImmutableContext u = new ImmutableContext("u");
        FlagEvaluationDetails<Boolean> b = client.getBooleanDetails("broken", false, u);
        assertEquals(ErrorCode.PARSE_ERROR, b.getErrorCode());
        assertEquals("ERROR", b.getReason());
        assertFalse(b.getValue());
        b = client.getBooleanDetails("off", false, u);
        assertEquals("DISABLED", b.getReason());
        assertFalse(b.getValue());
        FlagEvaluationDetails<Integer> i = client.getIntegerDetails("tiers", 7, u);
        assertEquals(ErrorCode.TYPE_MISMATCH, i.getErrorCode());
        assertEquals(7, i.getValue());
        FlagEvaluationDetails<String> s = client.getStringDetails("nope", "x", u);
        assertEquals(ErrorCode.FLAG_NOT_FOUND, s.getErrorCode());
        assertEquals("x", s.getValue());
    }

    @Test
    void reloadEvents() throws InterruptedException {
        changes.clear();
        provider.loadFlagdJson("{\"flags\": {\"off\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
                + " \"defaultVariant\": \"on\"}}, \"metadata\": {\"flagSetId\": \"shop\"}}");
        EventDetails changed = changes.poll(5, TimeUnit.SECONDS);
        assertNotNull(changed);
        // off changed, broken and tiers removed.
        assertEquals(List.of("broken", "off", "tiers"), changed.getFlagsChanged());
        assertTrue(client.getBooleanValue("off", false, new ImmutableContext("u")));
        assertThrows(InvalidConfigException.class, () -> provider.loadFlagdJson("{\"flags\": 1}"));
        assertNotNull(errors.poll(5, TimeUnit.SECONDS));
        assertTrue(client.getBooleanValue("off", false, new ImmutableContext("u")), "the previous flags keep serving");
    }
}
