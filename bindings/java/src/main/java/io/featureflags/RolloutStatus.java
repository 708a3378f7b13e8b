package io.featureflags;

/** Where a rollout stands ({@code ff_rollout_info}). */
public final class RolloutStatus {
    /** A rollout's state. */
    public enum State {
        /** Before its start. */
        PENDING,
        /** At a stage, progressing. */
        RUNNING,
        /** Held at a stage. */
        PAUSED,
        /** At the last stage. */
        COMPLETED,
        /** Back at 0%. */
        ROLLED_BACK
    }

    private final double[] v;

    RolloutStatus(double[] v) {
        this.v = v.clone();
    }

    /**
     * The state.
     *
     * @return the state
     */
    public State state() {
        return State.values()[(int) v[0]];
    }

    /**
     * The current stage index.
     *
     * @return the stage
     */
    public int stage() {
        return (int) v[1];
    }

    /**
     * The number of stages.
     *
     * @return the count
     */
    public int stages() {
        return (int) v[2];
    }

    /**
     * The current percentage of users inside.
     *
     * @return 0 to 100
     */
    public double percentage() {
        return v[3];
    }

    /**
     * When the current stage began, unix ms.
     *
     * @return the time
     */
    public long stageStartedAtMs() {
        return (long) v[4];
    }

    /**
     * When the next stage begins if health holds, unix ms; -1 when it will not by itself.
     *
     * @return the time or -1
     */
    public long nextStageAtMs() {
        return (long) v[5];
    }

    /**
     * Whether progression is held by a health breach.
     *
     * @return true when held
     */
    public boolean held() {
        return v[6] != 0;
    }

    /**
     * Whether a health report was received.
     *
     * @return true after the first report
     */
    public boolean hasHealth() {
        return v[7] != 0;
    }

    /**
     * The last reported error rate.
     *
     * @return the rate (0 before any report)
     */
    public double lastErrorRate() {
        return v[8];
    }

    /**
     * The last reported sample count.
     *
     * @return the samples
     */
    public long lastSamples() {
        return (long) v[10];
    }
}
