package io.featureflags;

/** A file could not be read. */
public final class FeatureFlagsIOException extends FeatureFlagsException {
    private static final long serialVersionUID = 1L;

    /**
     * Called by the JNI glue.
     *
     * @param message the engine's message
     */
    public FeatureFlagsIOException(String message) {
        super(5, message);
    }
}
