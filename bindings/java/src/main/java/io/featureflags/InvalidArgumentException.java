package io.featureflags;

/** An argument was invalid (NULL, invalid UTF-8, non-finite number, unknown variant). */
public final class InvalidArgumentException extends FeatureFlagsException {
    private static final long serialVersionUID = 1L;

    /**
     * Called by the JNI glue.
     *
     * @param message the engine's message
     */
    public InvalidArgumentException(String message) {
        super(1, message);
    }
}
