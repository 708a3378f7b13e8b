package io.featureflags;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A feature-flag engine: configs, flag evaluation, experiments, rollouts and events.
 * Thread-safe: share one instance. Evaluations never throw; they return the caller's
 * default, also for a closed {@link EvaluationContext} (reason {@link Reason#ERROR}).
 * Close it when done (idempotent); a closed engine returns defaults from
 * evaluations and throws {@link IllegalStateException} elsewhere. Close must not race
 * with calls still running on the engine. An engine garbage-collected without close() is
 * freed by a {@link Cleaner}.
 */
public final class FeatureFlags implements AutoCloseable {
    private static final int MAX_CACHED_KEYS = 10_000;
    private static final Map<String, Key> KEYS = new ConcurrentHashMap<>();

    /** What evaluating with a closed engine or context gives: nothing served, reason ERROR. */
    static final Evaluation NOT_EVALUATED = new Evaluation(null, null, Reason.ERROR, -1, null);

    /** The largest string id cached: array indices are ints, and ids past it never occur in practice. */
    private static final long MAX_CACHED_ID = Integer.MAX_VALUE - 8;

    private volatile long handle;
    /** The background checkpointer, if one runs; guarded by this. */
    private Checkpointer checkpointer;
    /**
     * Java copies of the engine's interned strings (variant keys, rule ids) indexed by
     * their {@code ff_string_id}, which names one string for the engine's lifetime.
     * Readers take no lock; a miss fills the slot under the engine's lock, replacing the
     * array by a longer copy when the id lies past its end.
     */
    private volatile String[] strings = new String[16];

    /** Listeners in registration order; the dispatcher reads them without a lock. */
    private final List<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();
    /**
     * Serializes listener registration, apart from the engine's monitor: registering
     * waits for running deliveries, whose listeners may take the engine's monitor (a
     * string-cache miss in {@link #variant}).
     */
    private final Object listenerLock = new Object();
    /** What close() frees, or the cleaner when the engine was garbage-collected unclosed. */
    private final NativeState state;
    private final Cleaner.Cleanable free;

    private FeatureFlags(long handle) {
        this.handle = handle;
        this.state = new NativeState(handle);
        this.free = Native.CLEANER.register(this, state);
    }

    /**
     * The engine and its listener registration. It must not reach the FeatureFlags: the
     * cleaner runs it once that is unreachable. (A listener that captures its engine keeps
     * it reachable through the registration until close().)
     */
    private static final class NativeState implements Runnable {
        private final long engine;
        /**
         * The dispatcher's native registration, 0 when no listener is set; written under
         * listenerLock, read by the cleaner's thread too.
         */
        volatile long listenerRegistration;

        NativeState(long engine) {
            this.engine = engine;
        }

        @Override
        public void run() {
            if (listenerRegistration != 0) {
                Native.setListener(engine, null, listenerRegistration);
            }
            Native.engineFree(engine);
        }
    }

    /**
     * Creates an engine with default options.
     *
     * @return the engine
     */
    public static FeatureFlags create() {
        return create("");
    }

    /**
     * Creates an engine.
     *
     * @param optionsJson engine options as JSON (e.g. {@code {"event_capacity": 1000}}), or ""
     * @return the engine
     * @throws InvalidArgumentException for malformed options
     */
    public static FeatureFlags create(String optionsJson) {
        return new FeatureFlags(Native.engineNew(optionsJson.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The library version.
     *
     * @return e.g. "0.1.0"
     */
    public static String version() {
        return Native.version();
    }

    /**
     * A flag key or attribute name's UTF-8 bytes, on the heap for the calls that copy
     * them and in native memory for isEnabled, which passes their address: the copy of a
     * byte array through JNI (GetArrayLength, GetByteArrayRegion) is a large share of a
     * call that evaluates in a few nanoseconds.
     */
    private static final class Key {
        final byte[] bytes;
        /** Owns the native copy at {@code address}; cached keys live as long as the class. */
        private final ByteBuffer nativeCopy;
        final long address;

        Key(String name) {
            bytes = name.getBytes(StandardCharsets.UTF_8);
            nativeCopy = ByteBuffer.allocateDirect(Math.max(1, bytes.length));
            nativeCopy.put(bytes);
            address = Native.bufferAddress(nativeCopy);
        }
    }

    /** The cached key for name, or null once the cache is full (keys repeat). */
    private static Key cachedKey(String name) {
        Key k = KEYS.get(name);
        if (k == null && KEYS.size() < MAX_CACHED_KEYS) {
            k = KEYS.computeIfAbsent(name, Key::new);
        }
        return k;
    }

    /** UTF-8 bytes of a flag key or attribute name, cached (keys repeat). */
    static byte[] key(String name) {
        Key k = cachedKey(name);
        return k != null ? k.bytes : name.getBytes(StandardCharsets.UTF_8);
    }

    /** Whether close() has run: results read after it say ERROR. */
    boolean isClosed() {
        return handle == 0;
    }

    private long live() {
        long h = handle;
        if (h == 0) {
            throw new IllegalStateException("featureflags: engine is closed");
        }
        return h;
    }

    /** The string of an id from the engine, null for none (-1). Allocates nothing once cached. */
    String interned(long id) {
        if (id < 0) {
            return null;
        }
        String[] cache = strings;
        if (id < cache.length) {
            String s = cache[(int) id];
            if (s != null) {
                return s;
            }
        }
        return intern(id);
    }

    private synchronized String intern(long id) {
        long h = handle;
        if (h == 0) {
            return null;
        }
        if (id > MAX_CACHED_ID) {
            return Native.engineString(h, id);
        }
        String[] cache = strings;
        int slot = (int) id;
        if (slot < cache.length && cache[slot] != null) {
            return cache[slot];
        }
        String s = Native.engineString(h, id);
        if (s == null) {
            return null;
        }
        if (slot >= cache.length) {
            cache = Arrays.copyOf(cache, (int) Math.min(MAX_CACHED_ID + 1, Math.max(2L * cache.length, slot + 1L)));
        }
        cache[slot] = s;
        strings = cache;
        return s;
    }

    /**
     * Validates and installs a config; the previous one keeps serving on error.
     *
     * @param json the config
     * @throws InvalidConfigException listing every problem with its JSON path
     */
    public void loadJson(String json) {
        loadJson(json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Validates and installs a config given as UTF-8 bytes.
     *
     * @param json the config
     * @throws InvalidConfigException listing every problem with its JSON path
     */
    public void loadJson(byte[] json) {
        try {
            Native.loadJson(live(), json);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Reads and installs a config file.
     *
     * @param path the file
     * @throws FeatureFlagsIOException when it cannot be read
     */
    public void loadFile(Path path) {
        try {
            Native.loadFile(live(), path.toString().getBytes(StandardCharsets.UTF_8));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Fixes the engine clock (0 returns to the system clock).
     *
     * @param unixMs unix milliseconds
     */
    public void setTime(long unixMs) {
        try {
            Native.setTime(live(), unixMs);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Writes what a durable engine ({@code "state_path"} in the options; docs/durability.md)
     * counted since its last checkpoint to its state file in one transaction: experiment
     * exposures and totals, tallies, funnels, time series and the audit trail. A crash
     * loses at most what was counted after the last checkpoint that returned; a failed
     * one loses nothing, the next one writes it. Does nothing without a state file.
     *
     * @throws FeatureFlagsIOException when the state file cannot be written (a full disk)
     */
    public void checkpoint() {
        try {
            Native.checkpoint(live());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Starts a daemon thread that calls {@link #checkpoint()} every {@code every}, and
     * once more when the returned checkpointer or this engine is closed, whichever comes
     * first. The interval is what a crash can cost in counts. An engine has at most one:
     * starting another closes the previous one first.
     *
     * @param every the interval
     * @return the running checkpointer
     */
    public Checkpointer startCheckpointing(java.time.Duration every) {
        Checkpointer next = new Checkpointer(this, every);
        Checkpointer previous;
        synchronized (this) {
            live();
            previous = checkpointer;
            checkpointer = next;
        }
        if (previous != null) {
            previous.close();
        }
        next.start();
        return next;
    }

    /** Forgets {@code c} as this engine's checkpointer (it stopped). */
    synchronized void checkpointerStopped(Checkpointer c) {
        if (checkpointer == c) {
            checkpointer = null;
        }
    }

    /**
     * Whether a boolean, percentage or kill-switch flag serves "on".
     *
     * @param key the flag
     * @param ctx the user
     * @param defaultValue returned when the flag is missing, multivariate or serves nothing
     * @return the decision
     */
    public boolean isEnabled(String key, EvaluationContext ctx, boolean defaultValue) {
        try {
            long c = ctx.evaluationHandle();
            if (c == 0) {
                return defaultValue;
            }
            Key k = cachedKey(key);
            return k != null
                    ? Native.isEnabledAt(handle, k.address, k.bytes.length, c, defaultValue)
                    : Native.isEnabled(handle, key.getBytes(StandardCharsets.UTF_8), c, defaultValue);
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The served variant's key.
     *
     * @param key the flag
     * @param ctx the user
     * @param defaultValue returned when nothing is served
     * @return the variant
     */
    public String variant(String key, EvaluationContext ctx, String defaultValue) {
        try {
            long c = ctx.evaluationHandle();
            String v = c == 0 ? null : interned(Native.variant(handle, key(key), c));
            return v == null ? defaultValue : v;
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Evaluates a flag in detail, with the variant's JSON value, both from one evaluation:
     * a reload or override change meanwhile cannot pair a variant with another's value.
     *
     * @param key the flag
     * @param ctx the user
     * @return the evaluation
     */
    public Evaluation evaluate(String key, EvaluationContext ctx) {
        try {
            long e = handle;
            long c = ctx.evaluationHandle();
            if (e == 0 || c == 0) {
                return NOT_EVALUATED;
            }
            long[] out = new long[4];
            byte[] value = Native.evaluate(e, key(key), c, out);
            return new Evaluation(interned(out[0]), value == null ? null : new String(value, StandardCharsets.UTF_8),
                    Reason.of(out[1]), (int) out[2], interned(out[3]));
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The served variant's value when it is a JSON boolean. Parses no JSON and allocates
     * nothing.
     *
     * @param key the flag
     * @param ctx the user
     * @param defaultValue returned when the flag is missing, serves nothing or serves a
     *     value of another type
     * @return the value
     */
    public boolean boolValue(String key, EvaluationContext ctx, boolean defaultValue) {
        try {
            long c = ctx.evaluationHandle();
            return c == 0 ? defaultValue : Native.flagBool(handle, key(key), c, defaultValue);
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The served variant's value when it is a JSON number, as {@link #boolValue}.
     *
     * @param key the flag
     * @param ctx the user
     * @param defaultValue returned when the flag serves no number
     * @return the value
     */
    public double doubleValue(String key, EvaluationContext ctx, double defaultValue) {
        try {
            long c = ctx.evaluationHandle();
            return c == 0 ? defaultValue : Native.flagNumber(handle, key(key), c, defaultValue);
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The served variant's value when it is a JSON string (decoded), as {@link #boolValue}.
     *
     * @param key the flag
     * @param ctx the user
     * @param defaultValue returned when the flag serves no string
     * @return the value
     */
    public String stringValue(String key, EvaluationContext ctx, String defaultValue) {
        try {
            long c = ctx.evaluationHandle();
            byte[] v = c == 0 ? null : Native.flagString(handle, key(key), c);
            return v == null ? defaultValue : new String(v, StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Evaluates several flags in one call into the library, all from the same config: the
     * JNI crossing is paid once, not once per flag. Each result is what {@link #evaluate}
     * returns, without the value ({@link Evaluation#valueJson()} is null). It copies the
     * keys and allocates the results on every call; for a set of flags asked again and
     * again, {@link #evaluateBatch} with a {@link FlagBatch} does neither.
     *
     * @param keys the flags
     * @param ctx the user
     * @return one evaluation per key, in order
     */
    public Evaluation[] evaluateMany(String[] keys, EvaluationContext ctx) {
        byte[][] bytes = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++) {
            bytes[i] = key(keys[i]);
        }
        Evaluation[] out = new Evaluation[keys.length];
        try {
            long c = ctx.evaluationHandle();
            if (handle == 0 || c == 0) {
                java.util.Arrays.fill(out, NOT_EVALUATED);
                return out;
            }
            long[] raw = new long[4 * keys.length];
            Native.evaluateMany(handle, bytes, c, raw);
            for (int i = 0; i < keys.length; i++) {
                out[i] = new Evaluation(interned(raw[4 * i]), null, Reason.of(raw[4 * i + 1]), (int) raw[4 * i + 2],
                        interned(raw[4 * i + 3]));
            }
            return out;
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Evaluates a prepared batch of flags in one call into the library, all from the same
     * config, into {@code results}: the keys are not copied and nothing is allocated, so
     * the JNI crossing is paid once for the batch. Read the results with
     * {@link BatchResults#isEnabled}, {@link BatchResults#variant},
     * {@link BatchResults#reason} or {@link BatchResults#evaluation} (which equals
     * {@link #evaluate} without the value). A closed engine or context gives
     * {@link Reason#ERROR} in every result.
     *
     * @param batch the flags, prepared once with {@link FlagBatch#of}
     * @param ctx the user
     * @param results where to put the results, from {@code batch.newResults()} (or made
     *     for a batch of as many keys) and used by one thread at a time
     * @throws IllegalArgumentException when results were made for a batch of another size
     */
    public void evaluateBatch(FlagBatch batch, EvaluationContext ctx, BatchResults results) {
        if (results.size() != batch.size()) {
            throw new IllegalArgumentException(
                    "featureflags: results for " + results.size() + " flags, batch of " + batch.size());
        }
        try {
            long h = handle;
            long c = ctx.evaluationHandle();
            boolean ok = h != 0 && c != 0
                    && (batch.size() == 0 || Native.evaluateBatch(h, batch.address, batch.size(), c, results.address) == 0);
            results.evaluated(ok ? this : null);
        } finally {
            Reference.reachabilityFence(batch);
            Reference.reachabilityFence(results);
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * {@link #isEnabled} for every flag of a prepared batch in one call into the library,
     * all from the same config: {@code out[i]} answers {@code batch.key(i)}, or is
     * {@code defaults[i]} (false when {@code defaults} is null) where {@link #isEnabled}
     * would return its default (missing or multivariate flag, nothing served, closed
     * engine or context). The cheapest way to read a page's switches: one JNI crossing
     * per 64 flags, no per-flag detail, nothing allocated, and the context remembers where
     * the batch's flags are in the current config, so they are looked up again only after
     * a reload (it remembers the last two batches it read).
     *
     * @param batch the flags, prepared once with {@link FlagBatch#of}
     * @param ctx the user
     * @param defaults each flag's default, or null for false; may be {@code out} itself
     * @param out the answers, as long as the batch
     * @throws IllegalArgumentException when {@code out} or {@code defaults} is shorter
     *     than the batch
     */
    public void isEnabledMany(FlagBatch batch, EvaluationContext ctx, boolean[] defaults, boolean[] out) {
        int n = batch.size();
        checkSwitchArrays(n, defaults, out);
        try {
            long h = handle;
            long c = ctx.evaluationHandle();
            for (int from = 0; from < n; from += 64) {
                int count = Math.min(64, n - from);
                long bits = 0;
                if (defaults != null) {
                    for (int i = 0; i < count; i++) {
                        if (defaults[from + i]) {
                            bits |= 1L << i;
                        }
                    }
                }
                if (h != 0 && c != 0) {
                    bits = Native.isEnabledList(h, batch.list, from, count, c, bits);
                }
                for (int i = 0; i < count; i++) {
                    out[from + i] = (bits >>> i & 1) != 0;
                }
            }
        } finally {
            Reference.reachabilityFence(batch);
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * {@link #isEnabled} for each of {@code keys} in one call into the library per 32
     * keys, all from the same config: {@code out[i]} answers {@code keys[i]}, or is
     * {@code defaults[i]} (false when {@code defaults} is null) where {@link #isEnabled}
     * would return its default. It copies the keys and looks them up on every call; for
     * flags asked again and again, a {@link FlagBatch} does neither.
     *
     * @param keys the flags
     * @param ctx the user
     * @param defaults each flag's default, or null for false; may be {@code out} itself
     * @param out the answers, as long as {@code keys}
     * @throws IllegalArgumentException when {@code out} or {@code defaults} is shorter
     *     than {@code keys}
     */
    public void isEnabledMany(String[] keys, EvaluationContext ctx, boolean[] defaults, boolean[] out) {
        checkSwitchArrays(keys.length, defaults, out);
        byte[][] bytes = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++) {
            bytes[i] = key(keys[i]);
        }
        try {
            long h = handle;
            long c = ctx.evaluationHandle();
            if (h != 0 && c != 0) {
                Native.isEnabledMany(h, bytes, c, defaults, out);
            } else {
                for (int i = 0; i < keys.length; i++) {
                    out[i] = defaults != null && defaults[i];
                }
            }
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    private static void checkSwitchArrays(int n, boolean[] defaults, boolean[] out) {
        if (out.length < n || (defaults != null && defaults.length < n)) {
            throw new IllegalArgumentException("featureflags: out or defaults shorter than the " + n + " flags");
        }
    }

    /**
     * Every flag evaluated for a user, as the JSON document a server hands to a client SDK
     * at bootstrap (the shape of LaunchDarkly's allFlagsState): each flag's key with its
     * served value (null when nothing is served), then {@code "$flagsState"} with each
     * flag's variant, reason and rule id, and {@code "$valid": true}. No evaluation events.
     *
     * @param ctx the user
     * @return the JSON document
     */
    public String allFlagsJson(EvaluationContext ctx) {
        try {
            byte[] doc = Native.allFlags(live(), ctx.evaluationHandle());
            return new String(doc, StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Loads a flagd flag definition document (docs/flagd.md), replacing the flagd flags
     * loaded before; native flags are untouched. A single invalid flag does not fail the
     * load: it evaluates to {@link FlagdResult.ErrorCode#PARSE_ERROR}, as in flagd.
     *
     * @param json the document (UTF-8)
     * @throws InvalidConfigException when it is not a flagd document
     */
    public void loadFlagdJson(byte[] json) {
        try {
            Native.loadFlagdJson(live(), json);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Reads a flagd document and loads it like {@link #loadFlagdJson}.
     *
     * @param path the file
     * @throws FeatureFlagsIOException when it cannot be read
     */
    public void loadFlagdFile(Path path) {
        try {
            Native.loadFlagdFile(live(), path.toString().getBytes(StandardCharsets.UTF_8));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Evaluates a flagd flag, checking its value against {@code type}. Never throws.
     *
     * @param key the flag
     * @param ctx the context
     * @param type the type asked for ({@link FlagdResult.Type#ANY} checks nothing)
     * @return the value (null: use your default), variant, reason, error code, metadata
     */
    public FlagdResult evaluateFlagd(String key, EvaluationContext ctx, FlagdResult.Type type) {
        try {
            int[] out = new int[2];
            byte[][] parts = Native.flagdEvaluate(handle, key(key), ctx.evaluationHandle(), type.ordinal(), out);
            return new FlagdResult(parts, out[0], out[1]);
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Forces a flag to serve a variant until cleared, across reloads.
     *
     * @param key the flag
     * @param variant the variant
     * @throws NotFoundException for an unknown flag
     * @throws InvalidArgumentException for an unknown variant
     */
    public void setOverride(String key, String variant) {
        try {
            Native.setOverride(live(), key(key), variant.getBytes(StandardCharsets.UTF_8));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Removes a flag's override.
     *
     * @param key the flag
     */
    public void clearOverride(String key) {
        try {
            Native.clearOverride(live(), key(key));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * bucket(salt, key) of docs/design.md §4.
     *
     * @param salt the salt
     * @param key the key
     * @return 0 to 99,999
     */
    public static int bucket(String salt, String key) {
        return Native.bucket(salt.getBytes(StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Enrolls the user in an experiment.
     *
     * @param key the experiment
     * @param ctx the user
     * @return the variant, or null when not enrolled
     */
    public String assign(String key, EvaluationContext ctx) {
        try {
            long c = ctx.evaluationHandle();
            return c == 0 ? null : interned(Native.assign(handle, key(key), c));
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Records a metric value for a user.
     *
     * @param userId the user
     * @param metric the metric (or funnel step)
     * @param value a finite value
     */
    public void track(String userId, String metric, double value) {
        try {
            Native.track(live(), EvaluationContext.utf8(userId), key(metric), value);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * An experiment's results as JSON (docs/experiments.md).
     *
     * @param key the experiment
     * @return the JSON document
     */
    public String experimentResultsJson(String key) {
        try {
            return new String(Native.experimentResults(live(), key(key)), StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * An experiment's results, typed.
     *
     * @param key the experiment
     * @return the results
     * @throws NotFoundException for an unknown experiment
     */
    public ExperimentResults experimentResults(String key) {
        return new ExperimentResults(experimentResultsJson(key));
    }

    /**
     * Declares an experiment's winner.
     *
     * @param key the experiment
     * @param variant the winner
     */
    public void declareWinner(String key, String variant) {
        try {
            Native.declareWinner(live(), key(key), variant.getBytes(StandardCharsets.UTF_8));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Analyses aggregates computed elsewhere (docs/design.md §5).
     *
     * @param inputJson the aggregates
     * @return the analysis as JSON
     */
    public static String analyzeJson(String inputJson) {
        return new String(Native.analyze(inputJson.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    /**
     * Experiment {@code key}'s counts in this engine (docs/fleet.md): per variant and metric
     * users, conversions, sum and sum of squares, with the engine's instance id, user
     * partition, time range and a hash sample of its users — a fleet merge's input.
     *
     * @param key the experiment
     * @return the JSON document
     * @throws NotFoundException when the config has no such experiment
     */
    public String experimentAggregatesJson(String key) {
        try {
            return new String(Native.experimentAggregates(live(), key(key)), StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Experiment {@code key}'s time series (docs/analytics.md): per-interval counters per
     * variant, cumulative results and anomalies.
     *
     * @param key the experiment
     * @return the JSON document
     * @throws NotFoundException when the config has no such experiment
     */
    public String experimentTimeSeriesJson(String key) {
        try {
            return new String(Native.timeseries(live(), key(key)), StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Funnel {@code key}'s report (docs/analytics.md): users per step, per variant of its
     * linked experiment, with conversion and median step times.
     *
     * @param key the funnel
     * @return the JSON document
     * @throws NotFoundException when the config has no such funnel
     */
    public String funnelReportJson(String key) {
        try {
            return new String(Native.funnelReport(live(), key(key)), StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The loaded config's {@code revision}.
     *
     * @return the revision, "" when the config has none or nothing is loaded
     */
    public String revision() {
        try {
            byte[] revision = Native.revision(live());
            return revision == null ? "" : new String(revision, StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Events dropped so far because the queue was full.
     *
     * @return the count
     */
    public long eventsDropped() {
        try {
            return Native.eventsDropped(live());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Turns evaluation events (one per evaluation) on or off; off by default, when
     * evaluation pays nothing for them.
     *
     * @param enabled on or off
     */
    public void setEvaluationEvents(boolean enabled) {
        try {
            Native.setEvaluationEvents(live(), enabled);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The power reached with {@code n} users per variant.
     *
     * @param baseline the control's conversion rate
     * @param mde the relative change to detect
     * @param alpha the significance level
     * @param n users per variant
     * @return the power
     */
    public static double power(double baseline, double mde, double alpha, double n) {
        return Native.power(baseline, mde, alpha, n);
    }

    /**
     * The smallest relative change of a conversion rate that a two-sided test detects.
     *
     * @param baseline the control's conversion rate
     * @param alpha the significance level
     * @param power the target power
     * @param n users per variant
     * @return the relative change
     */
    public static double minimumDetectableEffect(double baseline, double alpha, double power, double n) {
        return Native.mde(baseline, alpha, power, n);
    }

    /**
     * Days needed to enroll {@code requiredPerVariant} users in each variant (rounded up).
     *
     * @param requiredPerVariant users needed per variant
     * @param variants number of variants
     * @param dailyUsers eligible users a day
     * @param trafficFraction the share of them that enters the experiment, (0, 1]
     * @return days
     */
    public static double testDurationDays(double requiredPerVariant, int variants, double dailyUsers, double trafficFraction) {
        return Native.testDurationDays(requiredPerVariant, variants, dailyUsers, trafficFraction);
    }

    /**
     * Customer lifetime value {@code margin × Σ_{t<periods} rᵗ/(1+d)ᵗ}; {@code periods = 0}
     * is the infinite horizon.
     *
     * @param margin margin per period
     * @param retention retention per period
     * @param discount discount rate per period
     * @param periods periods, 0 for the infinite horizon
     * @return the value
     */
    public static double lifetimeValue(double margin, double retention, double discount, int periods) {
        return Native.lifetimeValue(margin, retention, discount, periods);
    }

    /**
     * Users per variant to detect a relative change of a conversion rate.
     *
     * @param baseline the control's rate
     * @param mde the relative change
     * @param alpha the significance level
     * @param power the target power
     * @return users per variant
     */
    public static double sampleSize(double baseline, double mde, double alpha, double power) {
        return Native.sampleSize(baseline, mde, alpha, power);
    }

    /**
     * A rollout's status.
     *
     * @param key the rollout
     * @return the status
     */
    public RolloutStatus rolloutStatus(String key) {
        try {
            double[] out = new double[12];
            Native.rolloutStatus(live(), key(key), out);
            return new RolloutStatus(out);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Reports a rollout's health.
     *
     * @param key the rollout
     * @param errorRate 0 to 1
     * @param p99LatencyMs the p99 latency
     * @param samples the requests the figures cover
     */
    public void reportHealth(String key, double errorRate, double p99LatencyMs, long samples) {
        try {
            Native.reportHealth(live(), key(key), errorRate, p99LatencyMs, samples);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Moves a rollout to its next stage.
     *
     * @param key the rollout
     * @throws InvalidStateException when completed or rolled back
     */
    public void advanceRollout(String key) {
        try {
            Native.rolloutAction(live(), key(key), 0);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Holds a rollout at its stage.
     *
     * @param key the rollout
     */
    public void pauseRollout(String key) {
        try {
            Native.rolloutAction(live(), key(key), 1);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Continues a paused rollout.
     *
     * @param key the rollout
     */
    public void resumeRollout(String key) {
        try {
            Native.rolloutAction(live(), key(key), 2);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Rolls a rollout back to 0%.
     *
     * @param key the rollout
     */
    public void rollbackRollout(String key) {
        try {
            Native.rolloutAction(live(), key(key), 3);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Whether the user is inside a rollout's current percentage.
     *
     * @param key the rollout
     * @param ctx the user
     * @return true when inside
     */
    public boolean inRollout(String key, EvaluationContext ctx) {
        try {
            long c = ctx.evaluationHandle();
            return c != 0 && Native.inRollout(handle, key(key), c);
        } finally {
            Reference.reachabilityFence(ctx);
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Removes up to {@code max} queued events (0: all).
     *
     * @param max the most to remove
     * @return one JSON document per event (docs/events.md)
     */
    public List<String> drainEvents(long max) {
        try {
            byte[] ndjson = Native.drainEvents(live(), max);
            List<String> events = new ArrayList<>();
            if (ndjson != null) {
                for (String line : new String(ndjson, StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isEmpty()) {
                        events.add(line);
                    }
                }
            }
            return events;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Delivers every event to {@code listener} instead of the queue that
     * {@link #drainEvents} reads, from the moment this returns.
     *
     * <p>The listener runs synchronously on the thread whose call produced the event (a
     * load, an override, an assignment, a tracked event closing a time-series interval, a
     * rollout action or status query, or an evaluation when evaluation events are on),
     * possibly on several threads at once, so it must be thread-safe and return quickly.
     * Inside it, evaluating, assigning, tracking and reading reports are allowed (events
     * they cause are queued, not delivered recursively); calls that change the engine
     * ({@code load*}, overrides, {@code declareWinner}, rollout status and actions,
     * {@code checkpoint}, {@code setTime}) and adding or removing listeners throw
     * {@link InvalidStateException} and change nothing. An exception the listener throws
     * goes to the thread's uncaught-exception handler; the other listeners still get the
     * event.
     *
     * @param listener receives each event
     * @throws InvalidStateException when called from inside a listener
     */
    public void addListener(Consumer<Event> listener) {
        Objects.requireNonNull(listener, "listener");
        Dispatcher.refuseInsideListener();
        synchronized (listenerLock) {
            long h = live();
            if (state.listenerRegistration == 0) {
                state.listenerRegistration = Native.setListener(h, new Dispatcher(listeners), 0);
            }
            listeners.add(listener);
        }
    }

    /**
     * Stops delivering events to {@code listener}; once the last listener is removed,
     * events queue again. When this returns no delivery to the last listener is running.
     *
     * @param listener a listener given to {@link #addListener}
     * @return false when it was not registered
     * @throws InvalidStateException when called from inside a listener
     */
    public boolean removeListener(Consumer<Event> listener) {
        Dispatcher.refuseInsideListener();
        synchronized (listenerLock) {
            if (!listeners.remove(listener)) {
                return false;
            }
            if (listeners.isEmpty()) {
                unregisterListeners(live());
            }
            return true;
        }
    }

    /** Removes the native registration; guarded by listenerLock. */
    private void unregisterListeners(long h) {
        if (state.listenerRegistration != 0) {
            state.listenerRegistration = Native.setListener(h, null, state.listenerRegistration);
        }
    }

    /** What the JNI glue calls per event; it fans the event out to the listeners. */
    static final class Dispatcher {
        /** How deep the current thread is inside deliveries (engines may nest). */
        private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

        private final List<Consumer<Event>> listeners;

        Dispatcher(List<Consumer<Event>> listeners) {
            this.listeners = listeners;
        }

        /**
         * Registering waits for running deliveries: from inside one it would wait for
         * itself (the C API refuses it too), so it is refused before any lock is taken.
         */
        static void refuseInsideListener() {
            if (DEPTH.get()[0] > 0) {
                throw new InvalidStateException("featureflags: listeners cannot be added or removed from inside a listener");
            }
        }

        /** Called by the JNI glue on the producing thread. */
        void deliver(byte[] json) {
            Event event = new Event(json);
            int[] depth = DEPTH.get();
            depth[0]++;
            try {
                for (Consumer<Event> listener : listeners) {
                    try {
                        listener.accept(event);
                    } catch (RuntimeException e) {
                        Thread t = Thread.currentThread();
                        t.getUncaughtExceptionHandler().uncaughtException(t, e);
                    }
                }
            } finally {
                depth[0]--;
            }
        }
    }

    /**
     * A flag's audit trail as a JSON array.
     *
     * @param key the flag
     * @return the JSON document
     */
    public String historyJson(String key) {
        try {
            return new String(Native.history(live(), key(key)), StandardCharsets.UTF_8);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Frees the engine; idempotent. A running checkpointer is closed first, which
     * checkpoints once more.
     *
     * @throws FeatureFlagsException when that last checkpoint fails (the engine is freed all the same)
     */
    @Override
    public void close() {
        Checkpointer running;
        synchronized (this) {
            running = checkpointer;
        }
        RuntimeException failed = null;
        if (running != null) {
            try {
                running.close();
            } catch (RuntimeException e) {
                failed = e;
            }
        }
        synchronized (listenerLock) {
            synchronized (this) {
                handle = 0;
            }
            listeners.clear();
            free.clean();
        }
        if (failed != null) {
            throw failed;
        }
    }

    /** A no-op native call, to measure the binding's own overhead. */
    static void noop() {
        Native.noop();
    }
}
