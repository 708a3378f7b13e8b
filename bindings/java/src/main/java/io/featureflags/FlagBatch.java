package io.featureflags;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A fixed list of flag keys that {@link FeatureFlags#evaluateBatch} and
 * {@link FeatureFlags#isEnabledMany(FlagBatch, EvaluationContext, boolean[], boolean[])}
 * evaluate in one call into the library. The keys are laid out once, in native memory
 * where the library reads them, so that a call copies nothing; for isEnabledMany the
 * library keeps its own copy (an {@code ff_flag_list}), whose keys each context looks up
 * once per config. Make it once (at start-up) and reuse it; it is immutable and may be
 * shared between threads. Its memory is freed by the garbage collector (the library's
 * copy by a {@link Cleaner}).
 */
public final class FlagBatch {
    /** {pointer size, sizeof ff_detail, offsets of reason, rule_index, variant id, rule id id}. */
    static final int[] LAYOUT = Native.batchLayout();

    private final String[] keys;
    /** n key pointers, then n lengths (pointer-sized), then the keys' UTF-8 bytes. */
    private final ByteBuffer prepared;
    final long address;
    /** The library's copy of the keys ({@code ff_flag_list}), freed once the batch is unreachable. */
    final long list;

    private FlagBatch(String[] keys) {
        this.keys = keys.clone();
        int n = keys.length;
        byte[][] bytes = new byte[n][];
        int total = 0;
        for (int i = 0; i < n; i++) {
            bytes[i] = FeatureFlags.key(keys[i]);
            total += bytes[i].length;
        }
        int word = LAYOUT[0];
        prepared = ByteBuffer.allocateDirect(Math.max(1, 2 * word * n + total)).order(ByteOrder.nativeOrder());
        address = Native.bufferAddress(prepared);
        int at = 2 * word * n;
        for (int i = 0; i < n; i++) {
            putWord(i * word, address + at);
            putWord((n + i) * word, bytes[i].length);
            prepared.position(at);
            prepared.put(bytes[i]);
            at += bytes[i].length;
        }
        prepared.clear();
        list = Native.flagListNew(address, n);
        Native.CLEANER.register(this, new FreeList(list));
    }

    /**
     * Frees the library's copy of the keys. It must not reach the batch: the cleaner runs
     * it once that is unreachable.
     */
    private static final class FreeList implements Runnable {
        private final long list;

        FreeList(long list) {
            this.list = list;
        }

        @Override
        public void run() {
            Native.flagListFree(list);
        }
    }

    private void putWord(int offset, long value) {
        if (LAYOUT[0] == 8) {
            prepared.putLong(offset, value);
        } else {
            prepared.putInt(offset, (int) value);
        }
    }

    /**
     * A batch of keys, evaluated in this order.
     *
     * @param keys the flags
     * @return the batch
     * @throws NullPointerException for a null key, named by its index ({@code keys[i]})
     */
    public static FlagBatch of(String... keys) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] == null) {
                throw new NullPointerException("featureflags: FlagBatch.of: keys[" + i + "] is null");
            }
        }
        return new FlagBatch(keys);
    }

    /**
     * The number of keys.
     *
     * @return the size
     */
    public int size() {
        return keys.length;
    }

    /**
     * Key i.
     *
     * @param i the index
     * @return the key
     */
    public String key(int i) {
        return keys[i];
    }

    /**
     * Results to evaluate this batch into, reused call after call by one thread at a time.
     *
     * @return new results
     */
    public BatchResults newResults() {
        return new BatchResults(keys.length);
    }

    /** Keeps the prepared memory reachable until a call that reads it returns. */
    ByteBuffer memory() {
        return prepared;
    }
}
