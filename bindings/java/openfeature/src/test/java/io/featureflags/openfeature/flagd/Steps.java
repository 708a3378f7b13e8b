package io.featureflags.openfeature.flagd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.FlagEvaluationDetails;
import dev.openfeature.sdk.ImmutableMetadata;
import dev.openfeature.sdk.MutableContext;
import dev.openfeature.sdk.MutableStructure;
import dev.openfeature.sdk.Structure;
import dev.openfeature.sdk.Value;
import io.cucumber.datatable.DataTable;
import io.cucumber.java.Before;
import io.cucumber.java.Scenario;
import io.cucumber.java.en.Given;
import io.cucumber.java.en.Then;
import io.cucumber.java.en.When;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.opentest4j.TestAbortedException;

/** The testkit's steps; Cucumber makes one instance per row. */
public class Steps {
    /** Tags whose rows are excluded (skipped), and why. */
    static final Map<String, String> EXCLUDED = Map.of(
            "@fractional-v1", "flagd's legacy bucketing, contradicted by the current algorithm");

    private final Client client = Testkit.client();
    private String type;
    private String key;
    private String fallback;
    private final MutableContext context = new MutableContext();
    private FlagEvaluationDetails<?> details;

    @Before
    public void exclude(Scenario scenario) {
        for (String tag : scenario.getSourceTagNames()) {
            if (EXCLUDED.containsKey(tag)) {
                throw new TestAbortedException("excluded, tag " + tag + ": " + EXCLUDED.get(tag));
            }
        }
    }

    @Given("^an evaluator$")
    public void anEvaluator() {
        // The provider is bound once for the run (Testkit).
    }

    @Given("^a (Boolean|String|Integer|Float|Object)-flag with key \"([^\"]*)\" and a (?:fallback|default) value \"(.*)\"$")
    public void aFlag(String type, String key, String fallback) {
        this.type = type;
        this.key = key;
        this.fallback = fallback;
    }

    @Given("^a context containing a targeting key with value \"(.*)\"$")
    public void targetingKey(String value) {
        context.setTargetingKey(value);
    }

    @Given("^a context containing a nested property with outer key \"([^\"]*)\" and inner key \"([^\"]*)\", with value \"(.*)\"$")
    public void nested(String outer, String inner, String value) {
        Value existing = context.getValue(outer);
        MutableStructure structure = new MutableStructure();
        if (existing != null && existing.isStructure()) {
            existing.asStructure().asMap().forEach(structure::add);
        }
        structure.add(inner, value);
        context.add(outer, (Structure) structure);
    }

    @Given("^a context containing a key \"([^\"]*)\", with type \"([^\"]*)\" and with value \"(.*)\"$")
    public void attribute(String name, String type, String value) {
        Object v = literal(type, value);
        if (v instanceof Boolean) {
            context.add(name, (Boolean) v);
        } else if (v instanceof String) {
            context.add(name, (String) v);
        } else if (v instanceof Integer) {
            context.add(name, (Integer) v);
        } else if (v instanceof Double) {
            context.add(name, (Double) v);
        } else {
            Value json = toValue(v);
            if (json.isList()) {
                context.add(name, json.asList());
            } else {
                context.add(name, json.asStructure());
            }
        }
    }

    @When("^the flag was evaluated with details$")
    public void evaluate() {
        Object def = literal(type, fallback);
        switch (type) {
            case "Boolean": details = client.getBooleanDetails(key, (Boolean) def, context); break;
            case "String": details = client.getStringDetails(key, (String) def, context); break;
            case "Integer": details = client.getIntegerDetails(key, (Integer) def, context); break;
            case "Float": details = client.getDoubleDetails(key, (Double) def, context); break;
            default: details = client.getObjectDetails(key, toValue((JsonElement) def), context); break;
        }
    }

    @Then("^the resolved details value should be \"(.*)\"$")
    public void value(String expected) {
        Object want = literal(type, expected);
        Object got = details().getValue();
        if (type.equals("Object")) {
            assertEquals(want, toJson((Value) got), this::describe);
        } else {
            assertEquals(want, got, this::describe);
        }
    }

