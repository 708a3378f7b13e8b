package io.featureflags;

/** A failed call: the engine's {@code ff_status} and message. */
public class FeatureFlagsException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    /**
     * Creates an exception.
     *
     * @param status the {@code ff_status} number
     * @param message the engine's message
     */
    protected FeatureFlagsException(int status, String message) {
        super(message);
        this.status = status;
    }

    /**
     * The {@code ff_status} number (1 invalid argument, 2 invalid config, 3 not found,
     * 4 invalid state, 5 I/O, 6 internal).
     *
     * @return the status
     */
    public int status() {
        return status;
    }

    /**
     * The status's name without its prefix, from the library ({@code "INVALID_CONFIG"}).
     *
     * @return the name ({@code "UNKNOWN"} for a number that is no status)
     */
    public String statusName() {
        return Native.statusName(status);
    }
}
