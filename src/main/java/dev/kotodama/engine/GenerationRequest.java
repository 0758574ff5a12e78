package dev.kotodama.engine;

import java.util.Arrays;
import java.util.BitSet;
import java.util.Objects;
import java.util.Set;

import dev.kotodama.engine.sampling.SamplingParameters;

/**
 * One generation to run.
 *
 * @param promptIds the rendered prompt's token ids
 * @param sampling how each token is picked
 * @param maxTokens the most tokens to generate
 * @param stopTokenIds ids that end the generation besides the model's own stop ids
 * @param logprobs {@link #NO_LOGPROBS}, or each token's {@link TokenLogprobs} with this many most probable
 *     alternatives (0 to {@link TokenLogprobs#MAX_TOP})
 * @param unpenalizedIds ids that the frequency and presence penalties neither count nor penalize: the
 *     model's control tokens, which a chat format repeats in every turn
 */
public record GenerationRequest(int[] promptIds, SamplingParameters sampling, int maxTokens, Set<Integer> stopTokenIds,
        int logprobs, BitSet unpenalizedIds) {

    /** No log probabilities. */
    public static final int NO_LOGPROBS = -1;

    public GenerationRequest {
        Objects.requireNonNull(promptIds, "promptIds must not be null");
        Objects.requireNonNull(sampling, "sampling must not be null");
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("promptIds must not be empty");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
        }
        if (logprobs < NO_LOGPROBS || logprobs > TokenLogprobs.MAX_TOP) {
            throw new IllegalArgumentException("logprobs must be " + NO_LOGPROBS + " (none) to " + TokenLogprobs.MAX_TOP
                    + ", got " + logprobs);
        }
        promptIds = promptIds.clone();
        stopTokenIds = Set.copyOf(stopTokenIds);
        unpenalizedIds = (BitSet) unpenalizedIds.clone();
    }

    public GenerationRequest(int[] promptIds, SamplingParameters sampling, int maxTokens, Set<Integer> stopTokenIds) {
        this(promptIds, sampling, maxTokens, stopTokenIds, NO_LOGPROBS, new BitSet());
    }

    public GenerationRequest(int[] promptIds, SamplingParameters sampling, int maxTokens) {
        this(promptIds, sampling, maxTokens, Set.of());
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    @Override
    public BitSet unpenalizedIds() {
        return (BitSet) unpenalizedIds.clone();
    }

    /** Tokens of KV cache the generation needs at most (a long: a prompt plus a max tokens near int's limit). */
    public long capacity() {
        return (long) promptIds.length + maxTokens;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof GenerationRequest that && Arrays.equals(promptIds, that.promptIds)
                && sampling.equals(that.sampling) && maxTokens == that.maxTokens && stopTokenIds.equals(that.stopTokenIds)
                && logprobs == that.logprobs && unpenalizedIds.equals(that.unpenalizedIds);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(promptIds), sampling, maxTokens, stopTokenIds, logprobs, unpenalizedIds);
    }

    @Override
    public String toString() {
        return "GenerationRequest[promptTokens=" + promptIds.length + ", sampling=" + sampling + ", maxTokens=" + maxTokens
                + ", stopTokenIds=" + stopTokenIds + ", logprobs=" + logprobs
                + ", unpenalizedIds=" + unpenalizedIds.cardinality() + " ids]";
    }
}
