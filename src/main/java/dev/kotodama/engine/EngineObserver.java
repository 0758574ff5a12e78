package dev.kotodama.engine;

/**
 * Watches the engine's generations as their events reach their consumers: what metrics need. Called on
 * the consumer's thread; implementations must be quick and thread-safe.
 */
public interface EngineObserver {

    /** Watches nothing. */
    EngineObserver NONE = new EngineObserver() {
    };

    /**
     * A generated token.
     *
     * @param index its position in the generation (0: the first, which came out of the prefill)
     * @param nanosSincePrevious time since the previous token, or since the generation started for the first
     */
    default void token(int index, long nanosSincePrevious) {
    }

    /** A generation's end. */
    default void finished(GenerationEvent.Finished finished) {
    }
}
