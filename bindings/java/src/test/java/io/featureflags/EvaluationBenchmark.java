package io.featureflags;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * JMH benchmarks of the binding (./bench.sh; figures in docs/performance.md). The no-op
 * JNI call is the floor every call pays; A, B and C are the flags of the cross-language
 * table (on for everyone, {@code country in [US, CA, GB]}, a 50% split).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EvaluationBenchmark {
    static final String CONFIG = "{\"schema_version\": 1, \"flags\": {\"on\": {\"type\": \"boolean\"},"
            + " \"geo\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]}, \"serve\": \"on\"}]},"
            + " \"half\": {\"type\": \"percentage\", \"percentage\": 50},"
            + " \"layout\": {\"type\": \"multivariate\", \"variants\": {\"classic\": 1, \"pro\": 2}, \"default\": \"classic\"}},"
            + " \"experiments\": {\"btn\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"blue\": 50}, \"metrics\": {\"spend\": \"revenue\"}}}}";

    /** One engine shared by every thread, as an application holds it. */
    @State(Scope.Benchmark)
    public static class Engine {
        FeatureFlags ff;

        /** Creates and loads the engine. */
        @Setup(Level.Trial)
        public void create() {
            ff = FeatureFlags.create();
            ff.loadJson(CONFIG);
        }

        /** Frees it. */
        @TearDown(Level.Trial)
        public void close() {
            ff.close();
        }
    }

    /** An engine whose evaluation events go to a listener that counts them. */
    @State(Scope.Benchmark)
    public static class ListenedEngine {
        FeatureFlags ff;
        final LongAdder delivered = new LongAdder();

        /** Creates the engine, turns evaluation events on and adds the listener. */
        @Setup(Level.Trial)
        public void create() {
            ff = FeatureFlags.create();
            ff.loadJson(CONFIG);
            ff.addListener(event -> delivered.increment());
            ff.setEvaluationEvents(true);
        }

        /** Frees it. */
        @TearDown(Level.Trial)
        public void close() {
            ff.close();
        }
    }

    /** A context per thread: contexts are not thread-safe. */
    @State(Scope.Thread)
    public static class User {
        EvaluationContext ctx;
        final String[] ids = new String[1024];
        int next;

        /**
         * A user in the US, already exposed to the experiment.
         *
         * @param engine the shared engine
         */
        @Setup(Level.Trial)
        public void create(Engine engine) {
            ctx = EvaluationContext.of("user-1234567").set("country", "US");
            engine.ff.assign("btn", ctx);
            for (int i = 0; i < ids.length; i++) ids[i] = "user-" + i;
        }

        /** Frees it. */
        @TearDown(Level.Trial)
        public void close() {
            ctx.close();
        }
    }

    /** The floor: a static native method that does nothing. */
    @Benchmark
    public void noopJniCall() {
        FeatureFlags.noop();
    }

    /**
     * A: on for everyone.
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    public boolean isEnabledA(Engine e, User u) {
        return e.ff.isEnabled("on", u.ctx, false);
    }

    /**
     * B: a rule on one attribute.
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    public boolean isEnabledB(Engine e, User u) {
        return e.ff.isEnabled("geo", u.ctx, false);
    }

    /**
     * C: a 50% split by user id (one SHA-256).
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    public boolean isEnabledC(Engine e, User u) {
        return e.ff.isEnabled("half", u.ctx, false);
    }

    /**
     * A multivariate flag's variant key, from the per-engine string cache.
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    public String variant(Engine e, User u) {
        return e.ff.variant("layout", u.ctx, "none");
    }

    /**
     * The typed detail: variant, reason, rule and the value's JSON.
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    public Evaluation evaluate(Engine e, User u) {
        return e.ff.evaluate("layout", u.ctx);
    }

    /**
     * A request's context rebuilt for another user (reset + 3 setters), then B.
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    public boolean contextRebuildAndIsEnabledB(Engine e, User u) {
        String id = u.ids[u.next++ & (u.ids.length - 1)];
        u.ctx.reset(id).set("country", "US").set("volume", 2.5e6).set("beta", true);
        return e.ff.isEnabled("geo", u.ctx, false);
    }

    /**
     * An experiment assignment of a user already exposed.
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    public String assign(Engine e, User u) {
        return e.ff.assign("btn", u.ctx);
    }

    /**
     * A revenue metric value.
     *
     * @param e the shared engine
     */
    @Benchmark
    public void track(Engine e) {
        e.ff.track("user-1234567", "spend", 12.5);
    }

    /**
     * A from two threads on one engine (ns per call per thread).
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    @Threads(2)
    public boolean isEnabledATwoThreads(Engine e, User u) {
        return e.ff.isEnabled("on", u.ctx, false);
    }

    /**
     * B from two threads on one engine.
     *
     * @param e the shared engine
     * @param u this thread's user
     * @return the result, consumed by JMH
     */
    @Benchmark
    @Threads(2)
    public boolean isEnabledBTwoThreads(Engine e, User u) {
        return e.ff.isEnabled("geo", u.ctx, false);
    }

    /**
     * A with an evaluation event delivered to a Java listener per call: minus
     * {@link #isEnabledA}, the cost of one delivered event (formatting it included).
     */
    @Benchmark
    public boolean isEnabledAWithListener(ListenedEngine e, User u) {
        return e.ff.isEnabled("on", u.ctx, false);
    }

    /** The ten flags of a page: A, B and C over and over. */
    static final String[] TEN_FLAGS = {"on", "geo", "half", "on", "geo", "half", "on", "geo", "half", "on"};

    /**
     * Ten flags in one call into the library (the target: at least 4× faster than
     * ten isEnabled calls).
     *
     * @param e the engine
     * @param u the user
     * @return the results
     */
    @Benchmark
    public Evaluation[] evaluateManyTen(Engine e, User u) {
        return e.ff.evaluateMany(TEN_FLAGS, u.ctx);
    }

    /** A prepared batch of the ten flags and its results, per thread (results are not thread-safe). */
    @State(Scope.Thread)
    public static class Prepared {
        final FlagBatch ten = FlagBatch.of(TEN_FLAGS);
        final BatchResults tenResults = ten.newResults();
        final FlagBatch distinct = FlagBatch.of(TEN_DISTINCT);
        final BatchResults distinctResults = distinct.newResults();
        final boolean[] switches = new boolean[TEN_FLAGS.length];
    }

    /**
     * The ten flags as a prepared batch, every result read with isEnabled: what replaces
     * ten isEnabled calls (the target: at least 4× faster).
     *
     * @param e the engine
     * @param u the user
     * @param p the prepared batch
     * @return how many are on
     */
    @Benchmark
    public int evaluateBatchTen(Engine e, User u, Prepared p) {
        e.ff.evaluateBatch(p.ten, u.ctx, p.tenResults);
        int on = 0;
        for (int i = 0; i < p.tenResults.size(); i++) {
            if (p.tenResults.isEnabled(i, false)) {
                on++;
            }
        }
        return on;
    }

    /** Ten distinct flags without a split (five like A, five like B). */
    static final String[] TEN_DISTINCT = {"a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"};

    /** An engine with the ten distinct flags. */
    @State(Scope.Benchmark)
    public static class DistinctEngine {
        FeatureFlags ff;

        /** Creates and loads the engine. */
        @Setup(Level.Trial)
        public void create() {
            StringBuilder config = new StringBuilder("{\"schema_version\": 1, \"flags\": {");
            for (int i = 0; i < 5; i++) {
                config.append("\"a").append(i).append("\": {\"type\": \"boolean\"}, \"b").append(i)
                        .append("\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]}, \"serve\": \"on\"}]}")
                        .append(i < 4 ? ", " : "}}");
            }
            ff = FeatureFlags.create();
            ff.loadJson(config.toString());
        }

        /** Frees it. */
        @TearDown(Level.Trial)
        public void close() {
            ff.close();
        }
    }

    /**
     * Ten distinct flags without a split as a prepared batch, every result read.
     *
     * @param e the engine
     * @param u the user
     * @param p the prepared batch
     * @return how many are on
     */
    @Benchmark
    public int evaluateBatchTenDistinct(DistinctEngine e, User u, Prepared p) {
        e.ff.evaluateBatch(p.distinct, u.ctx, p.distinctResults);
        int on = 0;
        for (int i = 0; i < p.distinctResults.size(); i++) {
            if (p.distinctResults.isEnabled(i, false)) {
                on++;
            }
        }
        return on;
    }

    /**
     * The ten distinct flags through isEnabledMany, every answer read: the batch that
     * replaces ten isEnabled calls when only the switches are wanted.
     *
     * @param e the engine
     * @param u the user
     * @param p the prepared batch
     * @return how many are on
     */
    @Benchmark
    public int isEnabledManyTenDistinct(DistinctEngine e, User u, Prepared p) {
        return switchesOn(e.ff, p.distinct, u.ctx, p.switches);
    }

    /** One isEnabledMany of {@code batch} into {@code out}, every answer read. */
    private static int switchesOn(FeatureFlags ff, FlagBatch batch, EvaluationContext ctx, boolean[] out) {
        ff.isEnabledMany(batch, ctx, null, out);
        int on = 0;
        for (boolean b : out) {
            if (b) {
                on++;
            }
        }
        return on;
    }

    /**
     * The ten flags of a page through isEnabledMany, every answer read.
     *
     * @param e the engine
     * @param u the user
     * @param p the prepared batch
     * @return how many are on
     */
    @Benchmark
    public int isEnabledManyTen(Engine e, User u, Prepared p) {
        return switchesOn(e.ff, p.ten, u.ctx, p.switches);
    }

    /**
     * The same ten distinct flags, one isEnabled call each.
     *
     * @param e the engine
     * @param u the user
     * @return how many are on
     */
    @Benchmark
    public int isEnabledTenDistinct(DistinctEngine e, User u) {
        int on = 0;
        for (String key : TEN_DISTINCT) {
            if (e.ff.isEnabled(key, u.ctx, false)) {
                on++;
            }
        }
        return on;
    }

    /**
     * The same ten flags, one isEnabled call each.
     *
     * @param e the engine
     * @param u the user
     * @return how many are on
     */
    @Benchmark
    public int isEnabledTen(Engine e, User u) {
        int on = 0;
        for (String key : TEN_FLAGS) {
            if (e.ff.isEnabled(key, u.ctx, false)) {
                on++;
            }
        }
        return on;
    }

    /**
     * A typed read without JSON: the served boolean.
     *
     * @param e the engine
     * @param u the user
     * @return the value
     */
    @Benchmark
    public boolean boolValueA(Engine e, User u) {
        return e.ff.boolValue("on", u.ctx, false);
    }
}
