package dev.kotodama.engine;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits of concurrent generation.
 *
 * @param kvCacheBudgetBytes KV-cache memory of all generations together, split into {@code maxBatch}
 *     sequences of equal length (at most the model's context); the engine allocates it at its start
 * @param maxQueued generations that may wait for admission; one more is refused as busy
 * @param maxGenerationTime how long one generation may run once admitted; then it ends with finish
 *     reason {@link FinishReason#LENGTH}
 * @param maxBatch generations that run at once, their decode steps batched into one run
 * @param prefillChunk the most prompt tokens of one prefill run (one per engine step, between the batched
 *     decode steps)
 * @param prefillPace while generations are decoding, a prefill chunk is cut to take about this many times
 *     as long as their decode step, so that their token gaps grow to about 1 + pace times while a prompt
 *     fills; 0: every chunk takes {@code prefillChunk} tokens (see {@link PrefillPacer})
 */
public record EngineOptions(long kvCacheBudgetBytes, int maxQueued, Duration maxGenerationTime, int maxBatch,
        int prefillChunk, double prefillPace) {

    /** No limit on a generation's time. */
    public static final Duration UNLIMITED = Duration.ofNanos(Long.MAX_VALUE);

    /** Generations that run at once unless set. */
    public static final int DEFAULT_MAX_BATCH = 8;

    /** Prompt tokens prefilled per step unless set. */
    public static final int DEFAULT_PREFILL_CHUNK = 128;

    /** A prefill chunk's time while generations decode, in their decode steps, unless set. */
    public static final double DEFAULT_PREFILL_PACE = 2;

    /** Options without a limit on a generation's time, with the default batch and prefill chunk. */
    public EngineOptions(long kvCacheBudgetBytes, int maxQueued) {
        this(kvCacheBudgetBytes, maxQueued, UNLIMITED);
    }

    /** Options with the default batch and prefill chunk. */
    public EngineOptions(long kvCacheBudgetBytes, int maxQueued, Duration maxGenerationTime) {
        this(kvCacheBudgetBytes, maxQueued, maxGenerationTime, DEFAULT_MAX_BATCH, DEFAULT_PREFILL_CHUNK);
    }

    /** Options whose prefill chunks all take {@code prefillChunk} tokens (no pacing: the same runs every time). */
    public EngineOptions(long kvCacheBudgetBytes, int maxQueued, Duration maxGenerationTime, int maxBatch,
            int prefillChunk) {
        this(kvCacheBudgetBytes, maxQueued, maxGenerationTime, maxBatch, prefillChunk, 0);
    }

    public EngineOptions {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1, got " + maxBatch);
        }
        if (prefillChunk < 1) {
            throw new IllegalArgumentException("prefillChunk must be at least 1, got " + prefillChunk);
        }
        if (!(prefillPace >= 0) || Double.isInfinite(prefillPace)) {
            throw new IllegalArgumentException("prefillPace must be 0 or more, got " + prefillPace);
        }
        Objects.requireNonNull(maxGenerationTime, "maxGenerationTime must not be null");
        if (maxGenerationTime.isNegative() || maxGenerationTime.isZero() || maxGenerationTime.compareTo(UNLIMITED) > 0) {
            throw new IllegalArgumentException("maxGenerationTime must be positive and at most " + UNLIMITED + ", got "
                    + maxGenerationTime);
        }
        if (kvCacheBudgetBytes < 1) {
            throw new IllegalArgumentException("kvCacheBudgetBytes must be positive, got " + kvCacheBudgetBytes);
        }
        if (maxQueued < 0) {
            throw new IllegalArgumentException("maxQueued must be 0 or more, got " + maxQueued);
        }
    }
}
