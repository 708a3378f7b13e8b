package io.featureflags;

import java.lang.ref.Cleaner;
import java.util.Locale;

/** The JNI entry points: static natives on {@code long} handles (0 means closed). */
final class Native {
    /** The C ABI ({@code FF_ABI_VERSION}) these declarations and the JNI glue wrap. */
    static final int ABI_VERSION = 2;

    /**
     * Frees engines and contexts that were garbage-collected without close(); one daemon
     * thread for the library.
     */
    static final Cleaner CLEANER = Cleaner.create();

    static {
        NativeLoader.load();
        NativeLoader.checkAbi(libraryAbiVersion(), ABI_VERSION);
        checkNumbering();
    }

    /**
     * {@link Reason#of} and {@link RolloutStatus#state} read C numbers as enum ordinals:
     * checked once, by name, against the library.
     */
    private static void checkNumbering() {
        for (Reason r : Reason.values()) {
            checkName(r.name(), reasonName(r.ordinal()));
        }
        for (RolloutStatus.State s : RolloutStatus.State.values()) {
            checkName(s.name(), rolloutStateName(s.ordinal()).toUpperCase(Locale.ROOT));
        }
    }

    private static void checkName(String java, String library) {
        if (!java.equals(library)) {
            throw new UnsatisfiedLinkError("featureflags: the native library numbers " + library + " where this binding has " + java);
        }
    }

    private Native() {}

    /** The loaded library's ABI version; a library from before ABI 2 has no such call. */
    private static int libraryAbiVersion() {
        try {
            return abiVersion();
        } catch (UnsatisfiedLinkError predatesAbi2) {
            return 1;
        }
    }

    static native void noop();
    static native String version();
    static native int abiVersion();
    static native String statusName(int status);
    static native String reasonName(int reason);
    static native String rolloutStateName(int state);
    static native String engineString(long engine, long id);
    static native long engineNew(byte[] options);
    static native void engineFree(long engine);
    static native void loadJson(long engine, byte[] json);
    static native void loadFile(long engine, byte[] path);
    static native void setTime(long engine, long unixMs);
    static native void checkpoint(long engine);
    static native long contextNew(byte[] userId);
    static native void contextFree(long context);
    static native void contextReset(long context, byte[] userId);
    static native void setString(long context, byte[] name, byte[] value);
    static native void setNumber(long context, byte[] name, double value);
    static native void setBool(long context, byte[] name, boolean value);
    static native boolean isEnabled(long engine, byte[] key, long context, boolean def);
    /** isEnabled with the key's UTF-8 bytes at a native address (a cached key's direct buffer). */
    static native boolean isEnabledAt(long engine, long keyAddress, int keyLength, long context, boolean def);
    static native long variant(long engine, byte[] key, long context);
    static native byte[] evaluate(long engine, byte[] key, long context, long[] out);
    static native boolean flagBool(long engine, byte[] key, long context, boolean def);
    static native double flagNumber(long engine, byte[] key, long context, double def);
    static native byte[] flagString(long engine, byte[] key, long context);
    static native void evaluateMany(long engine, byte[][] keys, long context, long[] out);
    static native void isEnabledMany(long engine, byte[][] keys, long context, boolean[] defaults, boolean[] out);
    static native int[] batchLayout();
    static native long bufferAddress(java.nio.ByteBuffer buffer);
    static native int evaluateBatch(long engine, long keys, int n, long context, long out);
    static native long flagListNew(long keys, int n);
    static native void flagListFree(long list);
    static native long isEnabledList(long engine, long list, int from, int count, long context, long defaults);
    static native byte[] allFlags(long engine, long context);
    static native void setOverride(long engine, byte[] key, byte[] variant);
    static native void clearOverride(long engine, byte[] key);
    static native int bucket(byte[] salt, byte[] key);
    static native long assign(long engine, byte[] key, long context);
    static native void track(long engine, byte[] userId, byte[] metric, double value);
    static native byte[] experimentResults(long engine, byte[] key);
    static native byte[] history(long engine, byte[] key);
    static native byte[] funnelReport(long engine, byte[] key);
    static native byte[] timeseries(long engine, byte[] key);
    static native byte[] experimentAggregates(long engine, byte[] key);
    static native byte[] revision(long engine);
    static native long eventsDropped(long engine);
    static native void setEvaluationEvents(long engine, boolean enabled);
    static native double power(double baseline, double mde, double alpha, double n);
    static native double mde(double baseline, double alpha, double power, double n);
    static native double testDurationDays(double requiredPerVariant, int variants, double dailyUsers, double trafficFraction);
    static native double lifetimeValue(double margin, double retention, double discount, int periods);
    static native void declareWinner(long engine, byte[] key, byte[] variant);
    static native byte[] analyze(byte[] input);
    static native double sampleSize(double baseline, double mde, double alpha, double power);
    static native void rolloutStatus(long engine, byte[] key, double[] out);
    static native void reportHealth(long engine, byte[] key, double errorRate, double p99LatencyMs, long samples);
    static native void rolloutAction(long engine, byte[] key, int action);
    static native boolean inRollout(long engine, byte[] key, long context);
    static native byte[] drainEvents(long engine, long max);
    static native long setListener(long engine, FeatureFlags.Dispatcher dispatcher, long previous);
    static native void loadFlagdJson(long engine, byte[] json);
    static native void loadFlagdFile(long engine, byte[] path);
    static native void setJson(long context, byte[] name, byte[] json);
    static native byte[][] flagdEvaluate(long engine, byte[] key, long context, int type, int[] out);
}
