package io.featureflags;

/** The JNI entry points: static natives on {@code long} handles (0 means closed). */
final class Native {
    static {
        NativeLoader.load();
    }

    private Native() {}

    static native void noop();
    static native String version();
    static native String stringAt(long packed);
    static native long engineNew(byte[] options);
    static native void engineFree(long engine);
    static native void loadJson(long engine, byte[] json);
    static native void loadFile(long engine, byte[] path);
    static native void setTime(long engine, long unixMs);
    static native long contextNew(byte[] userId);
    static native void contextFree(long context);
    static native void contextReset(long context, byte[] userId);
    static native void setString(long context, byte[] name, byte[] value);
    static native void setNumber(long context, byte[] name, double value);
    static native void setBool(long context, byte[] name, boolean value);
    static native boolean isEnabled(long engine, byte[] key, long context, boolean def);
    static native long variant(long engine, byte[] key, long context);
    static native void evaluate(long engine, byte[] key, long context, long[] out);
    static native byte[] valueJson(long engine, byte[] key, long context);
    static native void setOverride(long engine, byte[] key, byte[] variant);
    static native void clearOverride(long engine, byte[] key);
    static native int bucket(byte[] salt, byte[] key);
    static native long assign(long engine, byte[] key, long context);
    static native void track(long engine, byte[] userId, byte[] metric, double value);
    static native byte[] experimentResults(long engine, byte[] key);
    static native byte[] history(long engine, byte[] key);
    static native byte[] funnelReport(long engine, byte[] key);
    static native void declareWinner(long engine, byte[] key, byte[] variant);
    static native byte[] analyze(byte[] input);
    static native double sampleSize(double baseline, double mde, double alpha, double power);
    static native void rolloutStatus(long engine, byte[] key, double[] out);
    static native void reportHealth(long engine, byte[] key, double errorRate, double p99LatencyMs, long samples);
    static native void rolloutAction(long engine, byte[] key, int action);
    static native boolean inRollout(long engine, byte[] key, long context);
    static native byte[] drainEvents(long engine, long max);
}
