package io.featureflags;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Checkpoints a durable engine on a daemon thread every interval, and once more when it is
 * closed; see {@link FeatureFlags#startCheckpointing}. A failed background checkpoint is
 * kept as {@link #lastError()} and the next one tries again, losing nothing.
 */
public final class Checkpointer implements AutoCloseable {
    private final FeatureFlags engine;
    private final Duration every;
    private final ScheduledExecutorService executor;
    private volatile RuntimeException lastError;
    private boolean closed;
    private RuntimeException finalError;

    Checkpointer(FeatureFlags engine, Duration every) {
        if (every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("every: the interval must be positive, got " + every);
        }
        this.engine = engine;
        this.every = every;
        this.executor = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread t = new Thread(task, "featureflags-checkpointer");
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        long nanos = every.toNanos();
        executor.scheduleWithFixedDelay(this::tick, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    private void tick() {
        try {
            engine.checkpoint();
            lastError = null;
        } catch (RuntimeException e) {
            lastError = e;
        }
    }

    /**
     * The error of the most recent background checkpoint, null after a good one.
     *
     * @return the error, or null
     */
    public RuntimeException lastError() {
        return lastError;
    }

    /**
     * Stops the thread, waits for a checkpoint in progress, and checkpoints once more.
     * Idempotent: later calls throw what the first one threw, if anything.
     *
     * @throws FeatureFlagsException when the last checkpoint fails
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            executor.shutdownNow();
            boolean interrupted = false;
            while (true) {
                try {
                    if (executor.awaitTermination(1, TimeUnit.MINUTES)) {
                        break;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            engine.checkpointerStopped(this);
            try {
                engine.checkpoint();
            } catch (RuntimeException e) {
                finalError = e;
            }
        }
        if (finalError != null) {
            throw finalError;
        }
    }
}
