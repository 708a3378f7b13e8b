package io.featureflags;

import java.util.Optional;
import java.util.OptionalInt;

/** The immutable result of {@link FeatureFlags#evaluate}. */
public final class Evaluation {
    private final String variant;
    private final String valueJson;
    private final Reason reason;
    private final int ruleIndex;
    private final String ruleId;

    Evaluation(String variant, String valueJson, Reason reason, int ruleIndex, String ruleId) {
        this.variant = variant;
        this.valueJson = valueJson;
        this.reason = reason;
        this.ruleIndex = ruleIndex;
        this.ruleId = ruleId;
    }

    /**
     * The served variant's key.
     *
     * @return the variant, or empty when nothing is served
     */
    public Optional<String> variant() {
        return Optional.ofNullable(variant);
    }

    /**
     * The served variant's value as JSON.
     *
     * @return the JSON text, or empty when nothing is served
     */
    public Optional<String> valueJson() {
        return Optional.ofNullable(valueJson);
    }

    /**
     * Why the variant was served.
     *
     * @return the reason
     */
    public Reason reason() {
        return reason;
    }

    /**
     * The matched rule's index.
     *
     * @return the index, or empty when no rule matched
     */
    public OptionalInt ruleIndex() {
        return ruleIndex < 0 ? OptionalInt.empty() : OptionalInt.of(ruleIndex);
    }

    /**
     * The matched rule's id.
     *
     * @return the id, or empty when no rule matched
     */
    public Optional<String> ruleId() {
        return Optional.ofNullable(ruleId);
    }

    @Override
    public String toString() {
        return "Evaluation{variant=" + variant + ", reason=" + reason + ", ruleIndex=" + ruleIndex + ", ruleId=" + ruleId + "}";
    }
}
