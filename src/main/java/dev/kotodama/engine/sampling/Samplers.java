package dev.kotodama.engine.sampling;

import java.util.Objects;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

import org.jspecify.annotations.Nullable;

/**
 * Builds the sampler for one generation, applying the steps in the order of transformers'
 * {@code generate}: repetition penalty, then temperature, top-k, top-p, min-p, and the draw.
 */
public final class Samplers {

    private Samplers() {
    }

    /**
     * A new sampler for one generation. With a seed, the same logits and histories give the same
     * tokens; each call returns an instance with its own random generator and buffers.
     */
    public static Sampler create(SamplingParameters parameters) {
        Objects.requireNonNull(parameters, "parameters must not be null");
        Sampler sampler = (parameters.temperature() == 0) ? Sampler.GREEDY
                : new SoftmaxSampler(parameters, randomGenerator(parameters.seed()));
        return (parameters.repetitionPenalty() == 1) ? sampler
                : new RepetitionPenalty((float) parameters.repetitionPenalty(), sampler);
    }

    private static RandomGenerator randomGenerator(@Nullable Long seed) {
        return (seed != null) ? new SplittableRandom(seed) : new SplittableRandom();
    }
}
