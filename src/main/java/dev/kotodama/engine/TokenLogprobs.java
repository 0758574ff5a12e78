package dev.kotodama.engine;

import java.util.Arrays;

/**
 * Log probabilities at one generated token: the log-softmax of the model's own logits at that step,
 * before any penalty, temperature or truncation (what OpenAI's and vLLM's {@code logprobs} report).
 *
 * @param logprob the generated token's
 * @param topIds the most probable tokens, most probable first (ties: the lower id first)
 * @param topLogprobs theirs, in the same order
 */
public record TokenLogprobs(float logprob, int[] topIds, float[] topLogprobs) {

    /** The most alternatives a request may ask for, as OpenAI's {@code top_logprobs}. */
    public static final int MAX_TOP = 20;

    public TokenLogprobs {
        if (topIds.length != topLogprobs.length) {
            throw new IllegalArgumentException("topIds and topLogprobs must be as many");
        }
        topIds = topIds.clone();
        topLogprobs = topLogprobs.clone();
    }

    /**
     * From one step's logits: the log-softmax (in double precision) at {@code token}, and the {@code top}
     * most probable tokens.
     */
    public static TokenLogprobs of(float[] logits, int token, int top) {
        if (top < 0 || top > MAX_TOP) {
            throw new IllegalArgumentException("top must be 0 to " + MAX_TOP + ", got " + top);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        double normalizer = max + Math.log(sum);
        int[] ids = new int[Math.min(top, logits.length)];
        float[] values = new float[ids.length];
        int held = 0;
        for (int id = 0; id < logits.length && ids.length > 0; id++) { // insertion into the few best so far
            float logit = logits[id];
            if (held == ids.length && logit <= values[held - 1]) {
                continue;
            }
            int at = Math.min(held, ids.length - 1);
            while (at > 0 && values[at - 1] < logit) {
                ids[at] = ids[at - 1];
                values[at] = values[at - 1];
                at--;
            }
            ids[at] = id;
            values[at] = logit;
            held = Math.min(held + 1, ids.length);
        }
        float[] logprobs = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            logprobs[i] = (float) (values[i] - normalizer);
        }
        return new TokenLogprobs((float) (logits[token] - normalizer), ids, logprobs);
    }

    @Override
    public int[] topIds() {
        return topIds.clone();
    }

    @Override
    public float[] topLogprobs() {
        return topLogprobs.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TokenLogprobs that && Float.compare(logprob, that.logprob) == 0
                && Arrays.equals(topIds, that.topIds) && Arrays.equals(topLogprobs, that.topLogprobs);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Float.hashCode(logprob) + Arrays.hashCode(topIds)) + Arrays.hashCode(topLogprobs);
    }

    @Override
    public String toString() {
        return "TokenLogprobs[logprob=" + logprob + ", topIds=" + Arrays.toString(topIds) + ", topLogprobs="
                + Arrays.toString(topLogprobs) + "]";
    }
}
