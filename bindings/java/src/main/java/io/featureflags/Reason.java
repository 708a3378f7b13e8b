package io.featureflags;

/** Why an evaluation served what it served ({@code ff_reason}, same order). */
public enum Reason {
    /** No rule matched; the flag's default variant. */
    DEFAULT,
    /** A rule matched (also when it serves a split). */
    RULE_MATCH,
    /** No rule matched; the default split picked the variant. */
    SPLIT,
    /** The flag is disabled. */
    DISABLED,
    /** Outside the flag's schedule. */
    SCHEDULED_OFF,
    /** A prerequisite did not serve its variant. */
    PREREQUISITE_FAILED,
    /** A runtime override. */
    OVERRIDE,
    /** No such flag: the caller's default. */
    FLAG_NOT_FOUND,
    /** The call does not fit the flag's type. */
    TYPE_MISMATCH,
    /** Invalid arguments or a missing bucketing attribute. */
    ERROR;

    private static final Reason[] VALUES = values();

    static Reason of(long number) {
        return number >= 0 && number < VALUES.length ? VALUES[(int) number] : ERROR;
    }
}
