package io.featureflags;

/** No such flag, experiment or rollout. */
public final class NotFoundException extends FeatureFlagsException {
    private static final long serialVersionUID = 1L;

    /**
     * Called by the JNI glue.
     *
     * @param message the engine's message
     */
    public NotFoundException(String message) {
        super(3, message);
    }
}
