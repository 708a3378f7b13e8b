package io.featureflags;

/** The action does not apply in the current state (e.g. advancing a rolled-back rollout). */
public final class InvalidStateException extends FeatureFlagsException {
    private static final long serialVersionUID = 1L;

    /**
     * Called by the JNI glue.
     *
     * @param message the engine's message
     */
    public InvalidStateException(String message) {
        super(4, message);
    }
}
