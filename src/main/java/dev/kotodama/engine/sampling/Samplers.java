package dev.kotodama.engine.sampling;

import java.util.BitSet;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

import org.jspecify.annotations.Nullable;

/**
 * Builds the sampler for one generation, applying the steps in the order of transformers'
 * {@code generate}: repetition penalty, then OpenAI's frequency and presence penalties (after the
 * repetition penalty, as vLLM applies them), temperature, top-k, top-p, min-p, and the draw.
 */
public final class Samplers {

    private Samplers() {
    }

    /**
     * A new sampler for one generation. With a seed, the same logits and histories give the same
     * tokens; each call returns an instance with its own random generator and buffers.
     */
    public static Sampler create(SamplingParameters parameters) {
        return create(parameters, new BitSet());
    }

    /**
     * {@link #create(SamplingParameters)} whose frequency and presence penalties neither count nor
     * penalize the ids in {@code unpenalized} (the model's control tokens).
     */
    public static Sampler create(SamplingParameters parameters, BitSet unpenalized) {
        Objects.requireNonNull(parameters, "parameters must not be null");
        Objects.requireNonNull(unpenalized, "unpenalized must not be null");
        Sampler sampler = (parameters.temperature() == 0) ? Sampler.GREEDY
                : new SoftmaxSampler(parameters, randomGenerator(parameters.seed()));
        if (parameters.frequencyPenalty() != 0 || parameters.presencePenalty() != 0) {
            sampler = new FrequencyPresencePenalty((float) parameters.frequencyPenalty(),
                    (float) parameters.presencePenalty(), unpenalized, sampler);
        }
        return (parameters.repetitionPenalty() == 1) ? sampler
                : new RepetitionPenalty((float) parameters.repetitionPenalty(), sampler);
    }

    private static RandomGenerator randomGenerator(@Nullable Long seed) {
        return (seed != null) ? new SplittableRandom(seed) : new SplittableRandom();
    }
}
