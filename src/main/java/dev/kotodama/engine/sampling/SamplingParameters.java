package dev.kotodama.engine.sampling;

import org.jspecify.annotations.Nullable;

/**
 * How the next token is chosen, with the meaning of Hugging Face transformers' generation options.
 *
 * @param temperature divides the logits before the softmax; {@code 0} means greedy decoding
 *     (top-k, top-p, min-p and the seed then have no effect)
 * @param topK keeps the {@code topK} most probable tokens and any tied with the last of them;
 *     {@code 0} turns it off
 * @param topP keeps the smallest set of most probable tokens whose probabilities add up to at least
 *     {@code topP}; {@code 1} turns it off
 * @param minP drops tokens less probable than {@code minP} times the most probable one; {@code 0}
 *     turns it off
 * @param repetitionPenalty divides the positive logits, and multiplies the others, of every token
 *     already in the history (prompt and generated); {@code 1} turns it off, values below 1 reward
 *     repetition
 * @param seed the seed of the sampler's random generator, or {@code null} for a random seed
 * @param frequencyPenalty OpenAI's: lowers each token's logit by this much per time it was generated so
 *     far, in [-2, 2]; {@code 0} turns it off
 * @param presencePenalty OpenAI's: lowers the logit of every token generated so far by this much, in
 *     [-2, 2]; {@code 0} turns it off
 */
public record SamplingParameters(double temperature, int topK, double topP, double minP, double repetitionPenalty,
        @Nullable Long seed, double frequencyPenalty, double presencePenalty) {

    /** Parameters without OpenAI's frequency and presence penalties. */
    public SamplingParameters(double temperature, int topK, double topP, double minP, double repetitionPenalty,
            @Nullable Long seed) {
        this(temperature, topK, topP, minP, repetitionPenalty, seed, 0, 0);
    }

    public SamplingParameters {
        if (!(temperature >= 0 && Double.isFinite(temperature))) {
            throw new IllegalArgumentException(
                    "temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
        }
        if (!(repetitionPenalty > 0 && Double.isFinite(repetitionPenalty))) {
            throw new IllegalArgumentException("repetitionPenalty must be a finite number > 0 (1 = off), got "
                    + repetitionPenalty);
        }
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) {
            throw new IllegalArgumentException("frequencyPenalty must be in [-2, 2] (0 = off), got " + frequencyPenalty);
        }
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) {
            throw new IllegalArgumentException("presencePenalty must be in [-2, 2] (0 = off), got " + presencePenalty);
        }
    }

    /** Greedy decoding: always the most probable token. */
    public static SamplingParameters greedy() {
        return new SamplingParameters(0, 0, 1, 0, 1, null);
    }

    /** The sampling the LLM-jp-4 cookbook recommends: temperature 0.7, top-p 0.9, nothing else. */
    public static SamplingParameters llmJp4Cookbook() {
        return new SamplingParameters(0.7, 0, 0.9, 0, 1, null);
    }

    /** These parameters with another seed. */
    public SamplingParameters withSeed(@Nullable Long seed) {
        return new SamplingParameters(temperature, topK, topP, minP, repetitionPenalty, seed, frequencyPenalty,
                presencePenalty);
    }

    /** Whether any of top-k, top-p and min-p removes tokens before the draw. */
    boolean truncates() {
        return topK > 0 || topP < 1 || minP > 0;
    }
}
