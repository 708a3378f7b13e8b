package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

class FeatureFlagsTest {
    static final String CONFIG = "{\"schema_version\": 1,"
            + " \"flags\": {"
            + "  \"on\": {\"type\": \"boolean\"},"
            + "  \"geo\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"id\": \"na\", \"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]}, \"serve\": \"on\"}]},"
            + "  \"layout\": {\"type\": \"multivariate\", \"variants\": {\"classic\": 1, \"pro\": {\"levels\": 20}}, \"default\": \"classic\"},"
            + "  \"emoji-🚀\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"when\": {\"attr\": \"nick\", \"op\": \"equals\", \"value\": \"a\\u0000b🚀\"}, \"serve\": \"on\"}]},"
            + "  \"router\": {\"type\": \"boolean\", \"default\": \"off\"}},"
            + " \"experiments\": {\"btn\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"blue\": 50}, \"metrics\": {\"buy\": \"conversion\"}}},"
            + " \"rollouts\": {\"router\": {\"flag\": \"router\", \"strategy\": \"linear\", \"start_at\": 1795000000,"
            + "   \"stage_duration\": \"30m\", \"auto_rollback\": true, \"require_health\": false, \"health\": {\"max_error_rate\": 0.02, \"min_samples\": 10}}}}";

    static FeatureFlags engine() {
        FeatureFlags ff = FeatureFlags.create();
        ff.loadJson(CONFIG);
        return ff;
    }

    @Test
    void evaluatesWithDetail() {
        try (FeatureFlags ff = engine(); EvaluationContext ctx = EvaluationContext.of("user-1").set("country", "CA").set("vol", 2.5e6).set("beta", true)) {
            assertTrue(ff.isEnabled("geo", ctx, false));
            Evaluation ev = ff.evaluate("geo", ctx);
            assertEquals("on", ev.variant().orElseThrow());
            assertEquals(Reason.RULE_MATCH, ev.reason());
            assertEquals(0, ev.ruleIndex().getAsInt());
            assertEquals("na", ev.ruleId().orElseThrow());
            assertEquals("true", ev.valueJson().orElseThrow());
            assertEquals("1", ff.evaluate("layout", ctx).valueJson().orElseThrow());
            assertEquals("classic", ff.variant("layout", ctx, "x"));
            assertTrue(ff.isEnabled("layout", ctx, true), "multivariate: caller default");
            assertEquals(Reason.FLAG_NOT_FOUND, ff.evaluate("missing", ctx).reason());
            assertEquals("fallback", ff.variant("missing", ctx, "fallback"));
        }
    }

    @Test
    void typedValuesBatchesAndAllFlags() {
        try (FeatureFlags ff = engine(); EvaluationContext ctx = EvaluationContext.of("user-1").set("country", "CA")) {
            assertTrue(ff.boolValue("geo", ctx, false));
            assertTrue(ff.boolValue("layout", ctx, true), "a number: the default");
            assertFalse(ff.boolValue("layout", ctx, false));
            assertEquals(1.0, ff.doubleValue("layout", ctx, 7.5));
            assertEquals(7.5, ff.doubleValue("missing", ctx, 7.5));
            assertEquals("fallback", ff.stringValue("layout", ctx, "fallback"));
            String[] keys = {"on", "geo", "layout", "missing", "emoji-🚀"};
            Evaluation[] many = ff.evaluateMany(keys, ctx);
            assertEquals(keys.length, many.length);
            for (int i = 0; i < keys.length; i++) {
                Evaluation one = ff.evaluate(keys[i], ctx);
                assertEquals(one.variant(), many[i].variant(), keys[i]);
                assertEquals(one.reason(), many[i].reason(), keys[i]);
                assertEquals(one.ruleIndex(), many[i].ruleIndex(), keys[i]);
                assertEquals(one.ruleId(), many[i].ruleId(), keys[i]);
                assertTrue(many[i].valueJson().isEmpty());
            }
            // More keys than one native chunk.
            String[] lots = new String[100];
            for (int i = 0; i < lots.length; i++) {
                lots[i] = keys[i % keys.length];
            }
            Evaluation[] more = ff.evaluateMany(lots, ctx);
            for (int i = 0; i < lots.length; i++) {
                assertEquals(many[i % keys.length].variant(), more[i].variant());
                assertEquals(many[i % keys.length].reason(), more[i].reason());
            }
            String all = ff.allFlagsJson(ctx);
            assertTrue(all.contains("\"geo\":true") && all.contains("\"$valid\":true"), all);
            EvaluationContext closed = EvaluationContext.of("u2");
            closed.close();
            assertEquals(Reason.ERROR, ff.evaluateMany(keys, closed)[1].reason(), "closed context");
            assertTrue(ff.boolValue("on", closed, true));
        }
    }

