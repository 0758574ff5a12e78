package dev.kotodama.engine.sampling;

/**
 * Picks the next token id from the logits of one decode step.
 *
 * <p>A sampler never writes to the {@code logits} or the {@code history} it is given: the caller may
 * reuse its logits buffer for the next step as soon as {@code sample} returns. Samplers made by
 * {@link Samplers#create(SamplingParameters)} hold their own random generator and scratch buffers,
 * so each belongs to one generation and one thread at a time; {@link #GREEDY} is stateless and may
 * be shared.
 */
@FunctionalInterface
public interface Sampler {

    /**
     * The most probable token: the index of the largest logit, the lowest such index on ties.
     * {@code -Infinity} logits are allowed; a NaN logit is rejected.
     */
    Sampler GREEDY = (logits, history) -> Argmax.of(logits);

    /**
     * @param logits the scores of one decode step, one per vocabulary entry // [vocabulary]
     * @param history the prompt and the tokens generated so far, seen by the repetition penalty
     * @return the chosen token id, in {@code [0, logits.length)}
     * @throws IllegalArgumentException if the logits are empty or contain NaN, or if the history holds
     *     an id outside the vocabulary
     */
    int sample(float[] logits, TokenHistory history);
}
