package io.featureflags;

/** An internal error was caught at the C boundary; the engine remains usable. */
public final class InternalException extends FeatureFlagsException {
    private static final long serialVersionUID = 1L;

    /**
     * Called by the JNI glue.
     *
     * @param message the engine's message
     */
    public InternalException(String message) {
        super(6, message);
    }
}
