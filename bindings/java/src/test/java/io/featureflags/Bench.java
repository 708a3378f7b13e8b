package io.featureflags;

import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * A careful harness (not JMH): per benchmark, warm-up, then the median of 7 timed runs of
 * N calls, results folded into a sink so nothing is optimized away; a no-op JNI call
 * measures the binding's own overhead. Run with ./bench.sh.
 */
public final class Bench {
    static volatile long sink;

    static double nsPerOp(long n, LongSupplier body) {
        for (int i = 0; i < 3; i++) sink += run(n / 2, body);
        double[] samples = new double[7];
        for (int r = 0; r < samples.length; r++) {
            long start = System.nanoTime();
            sink += run(n, body);
            samples[r] = (System.nanoTime() - start) / (double) n;
        }
        Arrays.sort(samples);
        return samples[samples.length / 2];
    }

    static long run(long n, LongSupplier body) {
        long acc = 0;
        for (long i = 0; i < n; i++) acc += body.getAsLong();
        return acc;
    }

    /**
     * Runs the benchmarks.
     *
     * @param args optional: calls per timed run
     * @throws Exception when a worker thread is interrupted
     */
    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 5_000_000L;
        String config = "{\"schema_version\": 1, \"flags\": {\"on\": {\"type\": \"boolean\"},"
                + " \"geo\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]}, \"serve\": \"on\"}]},"
                + " \"half\": {\"type\": \"percentage\", \"percentage\": 50},"
                + " \"layout\": {\"type\": \"multivariate\", \"variants\": {\"classic\": 1, \"pro\": 2}, \"default\": \"classic\"}},"
                + " \"experiments\": {\"btn\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"blue\": 50}, \"metrics\": {\"spend\": \"revenue\"}}}}";
        try (FeatureFlags ff = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("user-1234567").set("country", "US")) {
            ff.loadJson(config);
            ff.assign("btn", ctx);
            double noop = nsPerOp(n, () -> {
                FeatureFlags.noop();
                return 1;
            });
            System.out.printf("%-44s %8.2f ns/op%n", "no-op JNI call", noop);
            for (String flag : new String[] {"on", "geo", "half"}) {
                double t = nsPerOp(n, () -> ff.isEnabled(flag, ctx, false) ? 1 : 0);
                System.out.printf("%-44s %8.2f ns/op  (%+.2f over no-op)%n", "isEnabled(" + flag + ")", t, t - noop);
            }
            System.out.printf("%-44s %8.2f ns/op%n", "variant(layout)", nsPerOp(n, () -> ff.variant("layout", ctx, "").length()));
            System.out.printf("%-44s %8.2f ns/op%n", "assign (already exposed)", nsPerOp(n, () -> ff.assign("btn", ctx).length()));
            System.out.printf("%-44s %8.2f ns/op%n", "track", nsPerOp(n / 4, () -> {
                ff.track("user-1234567", "spend", 12.5);
                return 1;
            }));
            int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
            Thread[] workers = new Thread[threads];
            long perThread = n;
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                workers[t] = new Thread(() -> {
                    try (EvaluationContext c = EvaluationContext.of("user-x").set("country", "US")) {
                        long acc = 0;
                        for (long i = 0; i < perThread; i++) acc += ff.isEnabled("geo", c, false) ? 1 : 0;
                        sink += acc;
                    }
                });
                workers[t].start();
            }
            for (Thread w : workers) w.join();
            double wall = (System.nanoTime() - start) / (double) perThread;
            System.out.printf("%-44s %8.2f ns/op per thread (%d threads)%n", "isEnabled(geo), multi-threaded", wall, threads);
        }
    }
}
