package io.featureflags.openfeature;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSyntaxException;
import dev.openfeature.sdk.ErrorCode;
import dev.openfeature.sdk.EvaluationContext;
import dev.openfeature.sdk.EventProvider;
import dev.openfeature.sdk.ImmutableMetadata;
import dev.openfeature.sdk.Metadata;
import dev.openfeature.sdk.MutableStructure;
import dev.openfeature.sdk.ProviderEvaluation;
import dev.openfeature.sdk.ProviderEventDetails;
import dev.openfeature.sdk.Structure;
import dev.openfeature.sdk.Value;
import io.featureflags.Evaluation;
import io.featureflags.Event;
import io.featureflags.FeatureFlags;
import io.featureflags.FlagdResult;
import io.featureflags.Reason;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * An OpenFeature provider over a featureflags engine that the application creates, loads
 * and closes. Evaluations never throw: problems come back as the caller's default with an
 * error code. The evaluation context maps to the engine's: the targeting key is the user
 * id, strings, numbers and booleans are attributes, nested structures are flattened to
 * dotted names ({@code {"account": {"tier": "gold"}}} is {@code account.tier}), instants
 * become ISO-8601 strings; lists have no counterpart and are left out.
 *
 * <p>Events: {@code PROVIDER_READY} after {@link #initialize}; on every config the engine
 * installs, {@code PROVIDER_CONFIGURATION_CHANGED}, naming the flags that were added,
 * removed or changed when the config came through {@link #loadJson}; on a rejected config,
 * {@code PROVIDER_ERROR} with the engine's problems (the previous config keeps serving,
 * and the next accepted one emits {@code PROVIDER_READY} again).
 *
 * <p>{@link #flagd} makes a provider over the engine's flagd flags instead (docs/flagd.md).
 */
public final class FeatureFlagsProvider extends EventProvider {
    private static final Metadata METADATA = () -> "featureflags";

    private final FeatureFlags engine;
    private final Consumer<Event> onEngineEvent = this::onEngineEvent;
    /** Each thread reuses one native context: reset per evaluation, it allocates nothing. */
    private final ThreadLocal<io.featureflags.EvaluationContext> contexts =
            ThreadLocal.withInitial(() -> io.featureflags.EvaluationContext.of(""));
    /**
     * The flags {@link #loadJson} is installing on this thread, read by the engine's
     * {@code config_loaded} event, which is delivered on the loading thread.
     */
    private final ThreadLocal<List<String>> changing = new ThreadLocal<>();
    /** Flag definitions of the last config loaded through this provider; guarded by this. */
    private Map<String, JsonElement> flags = Map.of();
    private volatile boolean rejected;
    /** Evaluations go to the engine's flagd flags ({@link #flagd}), not its native ones. */
    private final boolean flagd;
    /** $evaluators and flag-set metadata of the last flagd document; guarded by this. */
    private JsonElement flagdShared = JsonNull.INSTANCE;

    /**
     * A provider over {@code engine}; the application keeps owning it (loads, closes).
     *
     * @param engine the engine
     */
    public FeatureFlagsProvider(FeatureFlags engine) {
        this(engine, false);
    }

    private FeatureFlagsProvider(FeatureFlags engine, boolean flagd) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.flagd = flagd;
    }

    /**
     * A provider that serves the engine's flagd flags: flag definitions in the format of
     * flagd, the OpenFeature flag daemon (docs/flagd.md), loaded with {@link #loadFlagdJson}
     * or {@link #loadFlagdFile}. Evaluations go through {@link FeatureFlags#evaluateFlagd}
     * and return flagd's reasons ({@code STATIC}, {@code TARGETING_MATCH}, {@code DEFAULT},
     * {@code DISABLED}, {@code ERROR}), error codes ({@code FLAG_NOT_FOUND},
     * {@code PARSE_ERROR}, {@code TYPE_MISMATCH}, {@code GENERAL}), the variant and the
     * flag's metadata (over the flag set's). The context keeps its structure: nested
     * structures and lists are JSON attributes ({@link io.featureflags.EvaluationContext#setJson})
     * that targeting reads with dotted paths ({@code user.name}).
     *
     * @param engine the engine; the application keeps owning it
     * @return the provider
     */
    public static FeatureFlagsProvider flagd(FeatureFlags engine) {
        return new FeatureFlagsProvider(engine, true);
    }

    /**
     * Installs a flagd document in the engine ({@link FeatureFlags#loadFlagdJson}): a single
     * invalid flag does not fail the load, it evaluates to {@code PARSE_ERROR}, as in flagd.
     * Emits {@code PROVIDER_CONFIGURATION_CHANGED} naming the flags added, removed or
     * changed (all of them when {@code $evaluators} or the flag-set metadata changed); a
     * refused document emits {@code PROVIDER_ERROR} and the previous flags keep serving.
     *
     * @param document the flagd document
     * @throws io.featureflags.InvalidConfigException when it is not a flagd document
     */
    public void loadFlagdJson(String document) {
        synchronized (this) {
            try {
                engine.loadFlagdJson(document.getBytes(StandardCharsets.UTF_8));
            } catch (RuntimeException e) {
                rejected = true;
                emitProviderError(ProviderEventDetails.builder().errorCode(ErrorCode.GENERAL)
                        .message("flagd document rejected: " + e.getMessage()).build());
                throw e;
            }
            Map<String, JsonElement> next = flagDefinitions(document);
            JsonElement shared = JsonNull.INSTANCE;
            JsonElement root = JsonParser.parseString(document); // the engine accepted it: JSON
            if (root.isJsonObject()) {
                JsonArray both = new JsonArray();
                both.add(root.getAsJsonObject().get("$evaluators"));
                both.add(root.getAsJsonObject().get("metadata"));
                shared = both;
            }
            List<String> changed;
            if (shared.equals(flagdShared)) {
                changed = changedKeys(flags, next);
            } else {
                TreeSet<String> all = new TreeSet<>(flags.keySet());
                all.addAll(next.keySet());
                changed = new ArrayList<>(all);
            }
            flags = next;
            flagdShared = shared;
            emitProviderConfigurationChanged(ProviderEventDetails.builder()
                    .flagsChanged(changed).message("flagd flags loaded").build());
            if (rejected) {
                rejected = false;
                emitProviderReady(ProviderEventDetails.builder().message("a flagd document was accepted").build());
            }
        }
    }

    /**
     * Reads a flagd document and loads it as {@link #loadFlagdJson} does.
     *
     * @param path the file
     * @throws java.io.IOException when it cannot be read (a {@code PROVIDER_ERROR} is emitted)
     */
    public void loadFlagdFile(Path path) throws IOException {
        String document;
        try {
            document = Files.readString(path);
        } catch (IOException e) {
            emitProviderError(ProviderEventDetails.builder().errorCode(ErrorCode.GENERAL)
                    .message("flagd document unreadable: " + e.getMessage()).build());
            throw e;
        }
        loadFlagdJson(document);
    }

    @Override
    public Metadata getMetadata() {
        return METADATA;
    }

    /** Listens to the engine's events; the SDK emits {@code PROVIDER_READY} when this returns. */
    @Override
    public void initialize(EvaluationContext evaluationContext) {
        engine.addListener(onEngineEvent);
    }

    /** Stops listening to the engine; the engine stays open. */
    @Override
    public void shutdown() {
        engine.removeListener(onEngineEvent);
        super.shutdown();
    }

    /**
     * Installs a config, so that {@code PROVIDER_CONFIGURATION_CHANGED} names the flags
     * whose definitions it adds, removes or changes.
     *
     * @param config the config JSON
     * @throws io.featureflags.InvalidConfigException listing every problem (the previous
     *     config keeps serving)
     */
    public void loadJson(String config) {
        synchronized (this) {
            Map<String, JsonElement> next = flagDefinitions(config);
            changing.set(changedKeys(flags, next));
            try {
                engine.loadJson(config);
                flags = next;
            } finally {
                changing.remove();
            }
        }
    }

    private static Map<String, JsonElement> flagDefinitions(String config) {
        Map<String, JsonElement> definitions = new HashMap<>();
        try {
            JsonElement root = JsonParser.parseString(config);
            if (root.isJsonObject() && root.getAsJsonObject().get("flags") instanceof JsonObject) {
                for (Map.Entry<String, JsonElement> flag : root.getAsJsonObject().getAsJsonObject("flags").entrySet()) {
                    definitions.put(flag.getKey(), flag.getValue());
                }
            }
        } catch (JsonSyntaxException notJson) {
            // The engine rejects it with the problem's position.
        }
        return definitions;
    }

    private static List<String> changedKeys(Map<String, JsonElement> before, Map<String, JsonElement> after) {
        TreeSet<String> keys = new TreeSet<>(before.keySet());
        keys.addAll(after.keySet());
        keys.removeIf(k -> Objects.equals(before.get(k), after.get(k)));
        return new ArrayList<>(keys);
    }

    private void onEngineEvent(Event event) {
        String type = event.type();
        if (type.equals("config_loaded")) {
            List<String> changed = changing.get();
            emitProviderConfigurationChanged(ProviderEventDetails.builder()
                    .flagsChanged(changed != null ? changed : List.of())
                    .message("config loaded" + (event.fields().get("revision") != null ? ", revision " + event.fields().get("revision") : ""))
                    .build());
            if (rejected) {
                rejected = false;
                emitProviderReady(ProviderEventDetails.builder().message("a config was accepted").build());
            }
        } else if (type.equals("config_rejected")) {
            rejected = true;
            emitProviderError(ProviderEventDetails.builder().errorCode(ErrorCode.GENERAL)
                    .message("config rejected: " + event.fields().get("problems")).build());
        }
    }

    @Override
    public ProviderEvaluation<Boolean> getBooleanEvaluation(String key, Boolean defaultValue, EvaluationContext ctx) {
        Function<JsonElement, Boolean> convert = v -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isBoolean() ? v.getAsBoolean() : null;
        return flagd ? evaluateFlagd(key, defaultValue, ctx, FlagdResult.Type.BOOLEAN, convert) : evaluate(key, defaultValue, ctx, convert);
    }

    @Override
    public ProviderEvaluation<String> getStringEvaluation(String key, String defaultValue, EvaluationContext ctx) {
        Function<JsonElement, String> convert = v -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isString() ? v.getAsString() : null;
        return flagd ? evaluateFlagd(key, defaultValue, ctx, FlagdResult.Type.STRING, convert) : evaluate(key, defaultValue, ctx, convert);
    }

    @Override
    public ProviderEvaluation<Integer> getIntegerEvaluation(String key, Integer defaultValue, EvaluationContext ctx) {
        Function<JsonElement, Integer> convert = v -> {
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) return null;
            double d = v.getAsDouble();
            return d == Math.rint(d) && d >= Integer.MIN_VALUE && d <= Integer.MAX_VALUE ? (int) d : null;
        };
        return flagd ? evaluateFlagd(key, defaultValue, ctx, FlagdResult.Type.INTEGER, convert) : evaluate(key, defaultValue, ctx, convert);
    }

    @Override
    public ProviderEvaluation<Double> getDoubleEvaluation(String key, Double defaultValue, EvaluationContext ctx) {
        Function<JsonElement, Double> convert = v -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber() ? v.getAsDouble() : null;
        return flagd ? evaluateFlagd(key, defaultValue, ctx, FlagdResult.Type.FLOAT, convert) : evaluate(key, defaultValue, ctx, convert);
    }

    @Override
    public ProviderEvaluation<Value> getObjectEvaluation(String key, Value defaultValue, EvaluationContext ctx) {
        Function<JsonElement, Value> convert = FeatureFlagsProvider::toValue;
        return flagd ? evaluateFlagd(key, defaultValue, ctx, FlagdResult.Type.OBJECT, convert) : evaluate(key, defaultValue, ctx, convert);
    }

    /**
     * One evaluation of {@code key}, its JSON value converted by {@code convert} (null when
     * the value is not of the requested type).
     */
    private <T> ProviderEvaluation<T> evaluate(String key, T defaultValue, EvaluationContext ctx, Function<JsonElement, T> convert) {
        Evaluation ev = engine.evaluate(key, nativeContext(ctx));
        ImmutableMetadata.ImmutableMetadataBuilder metadata = ImmutableMetadata.builder().addString("reason", ev.reason().name());
        ev.ruleId().ifPresent(id -> metadata.addString("ruleId", id));
        ev.ruleIndex().ifPresent(i -> metadata.addInteger("ruleIndex", i));
        ProviderEvaluation.ProviderEvaluationBuilder<T, ?, ?> result = ProviderEvaluation.<T>builder()
                .value(defaultValue).flagMetadata(metadata.build());
        switch (ev.reason()) {
            case FLAG_NOT_FOUND:
                return result.reason(dev.openfeature.sdk.Reason.ERROR.name()).errorCode(ErrorCode.FLAG_NOT_FOUND)
                        .errorMessage("no flag " + key).build();
            case TYPE_MISMATCH:
            case ERROR:
                return result.reason(dev.openfeature.sdk.Reason.ERROR.name()).errorCode(ErrorCode.GENERAL)
                        .errorMessage("the engine could not evaluate " + key + " (" + ev.reason() + ")").build();
            default:
                break;
        }
        result.reason(reason(ev.reason()));
        if (ev.variant().isEmpty() || ev.valueJson().isEmpty()) {
            return result.build();
        }
        T value = convert.apply(JsonParser.parseString(ev.valueJson().get()));
        if (value == null) {
            return result.reason(dev.openfeature.sdk.Reason.ERROR.name()).errorCode(ErrorCode.TYPE_MISMATCH)
                    .errorMessage(key + " serves " + ev.valueJson().get()).build();
        }
        return result.value(value).variant(ev.variant().get()).build();
    }

    /**
     * One flagd evaluation of {@code key}: the engine checks the value's type, then
     * {@code convert} turns it into T (null: not representable, e.g. an integer beyond
     * {@code int}); no value means the caller's default.
     */
    private <T> ProviderEvaluation<T> evaluateFlagd(String key, T defaultValue, EvaluationContext ctx,
            FlagdResult.Type type, Function<JsonElement, T> convert) {
        FlagdResult r = engine.evaluateFlagd(key, nativeFlagdContext(ctx), type);
        ProviderEvaluation.ProviderEvaluationBuilder<T, ?, ?> result = ProviderEvaluation.<T>builder()
                .value(defaultValue).variant(r.variant()).reason(r.reason().name())
                .flagMetadata(flagdMetadata(r.metadataJson()));
        switch (r.errorCode()) {
            case NONE:
                break;
            case FLAG_NOT_FOUND:
                return result.errorCode(ErrorCode.FLAG_NOT_FOUND).errorMessage("no flag " + key).build();
            case PARSE_ERROR:
                return result.errorCode(ErrorCode.PARSE_ERROR).errorMessage(key + ": invalid flag definition").build();
            case TYPE_MISMATCH:
                return result.errorCode(ErrorCode.TYPE_MISMATCH).errorMessage(key + ": the value has another type").build();
            default:
                return result.errorCode(ErrorCode.GENERAL)
                        .errorMessage(key + ": targeting named no variant of the flag, or the engine is closed").build();
        }
        if (r.valueJson() == null) {
            return result.build();
        }
        T value = convert.apply(JsonParser.parseString(r.valueJson()));
        if (value == null) {
            return result.reason(dev.openfeature.sdk.Reason.ERROR.name()).errorCode(ErrorCode.TYPE_MISMATCH)
                    .errorMessage(key + " serves " + r.valueJson()).build();
        }
        return result.value(value).build();
    }

    /**
     * The engine's metadata object as OpenFeature metadata: whole numbers as Integer (Long
     * beyond int), other numbers as Double, so that getInteger and getDouble find them.
     */
    private static ImmutableMetadata flagdMetadata(String json) {
        ImmutableMetadata.ImmutableMetadataBuilder metadata = ImmutableMetadata.builder();
        JsonElement root = json == null ? JsonNull.INSTANCE : JsonParser.parseString(json);
        if (!root.isJsonObject()) {
            return metadata.build();
        }
        for (Map.Entry<String, JsonElement> entry : root.getAsJsonObject().entrySet()) {
            JsonElement v = entry.getValue();
            if (!v.isJsonPrimitive()) continue; // flagd's metadata values are scalars
            JsonPrimitive p = v.getAsJsonPrimitive();
            if (p.isBoolean()) {
                metadata.addBoolean(entry.getKey(), p.getAsBoolean());
            } else if (p.isString()) {
                metadata.addString(entry.getKey(), p.getAsString());
            } else {
                BigDecimal d = p.getAsBigDecimal();
                String text = p.getAsString();
                boolean whole = text.indexOf('.') < 0 && text.indexOf('e') < 0 && text.indexOf('E') < 0;
                if (whole && d.compareTo(BigDecimal.valueOf(Integer.MIN_VALUE)) >= 0 && d.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) <= 0) {
                    metadata.addInteger(entry.getKey(), d.intValueExact());
                } else if (whole && d.compareTo(BigDecimal.valueOf(Long.MIN_VALUE)) >= 0 && d.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) <= 0) {
                    metadata.addLong(entry.getKey(), d.longValueExact());
                } else {
                    metadata.addDouble(entry.getKey(), d.doubleValue());
                }
            }
        }
        return metadata.build();
    }

    /**
     * The engine context of a flagd evaluation: the targeting key is the user id; strings,
     * numbers, booleans and instants (ISO-8601) are attributes as for native flags;
     * structures, lists and nulls keep their structure as JSON attributes.
     */
    private io.featureflags.EvaluationContext nativeFlagdContext(EvaluationContext ctx) {
        io.featureflags.EvaluationContext c = contexts.get();
        String user = ctx == null ? null : ctx.getTargetingKey();
        c.reset(user == null ? "" : user);
        if (ctx == null) {
            return c;
        }
        for (Map.Entry<String, Value> attribute : ctx.asUnmodifiableMap().entrySet()) {
            String name = attribute.getKey();
            Value v = attribute.getValue();
            if (name.equals(EvaluationContext.TARGETING_KEY)) {
                continue;
            }
            if (v != null && v.isBoolean()) {
                c.set(name, v.asBoolean());
            } else if (v != null && v.isString()) {
                c.set(name, v.asString());
            } else if (v != null && v.isNumber() && Double.isFinite(v.asDouble())) {
                c.set(name, v.asDouble());
            } else if (v != null && v.isInstant()) {
                c.set(name, v.asInstant().toString());
            } else {
                c.setJson(name, toJson(v).toString());
            }
        }
        return c;
    }

    private static JsonElement toJson(Value v) {
        if (v == null || v.isNull()) return JsonNull.INSTANCE;
        if (v.isBoolean()) return new JsonPrimitive(v.asBoolean());
        if (v.isString()) return new JsonPrimitive(v.asString());
        if (v.isNumber()) {
            double d = v.asDouble();
            return Double.isFinite(d) ? new JsonPrimitive(d) : JsonNull.INSTANCE;
        }
        if (v.isInstant()) return new JsonPrimitive(v.asInstant().toString());
        if (v.isList()) {
            JsonArray array = new JsonArray();
            for (Value element : v.asList()) array.add(toJson(element));
            return array;
        }
        JsonObject object = new JsonObject();
        if (v.isStructure()) {
            for (Map.Entry<String, Value> field : v.asStructure().asUnmodifiableMap().entrySet()) {
                object.add(field.getKey(), toJson(field.getValue()));
            }
        }
        return object;
    }

    /** OpenFeature's reason where one fits, else the engine's name. */
    private static String reason(Reason reason) {
        switch (reason) {
            case DEFAULT: return dev.openfeature.sdk.Reason.DEFAULT.name();
            case RULE_MATCH: return dev.openfeature.sdk.Reason.TARGETING_MATCH.name();
            case SPLIT: return dev.openfeature.sdk.Reason.SPLIT.name();
            case DISABLED: return dev.openfeature.sdk.Reason.DISABLED.name();
            default: return reason.name();
        }
    }

    private io.featureflags.EvaluationContext nativeContext(EvaluationContext ctx) {
        io.featureflags.EvaluationContext c = contexts.get();
        String user = ctx == null ? null : ctx.getTargetingKey();
        c.reset(user == null ? "" : user);
        if (ctx != null) {
            setAttributes(c, "", ctx);
        }
        return c;
    }

    private static void setAttributes(io.featureflags.EvaluationContext c, String prefix, Structure attributes) {
        for (Map.Entry<String, Value> attribute : attributes.asUnmodifiableMap().entrySet()) {
            String name = prefix + attribute.getKey();
            Value v = attribute.getValue();
            if (v == null || v.isNull() || name.equals(EvaluationContext.TARGETING_KEY)) {
                continue;
            }
            if (v.isBoolean()) {
                c.set(name, v.asBoolean());
            } else if (v.isString()) {
                c.set(name, v.asString());
            } else if (v.isNumber()) {
                double d = v.asDouble();
                if (Double.isFinite(d)) c.set(name, d);
            } else if (v.isInstant()) {
                c.set(name, v.asInstant().toString());
            } else if (v.isStructure()) {
                setAttributes(c, name + ".", v.asStructure());
            }
        }
    }

    private static Value toValue(JsonElement json) {
        if (json.isJsonNull()) {
            return new Value();
        }
        if (json.isJsonObject()) {
            MutableStructure structure = new MutableStructure();
            for (Map.Entry<String, JsonElement> field : json.getAsJsonObject().entrySet()) {
                structure.add(field.getKey(), toValue(field.getValue()));
            }
            return new Value(structure);
        }
        if (json.isJsonArray()) {
            JsonArray array = json.getAsJsonArray();
            List<Value> values = new ArrayList<>(array.size());
            for (JsonElement element : array) values.add(toValue(element));
            return new Value(values);
        }
        JsonPrimitive p = json.getAsJsonPrimitive();
        if (p.isBoolean()) return new Value(p.getAsBoolean());
        if (p.isNumber()) return new Value(p.getAsDouble());
        return new Value(p.getAsString());
    }
}