    @Test
    void utf8NotModifiedUtf8() {
        try (FeatureFlags ff = engine(); EvaluationContext ctx = EvaluationContext.of("u")) {
            assertFalse(ff.isEnabled("emoji-🚀", ctx, false));
            ctx.set("nick", "a\u0000b🚀");
            assertTrue(ff.isEnabled("emoji-🚀", ctx, false), "emoji key and NUL in a value cross intact");
            assertEquals(Reason.RULE_MATCH, ff.evaluate("emoji-🚀", ctx).reason());
        }
    }

    @Test
    void errorsAreTypedWithMessages() {
        try (FeatureFlags ff = engine(); EvaluationContext ctx = EvaluationContext.of("u")) {
            InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> ff.loadJson(
                    "{\"schema_version\": 1, \"flags\": {\"x\": {\"type\": \"boolean\", \"rules\": [{\"when\": {\"attr\": \"a\", \"op\": \"equal\", \"value\": 1}, \"serve\": \"on\"}]}}}"));
            assertTrue(e.getMessage().contains("flags.x.rules[0].when.op: unknown operator \"equal\""), e.getMessage());
            assertTrue(ff.isEnabled("on", ctx, false), "previous config still serves");
            assertThrows(InvalidArgumentException.class, () -> ctx.set("n", Double.NaN));
            assertThrows(FeatureFlagsIOException.class, () -> ff.loadFile(Path.of("/no/such/file.json")));
            assertThrows(NotFoundException.class, () -> ff.setOverride("nope", "on"));
            assertThrows(InvalidArgumentException.class, () -> ff.setOverride("on", "maybe"));
            assertThrows(InvalidArgumentException.class, () -> FeatureFlags.create("{\"bogus\": 1}"));
        }
    }

    @Test
    void closedHandles() {
        FeatureFlags ff = engine();
        EvaluationContext ctx = EvaluationContext.of("u");
        ff.close();
        ff.close();
        assertTrue(ff.isEnabled("on", ctx, true), "closed engine: default");
        assertEquals("d", ff.variant("layout", ctx, "d"));
        assertNull(ff.assign("btn", ctx));
        assertThrows(IllegalStateException.class, () -> ff.loadJson(CONFIG));
        ctx.close();
        ctx.close();
        assertThrows(IllegalStateException.class, () -> ctx.set("a", "b"));
    }

    @Test
    void closedContextEvaluatesToDefaults() {
        FeatureFlags ff = engine();
        try {
            EvaluationContext ctx = EvaluationContext.of("u").set("country", "CA");
            assertTrue(ff.isEnabled("geo", ctx, false), "open context: the rule serves on");
            ctx.close();
            // Evaluations never throw: a closed context is an invalid argument like the
            // C API's NULL context, so the caller's default, and ERROR where there is a reason.
            assertTrue(ff.isEnabled("on", ctx, true));
            assertFalse(ff.isEnabled("on", ctx, false), "not the flag's \"on\"");
            assertEquals("d", ff.variant("layout", ctx, "d"));
            assertNull(ff.variant("layout", ctx, null));
            Evaluation ev = ff.evaluate("geo", ctx);
            assertEquals(Reason.ERROR, ev.reason());
            assertTrue(ev.variant().isEmpty());
            assertTrue(ev.valueJson().isEmpty());
            assertTrue(ev.ruleIndex().isEmpty());
            assertTrue(ev.ruleId().isEmpty());
            assertNull(ff.assign("btn", ctx));
            assertFalse(ff.inRollout("router", ctx));
            assertEquals(0, ff.experimentResults("btn").exposures(), "no exposure recorded");
            ff.close();
            assertEquals(Reason.ERROR, ff.evaluate("geo", ctx).reason(), "closed engine and context");
        } finally {
            ff.close();
        }
    }

    /** Bytes the current thread allocates over {@code calls} warm calls of {@code body} (the fewest of up to five rounds). */
    static long allocatedBytes(int calls, LongSupplier body) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long sink = 0;
        // Warm-up past C2 compilation and every first-time cache fill.
        for (int i = 0; i < 200_000; i++) sink += body.getAsLong();
        // The fewest bytes of up to five rounds: on a loaded machine C2 may finish compiling
        // during a round, which then runs partly in code that allocates temporaries (C1 does
        // no escape analysis). An allocation per call shows in every round.
        long bytes = Long.MAX_VALUE;
        for (int round = 0; round < 5 && bytes != 0; round++) {
            // What reading the counter itself costs, taken away below.
            long start = threads.getThreadAllocatedBytes(id);
            long overhead = threads.getThreadAllocatedBytes(id) - start;
            long before = threads.getThreadAllocatedBytes(id);
            for (int i = 0; i < calls; i++) sink += body.getAsLong();
            bytes = Math.min(bytes, threads.getThreadAllocatedBytes(id) - before - overhead);
        }
        assertTrue(sink != 42, "keeps the calls live");
        return bytes;
    }

    @Test
    void warmEvaluationsAllocateNothing() {
        try (FeatureFlags ff = engine(); EvaluationContext ctx = EvaluationContext.of("u").set("country", "CA")) {
            int calls = 1_000_000;
            long variant = allocatedBytes(calls, () -> ff.variant("layout", ctx, "x").length());
            long assign = allocatedBytes(calls, () -> ff.assign("btn", ctx).length());
            long enabled = allocatedBytes(calls, () -> ff.isEnabled("geo", ctx, false) ? 1 : 0);
            String perCall = String.format("bytes per call: variant %.2f, assign %.2f, isEnabled %.2f",
                    variant / (double) calls, assign / (double) calls, enabled / (double) calls);
            System.out.println("warmEvaluationsAllocateNothing: " + perCall);
            assertEquals(0, variant, perCall);
            assertEquals(0, assign, perCall);
            assertEquals(0, enabled, perCall);
        }
    }

    @Test
    void aLibraryOfAnotherAbiIsRefused() {
        assertEquals(Native.ABI_VERSION, Native.abiVersion());
        NativeLoader.checkAbi(2, 2);
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.checkAbi(1, 2));
        assertEquals("featureflags: the native library has ABI version 1, this binding needs ABI version 2", e.getMessage());
    }

    @Test
    void namesComeFromTheLibrary() {
        assertEquals("RULE_MATCH", Native.reasonName(Reason.RULE_MATCH.ordinal()));
        assertEquals("UNKNOWN", Native.reasonName(99));
        assertEquals("rolled_back", Native.rolloutStateName(RolloutStatus.State.ROLLED_BACK.ordinal()));
        assertEquals("unknown", Native.rolloutStateName(-1));
        try (FeatureFlags ff = engine()) {
            NotFoundException e = assertThrows(NotFoundException.class, () -> ff.setOverride("nope", "on"));
            assertEquals("NOT_FOUND", e.statusName());
        }
    }

    @Test
    void engineCreationFailuresCarryTheLibrarysStatusAndMessage() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> FeatureFlags.create("{\"bogus\": 1}"));
        assertTrue(e.getMessage().contains("options.bogus"), e.getMessage());
        assertEquals("INVALID_ARGUMENT", e.statusName());
    }

    @Test
    void variantKeysOf64KiBAndMoreComeBackIntact() {
        // A packed (length << 48 | pointer) long could not carry a length of 16 bits or more.
        String huge = "k".repeat(70_000);
        String config = "{\"schema_version\": 1, \"flags\": {\"big\": {\"type\": \"multivariate\", \"variants\": {\""
                + huge + "\": 1, \"small\": 2}, \"default\": \"" + huge + "\"}},"
                + " \"experiments\": {\"exp\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"" + huge + "\": 50},"
                + " \"metrics\": {\"buy\": \"conversion\"}}}}";
        try (FeatureFlags ff = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("u")) {
            ff.loadJson(config);
            ff.declareWinner("exp", huge);
            for (int round = 0; round < 2; round++) {
                assertEquals(huge, ff.variant("big", ctx, null));
                assertEquals(huge, ff.evaluate("big", ctx).variant().orElseThrow());
                assertEquals("1", ff.evaluate("big", ctx).valueJson().orElseThrow());
                assertEquals(huge, ff.assign("exp", ctx));
            }
            ff.setOverride("big", "small");
            assertEquals("small", ff.variant("big", ctx, null));
        }
    }

    @Test
    void evaluatePairsEachVariantWithItsOwnValueDuringReloads() throws InterruptedException {
        String a = "{\"schema_version\": 1, \"flags\": {\"f\": {\"type\": \"multivariate\", \"variants\": {\"x\": 1, \"y\": 2}, \"default\": \"x\"}}}";
        String b = "{\"schema_version\": 1, \"flags\": {\"f\": {\"type\": \"multivariate\", \"variants\": {\"x\": 3, \"y\": 4}, \"default\": \"y\"}}}";
        try (FeatureFlags ff = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("u")) {
            ff.loadJson(a);
            Thread reloader = new Thread(() -> {
                for (int i = 0; i < 1_000; i++) {
                    ff.loadJson(i % 2 == 0 ? b : a);
                }
            });
            reloader.start();
            List<String> mixed = new ArrayList<>();
            while (reloader.isAlive()) {
                Evaluation ev = ff.evaluate("f", ctx);
                String pair = ev.variant().orElseThrow() + "=" + ev.valueJson().orElseThrow();
                if (!pair.equals("x=1") && !pair.equals("y=4")) {
                    mixed.add(pair);
                }
            }
            reloader.join();
            assertTrue(mixed.isEmpty(), "variants paired with another config's value: " + mixed);
        }
    }

    @Test
    void manyVariantKeysComeBackIntact() {
        // Enough distinct interned keys to grow the Java-side cache of their strings several times.
        StringBuilder variants = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            variants.append(i == 0 ? "" : ", ").append("\"v").append(i).append("-🚀\": ").append(i);
        }
        try (FeatureFlags ff = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("u")) {
            ff.loadJson("{\"schema_version\": 1, \"flags\": {\"big\": {\"type\": \"multivariate\", \"variants\": {"
                    + variants + "}, \"default\": \"v0-🚀\"}}}");
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 300; i++) {
                    ff.setOverride("big", "v" + i + "-🚀");
                    assertEquals("v" + i + "-🚀", ff.variant("big", ctx, null));
                }
            }
        }
    }

    @Test
    void overridesSurviveReloads() {
        try (FeatureFlags ff = engine(); EvaluationContext ctx = EvaluationContext.of("u")) {
            ff.setOverride("on", "off");
            ff.loadJson(CONFIG);
            assertFalse(ff.isEnabled("on", ctx, true));
            assertEquals(Reason.OVERRIDE, ff.evaluate("on", ctx).reason());
            ff.clearOverride("on");
            assertTrue(ff.isEnabled("on", ctx, false));
        }
    }

    @Test
    void experimentAndRolloutScenario() {
        try (FeatureFlags ff = engine()) {
            ff.setTime(1795000000000L - 60000);
            for (int i = 0; i < 100; i++) {
                try (EvaluationContext ctx = EvaluationContext.of("u" + i)) {
                    String v = ff.assign("btn", ctx);
                    assertNotNull(v);
                    assertEquals(v, ff.assign("btn", ctx));
                    if (i % 4 == 0) ff.track("u" + i, "buy", 1);
                }
            }
            assertTrue(ff.experimentResultsJson("btn").contains("\"exposures\":100"));
            ExperimentResults results = ff.experimentResults("btn");
            assertEquals(100, results.exposures());
            long users = 0;
            long conversions = 0;
            for (ExperimentResults.VariantResult v : results.metric("buy")) {
                users += v.users();
                conversions += v.conversions();
            }
            assertEquals(100, users);
            assertEquals(25, conversions);
            assertTrue(results.metric("buy").get(1).pValue() != null);
            assertTrue(results.metric("nope").isEmpty());
            assertFalse(results.decision().isEmpty());
            assertThrows(InvalidArgumentException.class, () -> ff.track("u1", "buy", Double.POSITIVE_INFINITY));
            assertTrue(FeatureFlags.analyzeJson("{\"variants\": {\"a\": {\"users\": 100, \"conversions\": 10}, \"b\": {\"users\": 100, \"conversions\": 20}}}").contains("p_value"));
            assertEquals(14748.0, FeatureFlags.sampleSize(0.1, 0.1, 0.05, 0.8), 2.0);

            assertEquals(RolloutStatus.State.PENDING, ff.rolloutStatus("router").state());
            ff.setTime(1795000000000L + 31 * 60000);
            RolloutStatus s = ff.rolloutStatus("router");
            assertEquals(RolloutStatus.State.RUNNING, s.state());
            assertEquals(25.0, s.percentage());
            assertThrows(InvalidStateException.class, () -> ff.resumeRollout("router"));
            ff.reportHealth("router", 0.5, 10, 100);
            assertEquals(RolloutStatus.State.ROLLED_BACK, ff.rolloutStatus("router").state());
            assertThrows(InvalidStateException.class, () -> ff.advanceRollout("router"));
            assertTrue(ff.historyJson("router").contains("health_breach"));
            List<String> events = ff.drainEvents(0);
            assertEquals(100, events.stream().filter(e -> e.contains("\"type\":\"exposure\"")).count());
            assertTrue(ff.drainEvents(0).isEmpty());
        }
    }

    @Test
    void eightThreadsEvaluateWhileOneReloads() throws Exception {
        try (FeatureFlags ff = engine()) {
            AtomicBoolean done = new AtomicBoolean();
            AtomicLong errors = new AtomicLong();
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                final int id = t;
                Thread reader = new Thread(() -> {
                    try (EvaluationContext ctx = EvaluationContext.of("reader-" + id).set("country", "US")) {
                        while (!done.get()) {
                            if (!ff.isEnabled("geo", ctx, false) || !"classic".equals(ff.variant("layout", ctx, null))) {
                                errors.incrementAndGet();
                            }
                        }
                    }
                });
                reader.start();
                readers.add(reader);
            }
            for (int i = 0; i < 200; i++) {
                ff.loadJson(CONFIG);
            }
            done.set(true);
            for (Thread r : readers) r.join();
            assertEquals(0, errors.get());
        }
    }

    @Test
    void hundredThousandContextsLeaveMemoryFlat() {
        // RSS measures native memory only when the Java heap cannot add pages during the
        // loop: the pom fixes its size and pre-touches it. Without that, G1 moving eden onto
        // untouched regions added 4 to 16 MB of noise over 300,000 contexts.
        Runtime rt = Runtime.getRuntime();
        assertEquals(rt.maxMemory(), rt.totalMemory(), "heap fully committed (-Xms = -Xmx)");
        assertTrue(ManagementFactory.getRuntimeMXBean().getInputArguments().contains("-XX:+AlwaysPreTouch"),
                "heap pre-touched (surefire argLine in pom.xml)");
        int contexts = 100_000;
        for (int i = 0; i < 20_000; i++) {
            // Warm-up: JIT and allocator arenas reach their size first, with the same shape.
            try (EvaluationContext ctx = EvaluationContext.of("warm-" + i)) {
                ctx.set("country", "US");
            }
        }
        // A leak grows anonymous memory in every round (without swap it cannot be paged
        // out); JIT compilation and allocator arenas grow it in some. Pass when one round
        // of three stays flat.
        double bytesPerContext = Double.MAX_VALUE;
        for (int round = 0; round < 3 && bytesPerContext >= 8; round++) {
            long before = rssAnonKb();
            for (int i = 0; i < contexts; i++) {
                try (EvaluationContext ctx = EvaluationContext.of("user-" + i)) {
                    ctx.set("country", "US");
                }
            }
            bytesPerContext = Math.min(bytesPerContext, (rssAnonKb() - before) * 1024.0 / contexts);
        }
        // Measured: 0 to 64 KiB of growth over 300,000 contexts, while skipping close() grows
        // RSS by about 370 bytes per context. Leaking even one allocation per context costs
        // at least glibc's smallest chunk, 32 bytes; the bound is a quarter of that.
        assertTrue(bytesPerContext < 8, "anonymous memory grew by " + bytesPerContext + " bytes per context in every round");
    }

    @Test
    void unclosedContextsAreFreedByTheCleaner() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        assertEquals(rt.maxMemory(), rt.totalMemory(), "heap fully committed (-Xms = -Xmx)");
        for (int i = 0; i < 100_000; i++) {
            EvaluationContext.of("warm-" + i).set("country", "US");
        }
        collectUnreachable();
        // Without the cleaner every round of 100,000 unclosed contexts adds about 37 MB
        // (370 bytes each); with it, a round reuses what the previous one freed.
        int contexts = 100_000;
        double bytesPerContext = Double.MAX_VALUE;
        for (int round = 0; round < 3 && bytesPerContext >= 8; round++) {
            long before = rssAnonKb();
            for (int i = 0; i < contexts; i++) {
                EvaluationContext.of("user-" + i).set("country", "US");
            }
            collectUnreachable();
            bytesPerContext = Math.min(bytesPerContext, (rssAnonKb() - before) * 1024.0 / contexts);
        }
        System.out.println("unclosedContextsAreFreedByTheCleaner: " + bytesPerContext + " bytes per context");
        assertTrue(bytesPerContext < 8, "anonymous memory grew by " + bytesPerContext + " bytes per unclosed context in every round");
    }

    @Test
    void unclosedEnginesAndTheirListenersAreFreedByTheCleaner() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        assertEquals(rt.maxMemory(), rt.totalMemory(), "heap fully committed (-Xms = -Xmx)");
        int engines = 2_000;
        double bytesPerEngine = Double.MAX_VALUE;
        for (int round = 0; round < 8 && bytesPerEngine >= 4096; round++) {
            long before = rssAnonKb();
            for (int i = 0; i < engines; i++) {
                FeatureFlags ff = engine();
                ff.addListener(event -> { });
            }
            collectUnreachable();
            // The first rounds size the allocator's arenas; later ones reuse them.
            if (round > 0) {
                bytesPerEngine = Math.min(bytesPerEngine, (rssAnonKb() - before) * 1024.0 / engines);
            }
        }
        System.out.println("unclosedEnginesAndTheirListenersAreFreedByTheCleaner: " + bytesPerEngine + " bytes per engine");
        // Measured: 1.3 to 2.4 KB per engine of allocator growth with the cleaner, 34 KB
        // when the cleaner frees nothing; the bound is an eighth of a leak.
        assertTrue(bytesPerEngine < 4096, "anonymous memory grew by " + bytesPerEngine + " bytes per unclosed engine in every round");
    }

    /** Collects garbage and gives the cleaner thread time to free what it found. */
    static void collectUnreachable() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }

    /**
     * Resident anonymous memory: the kernel may page file-backed pages (the JVM's own code)
     * out and back in at any time, which moves VmRSS by megabytes; anonymous pages stay
     * without swap.
     */
    static long rssAnonKb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("RssAnon:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no RssAnon in /proc/self/status");
    }
}
