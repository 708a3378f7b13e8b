package io.featureflags;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The results of {@link FeatureFlags#evaluateBatch}, kept where the library wrote them
 * (native memory) and read flag by flag on demand, so that a batch call allocates nothing
 * and does no per-flag work in Java. Make one per thread with {@link FlagBatch#newResults}
 * and reuse it: not thread-safe. The results stay readable until the next evaluation into
 * them; before the first, after a failed one, or once the engine is closed they read as
 * nothing served with {@link Reason#ERROR}.
 */
public final class BatchResults {
    private static final int STRIDE = FlagBatch.LAYOUT[1];
    private static final int REASON = FlagBatch.LAYOUT[2];
    private static final int RULE_INDEX = FlagBatch.LAYOUT[3];
    private static final int VARIANT_ID = FlagBatch.LAYOUT[4];
    private static final int RULE_ID_ID = FlagBatch.LAYOUT[5];

    private final int size;
    private final ByteBuffer out;
    final long address;
    /** The engine of the last evaluation (it resolves string ids), null when it failed. */
    private FeatureFlags engine;

    BatchResults(int size) {
        this.size = size;
        out = ByteBuffer.allocateDirect(Math.max(1, size * STRIDE)).order(ByteOrder.nativeOrder());
        address = Native.bufferAddress(out);
    }

    /**
     * The number of results.
     *
     * @return the size
     */
    public int size() {
        return size;
    }

    void evaluated(FeatureFlags engine) {
        this.engine = engine;
    }

    ByteBuffer memory() {
        return out;
    }

    /** The byte offset of result i, or -1 when the results read as ERROR. */
    private int at(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("featureflags: result " + i + " of " + size);
        }
        FeatureFlags e = engine;
        return e == null || e.isClosed() ? -1 : i * STRIDE;
    }

    private static long id(int raw) {
        return raw == -1 ? -1 : raw & 0xFFFF_FFFFL;
    }

    /**
     * Why flag i was served ({@link Reason#FLAG_NOT_FOUND} for an unknown key).
     *
     * @param i the index of its key in the batch
     * @return the reason
     */
    public Reason reason(int i) {
        int at = at(i);
        return at < 0 ? Reason.ERROR : Reason.of(out.getInt(at + REASON));
    }

    /**
     * The key of the variant flag i served, as {@link FeatureFlags#variant}. Allocates
     * nothing once the engine's strings are cached.
     *
     * @param i the index of its key in the batch
     * @param defaultValue returned when nothing is served
     * @return the variant
     */
    public String variant(int i, String defaultValue) {
        int at = at(i);
        String v = at < 0 ? null : engine.interned(id(out.getInt(at + VARIANT_ID)));
        return v == null ? defaultValue : v;
    }

    /**
     * Whether flag i served its {@code on} variant, or the default when it served nothing
     * (unknown key, closed engine or context): what {@link FeatureFlags#isEnabled} returns
     * for boolean and percentage flags. (For a multivariate flag isEnabled returns the
     * default; this reports whether its served variant is named {@code on}.)
     *
     * @param i the index of its key in the batch
     * @param defaultValue returned when nothing is served
     * @return whether it is on
     */
    public boolean isEnabled(int i, boolean defaultValue) {
        String v = variant(i, null);
        return v == null ? defaultValue : v.equals("on");
    }

    /**
     * Result i as {@link FeatureFlags#evaluate} gives it, without the value
     * ({@link Evaluation#valueJson()} is empty). Allocates the Evaluation.
     *
     * @param i the index of its key in the batch
     * @return the evaluation
     */
    public Evaluation evaluation(int i) {
        int at = at(i);
        if (at < 0) {
            return FeatureFlags.NOT_EVALUATED;
        }
        FeatureFlags e = engine;
        return new Evaluation(e.interned(id(out.getInt(at + VARIANT_ID))), null, Reason.of(out.getInt(at + REASON)),
                out.getInt(at + RULE_INDEX), e.interned(id(out.getInt(at + RULE_ID_ID))));
    }
}
