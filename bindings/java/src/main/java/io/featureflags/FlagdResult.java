package io.featureflags;

import java.nio.charset.StandardCharsets;

/** One flagd evaluation ({@link FeatureFlags#evaluateFlagd}). */
public final class FlagdResult {
    /** Why the value was returned (OpenFeature's reasons, numbered as ff_flagd_reason). */
    public enum Reason {
        /** No targeting: the default variant. */
        STATIC,
        /** Targeting named a variant. */
        TARGETING_MATCH,
        /** Targeting returned null: the default variant, or yours without one. */
        DEFAULT,
        /** The flag is disabled: your default. */
        DISABLED,
        /** See the error code: your default. */
        ERROR
    }

    /** What went wrong when the reason is ERROR (numbered as ff_flagd_error_code). */
    public enum ErrorCode {
        /** No error. */
        NONE,
        /** No flag with that key. */
        FLAG_NOT_FOUND,
        /** The flag's definition or targeting could not be loaded. */
        PARSE_ERROR,
        /** The value is not of the type asked for. */
        TYPE_MISMATCH,
        /** Anything else (a variant the flag does not have, a closed engine). */
        GENERAL
    }

    /** The type a flag is asked for (numbered as ff_flagd_type). */
    public enum Type {
        /** No check. */
        ANY,
        /** A JSON boolean. */
        BOOLEAN,
        /** A JSON string. */
        STRING,
        /** A JSON number without a fraction. */
        INTEGER,
        /** Any JSON number. */
        FLOAT,
        /** A JSON object or array. */
        OBJECT
    }

    private final String variant;
    private final String valueJson;
    private final String metadataJson;
    private final Reason reason;
    private final ErrorCode errorCode;

    FlagdResult(byte[][] parts, int reason, int errorCode) {
        this.variant = text(parts[0]);
        this.valueJson = text(parts[1]);
        this.metadataJson = parts[2] == null ? "{}" : text(parts[2]);
        Reason[] reasons = Reason.values();
        this.reason = reason >= 0 && reason < reasons.length ? reasons[reason] : Reason.ERROR;
        ErrorCode[] codes = ErrorCode.values();
        this.errorCode = errorCode >= 0 && errorCode < codes.length ? codes[errorCode] : ErrorCode.GENERAL;
    }

    private static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /** @return the resolved variant, null with your default */
    public String variant() {
        return variant;
    }

    /** @return the resolved value as JSON, null meaning use your default */
    public String valueJson() {
        return valueJson;
    }

    /** @return the resolved value as a Java value (Map, List, Double, String, Boolean), null with your default */
    public Object value() {
        return valueJson == null ? null : Json.parse(valueJson);
    }

    /** @return the flag's metadata over the flag set's, as a JSON object */
    public String metadataJson() {
        return metadataJson;
    }

    /** @return why */
    public Reason reason() {
        return reason;
    }

    /** @return the error code, NONE unless the reason is ERROR */
    public ErrorCode errorCode() {
        return errorCode;
    }
}
