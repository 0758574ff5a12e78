package dev.kotodama.engine;

/**
 * Limits of concurrent generation.
 *
 * @param kvCacheBudgetBytes KV-cache memory that active generations may hold together; a generation is
 *     admitted when its whole cache (prompt plus token limit) fits beside the others'
 * @param maxQueued generations that may wait for admission; one more is refused as busy
 */
public record EngineOptions(long kvCacheBudgetBytes, int maxQueued) {

    public EngineOptions {
        if (kvCacheBudgetBytes < 1) {
            throw new IllegalArgumentException("kvCacheBudgetBytes must be positive, got " + kvCacheBudgetBytes);
        }
        if (maxQueued < 0) {
            throw new IllegalArgumentException("maxQueued must be 0 or more, got " + maxQueued);
        }
    }
}
