package io.featureflags;

/** A config was rejected; the previous one keeps serving. The message lists every problem with its JSON path. */
public final class InvalidConfigException extends FeatureFlagsException {
    private static final long serialVersionUID = 1L;

    /**
     * Called by the JNI glue.
     *
     * @param message the engine's message
     */
    public InvalidConfigException(String message) {
        super(2, message);
    }
}
