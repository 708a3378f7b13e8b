package io.featureflags;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;

/**
 * The user being evaluated: an id and typed attributes. Reusable with {@link #reset}: after
 * warm-up, rebuilding a context allocates nothing in the engine. Not thread-safe: use one
 * per thread (or confine it), and close it when done. Evaluating with a closed context
 * returns the caller's default (reason {@link Reason#ERROR}); its setters and
 * {@link #reset} throw {@link IllegalStateException}. A context garbage-collected without
 * {@link #close} is freed by a {@link Cleaner} (later than close would: close it).
 */
public final class EvaluationContext implements AutoCloseable {
    private long handle;
    private final Cleaner.Cleanable free;

    private EvaluationContext(long handle) {
        this.handle = handle;
        this.free = Native.CLEANER.register(this, new Free(handle));
    }

    /** Frees the native context once: on close, or after the context became unreachable. */
    private static final class Free implements Runnable {
        private final long handle;

        Free(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.contextFree(handle);
        }
    }

    /**
     * Creates a context for a user.
     *
     * @param userId the user id
     * @return a new context
     */
    public static EvaluationContext of(String userId) {
        return new EvaluationContext(Native.contextNew(utf8(userId)));
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    long handle() {
        if (handle == 0) {
            throw new IllegalStateException("featureflags: context is closed");
        }
        return handle;
    }

    /**
     * The handle for an evaluation, 0 when closed: evaluations never throw, so they answer
     * a closed context with the caller's default instead of checking through {@link #handle}.
     */
    long evaluationHandle() {
        return handle;
    }

    /**
     * Starts over for another user, keeping buffers.
     *
     * @param userId the new user id
     * @return this context
     */
    public EvaluationContext reset(String userId) {
        Native.contextReset(handle(), utf8(userId));
        return this;
    }

    /**
     * Sets a string attribute ({@code user_id} replaces the id).
     *
     * @param name the attribute
     * @param value its value
     * @return this context
     */
    public EvaluationContext set(String name, String value) {
        Native.setString(handle(), FeatureFlags.key(name), utf8(value));
        return this;
    }

    /**
     * Sets a number attribute.
     *
     * @param name the attribute
     * @param value a finite number
     * @return this context
     * @throws InvalidArgumentException for NaN or infinities
     */
    public EvaluationContext set(String name, double value) {
        Native.setNumber(handle(), FeatureFlags.key(name), value);
        return this;
    }

    /**
     * Sets a boolean attribute.
     *
     * @param name the attribute
     * @param value its value
     * @return this context
     */
    public EvaluationContext set(String name, boolean value) {
        Native.setBool(handle(), FeatureFlags.key(name), value);
        return this;
    }

    /**
     * Sets a structured attribute from JSON text (an object, array or null) that flagd
     * targeting reads with dotted paths ({@code user.name}); a JSON scalar is stored like
     * {@code set}.
     *
     * @param name the attribute
     * @param json its value as JSON
     * @return this context
     * @throws InvalidArgumentException for invalid JSON
     */
    public EvaluationContext setJson(String name, String json) {
        Native.setJson(handle(), FeatureFlags.key(name), utf8(json));
        return this;
    }

    /** Frees the context; idempotent. */
    @Override
    public void close() {
        handle = 0;
        free.clean();
    }
}