    @Then("^the reason should be \"([^\"]*)\"$")
    public void reason(String expected) {
        assertEquals(expected, details().getReason(), this::describe);
    }

    @Then("^the variant should be \"([^\"]*)\"$")
    public void variant(String expected) {
        assertEquals(expected, details().getVariant(), this::describe);
    }

    @Then("^the error-code should be \"([^\"]*)\"$")
    public void errorCode(String expected) {
        String got = details().getErrorCode() == null ? "" : details().getErrorCode().name();
        assertEquals(expected, got, this::describe);
    }

    @Then("^the resolved metadata is empty$")
    public void metadataEmpty() {
        ImmutableMetadata metadata = details().getFlagMetadata();
        assertTrue(metadata == null || metadata.isEmpty(), this::describe);
    }

    @Then("^the resolved metadata should contain$")
    public void metadataContains(DataTable table) {
        ImmutableMetadata metadata = details().getFlagMetadata();
        assertNotNull(metadata, this::describe);
        for (Map<String, String> row : table.asMaps()) {
            String name = row.get("key");
            Object want = literal(row.get("metadata_type"), row.get("value"));
            // The typed getters, as an application reads metadata.
            Object got;
            switch (row.get("metadata_type")) {
                case "Boolean": got = metadata.getBoolean(name); break;
                case "String": got = metadata.getString(name); break;
                case "Integer": got = metadata.getInteger(name); break;
                case "Float": got = metadata.getDouble(name); break;
                default: throw new IllegalArgumentException(row.toString());
            }
            assertEquals(want, got, () -> name + " in " + metadata.asUnmodifiableMap());
        }
    }

    private FlagEvaluationDetails<?> details() {
        assertNotNull(details, "the flag was not evaluated");
        return details;
    }

    private String describe() {
        return key + " (" + type + ") for " + context.asObjectMap() + ": value " + details.getValue() + ", variant "
                + details.getVariant() + ", reason " + details.getReason() + ", error " + details.getErrorCode()
                + " " + details.getErrorMessage();
    }

    /** A step's literal as a value of the OpenFeature type named {@code type}; an Object as JSON (quotes written \"). */
    private static Object literal(String type, String text) {
        switch (type) {
            case "Boolean": return Boolean.parseBoolean(text);
            case "String": return text;
            case "Integer": return Integer.parseInt(text);
            case "Float": return Double.parseDouble(text);
            case "Object": return JsonParser.parseString(text.replace("\\\"", "\""));
            default: throw new IllegalArgumentException("unknown type " + type);
        }
    }

    private static Value toValue(Object v) {
        if (v instanceof Boolean) return new Value((Boolean) v);
        if (v instanceof String) return new Value((String) v);
        if (v instanceof Integer) return new Value((Integer) v);
        if (v instanceof Double) return new Value((Double) v);
        JsonElement json = (JsonElement) v;
        if (json.isJsonNull()) return new Value();
        if (json.isJsonObject()) {
            MutableStructure structure = new MutableStructure();
            json.getAsJsonObject().entrySet().forEach(e -> structure.add(e.getKey(), toValue(e.getValue())));
            return new Value((Structure) structure);
        }
        if (json.isJsonArray()) {
            List<Value> values = new ArrayList<>();
            json.getAsJsonArray().forEach(e -> values.add(toValue(e)));
            return new Value(values);
        }
        JsonPrimitive p = json.getAsJsonPrimitive();
        return p.isBoolean() ? new Value(p.getAsBoolean()) : p.isNumber() ? new Value(p.getAsDouble()) : new Value(p.getAsString());
    }

    private static JsonElement toJson(Value v) {
        if (v == null || v.isNull()) return JsonNull.INSTANCE;
        if (v.isBoolean()) return new JsonPrimitive(v.asBoolean());
        if (v.isString()) return new JsonPrimitive(v.asString());
        if (v.isNumber()) return new JsonPrimitive(v.asDouble());
        if (v.isList()) {
            JsonArray array = new JsonArray();
            v.asList().forEach(e -> array.add(toJson(e)));
            return array;
        }
        JsonObject object = new JsonObject();
        v.asStructure().asUnmodifiableMap().forEach((k, e) -> object.add(k, toJson(e)));
        return object;
    }
}
