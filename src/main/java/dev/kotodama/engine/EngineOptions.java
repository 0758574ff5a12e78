package dev.kotodama.engine;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits of concurrent generation.
 *
 * @param kvCacheBudgetBytes KV-cache memory that active generations may hold together; a generation is
 *     admitted when its whole cache (prompt plus token limit) fits beside the others'
 * @param maxQueued generations that may wait for admission; one more is refused as busy
 * @param maxGenerationTime how long one generation may run once admitted; then it ends with finish
 *     reason {@link FinishReason#LENGTH}
 */
public record EngineOptions(long kvCacheBudgetBytes, int maxQueued, Duration maxGenerationTime) {

    /** No limit on a generation's time. */
    public static final Duration UNLIMITED = Duration.ofNanos(Long.MAX_VALUE);

    /** Options without a limit on a generation's time. */
    public EngineOptions(long kvCacheBudgetBytes, int maxQueued) {
        this(kvCacheBudgetBytes, maxQueued, UNLIMITED);
    }

    public EngineOptions {
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
