package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class ListenerTest {
    /** See src/test/c/native_thread.c: an override set on a new native thread, joined. */
    static native int setOverrideOnNativeThread(long engine);

    @Test
    void anEventFromANativeThreadAttachesItAsADaemonAndDetachesItAtExit() throws Exception {
        System.load(Path.of("target/test-classes/libffnativethread.so").toAbsolutePath().toString());
        try (FeatureFlags ff = FeatureFlagsTest.engine()) {
            List<String> seen = Collections.synchronizedList(new ArrayList<>());
            ff.addListener(event -> {
                Thread t = Thread.currentThread();
                seen.add(event.type() + " daemon=" + t.isDaemon());
            });
            Field handle = FeatureFlags.class.getDeclaredField("handle");
            handle.setAccessible(true);
            Set<Thread> before = Thread.getAllStackTraces().keySet();
            for (int i = 0; i < 20; i++) {
                assertEquals(0, setOverrideOnNativeThread(handle.getLong(ff)));
            }
            assertEquals(20, seen.size(), seen.toString());
            assertEquals("override_set daemon=true", seen.get(0));
            // Detached at thread exit: no Java thread is left behind by the 20 native ones.
            Set<Thread> after = new HashSet<>(Thread.getAllStackTraces().keySet());
            after.removeAll(before);
            assertEquals(Set.of(), after);
        }
    }
    @Test
    void eventsGoToListenersInsteadOfTheQueueUntilTheLastIsRemoved() {
        try (FeatureFlags ff = FeatureFlags.create()) {
            List<Event> first = Collections.synchronizedList(new ArrayList<>());
            List<Event> second = Collections.synchronizedList(new ArrayList<>());
            Consumer<Event> a = first::add;
            Consumer<Event> b = second::add;
            ff.addListener(a);
            ff.addListener(b);
            ff.loadJson(FeatureFlagsTest.CONFIG);
            ff.setOverride("layout", "pro");
            assertEquals(List.of(), ff.drainEvents(0), "delivered, not queued");
            assertEquals(List.of("config_loaded", "override_set"), types(first));
            assertEquals(List.of("config_loaded", "override_set"), types(second));
            assertEquals("pro", first.get(1).fields().get("variant"));
            assertEquals(first.get(0).seq() + 1, first.get(1).seq());

            assertTrue(ff.removeListener(a));
            assertFalse(ff.removeListener(a), "already removed");
            ff.clearOverride("layout");
            assertEquals(2, first.size());
            assertEquals(List.of("config_loaded", "override_set", "override_cleared"), types(second));

            assertTrue(ff.removeListener(b));
            ff.setOverride("layout", "pro");
            List<String> queued = ff.drainEvents(0);
            assertEquals(1, queued.size(), "queued again: " + queued);
            assertTrue(queued.get(0).contains("\"type\":\"override_set\""), queued.get(0));
        }
    }

    private static List<String> types(List<Event> events) {
        List<String> types = new ArrayList<>();
        synchronized (events) {
            for (Event e : events) types.add(e.type());
        }
        return types;
    }

    @Test
    void insideAListenerChangesAreRefusedAndReadsWork() {
        try (FeatureFlags ff = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("u").set("country", "CA")) {
            List<String> seen = Collections.synchronizedList(new ArrayList<>());
            ff.addListener(event -> {
                if (!event.type().equals("override_set")) return;
                seen.add("geo=" + ff.isEnabled("geo", ctx, false));
                seen.add("variant=" + ff.variant("layout", ctx, "none"));
                ff.track("u", "buy", 1);
                for (Runnable change : List.<Runnable>of(
                        () -> ff.loadJson(FeatureFlagsTest.CONFIG),
                        () -> ff.clearOverride("layout"),
                        () -> ff.setTime(1),
                        () -> ff.addListener(e -> { }))) {
                    try {
                        change.run();
                        seen.add("changed");
                    } catch (InvalidStateException refused) {
                        seen.add("refused: " + refused.getMessage());
                    }
                }
            });
            ff.loadJson(FeatureFlagsTest.CONFIG);
            ff.setOverride("layout", "pro");
            assertEquals(6, seen.size(), seen.toString());
            assertEquals("geo=true", seen.get(0));
            assertEquals("variant=pro", seen.get(1), "the override is in place when its event is delivered");
            for (String s : seen.subList(2, 6)) assertTrue(s.startsWith("refused: "), seen.toString());
            assertTrue(seen.get(2).contains("listener"), seen.get(2));
            assertEquals("pro", ff.variant("layout", ctx, "none"), "the refused clearOverride changed nothing");
        }
    }

    @Test
    void aThrowingListenerGoesToTheUncaughtHandlerAndOthersStillReceive() throws Exception {
        try (FeatureFlags ff = FeatureFlags.create()) {
            AtomicReference<Throwable> uncaught = new AtomicReference<>();
            AtomicLong received = new AtomicLong();
            ff.addListener(e -> {
                throw new IllegalArgumentException("listener bug");
            });
            ff.addListener(e -> received.incrementAndGet());
            Thread t = new Thread(() -> ff.loadJson(FeatureFlagsTest.CONFIG));
            t.setUncaughtExceptionHandler((thread, e) -> uncaught.set(e));
            t.start();
            t.join();
            assertEquals("listener bug", uncaught.get().getMessage());
            assertEquals(1, received.get());
            try (EvaluationContext ctx = EvaluationContext.of("u")) {
                assertTrue(ff.evaluate("on", ctx).variant().isPresent(), "the load went through");
            }
        }
    }

    @Test
    void eventsFromManyThreadsAllArriveAndRemovalWaitsForRunningDeliveries() throws Exception {
        try (FeatureFlags ff = FeatureFlags.create()) {
            ff.loadJson(FeatureFlagsTest.CONFIG);
            ff.setEvaluationEvents(true);
            AtomicLong delivered = new AtomicLong();
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Consumer<Event> slow = e -> {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
                delivered.incrementAndGet();
            };
            ff.addListener(slow);
            Thread evaluator = new Thread(() -> {
                try (EvaluationContext ctx = EvaluationContext.of("u")) {
                    ff.isEnabled("on", ctx, false);
                }
            });
            evaluator.start();
            inside.await();
            Thread remover = new Thread(() -> ff.removeListener(slow));
            remover.start();
            remover.join(300);
            assertTrue(remover.isAlive(), "removal waits for the running delivery");
            release.countDown();
            remover.join();
            evaluator.join();
            assertEquals(1, delivered.get());

            AtomicLong counted = new AtomicLong();
            ff.addListener(e -> counted.incrementAndGet());
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int id = i;
                threads.add(new Thread(() -> {
                    try (EvaluationContext ctx = EvaluationContext.of("user-" + id)) {
                        for (int n = 0; n < 10_000; n++) ff.isEnabled("on", ctx, false);
                    }
                }));
            }
            for (Thread t : threads) t.start();
            for (Thread t : threads) t.join();
            assertEquals(40_000, counted.get(), "one evaluation event per evaluation, none lost");
            assertEquals(0, ff.eventsDropped());
        }
    }

    @Test
    void aClosedEngineRefusesListenersAndCloseRemovesThem() {
        FeatureFlags ff = FeatureFlags.create();
        ff.addListener(e -> { });
        ff.close();
        assertThrows(IllegalStateException.class, () -> ff.addListener(e -> { }));
    }
}
