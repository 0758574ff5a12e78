package dev.kotodama.engine.sampling;

import java.util.BitSet;

/**
 * OpenAI's frequency and presence penalties: a token generated {@code c} times so far has its logit
 * lowered by {@code c · frequency}, and by {@code presence} once if {@code c > 0}. Only generated tokens
 * count, as in OpenAI's "the text so far" of the completion and in vLLM; control tokens (the model's
 * special tokens, which a chat format repeats in every turn) neither count nor are penalized. The
 * penalized copy goes to the next sampler.
 */
final class FrequencyPresencePenalty implements Sampler {

    private final float frequency;

    private final float presence;

    private final BitSet exempt;

    private final Sampler next;

    private float[] penalized = new float[0]; // [vocabulary]

    private int[] counts = new int[0]; // [vocabulary], zero outside a call

    FrequencyPresencePenalty(float frequency, float presence, BitSet exempt, Sampler next) {
        this.frequency = frequency;
        this.presence = presence;
        this.exempt = (BitSet) exempt.clone();
        this.next = next;
    }

    @Override
    public int sample(float[] logits, TokenHistory history) {
        if (penalized.length != logits.length) {
            penalized = new float[logits.length];
            counts = new int[logits.length];
        }
        System.arraycopy(logits, 0, penalized, 0, logits.length);
        for (int i = history.promptSize(); i < history.size(); i++) {
            int tokenId = history.get(i);
            if (tokenId >= logits.length) {
                throw new IllegalArgumentException("history token " + tokenId + " is outside the vocabulary of "
                        + logits.length + " logits");
            }
            if (!exempt.get(tokenId)) {
                counts[tokenId]++;
            }
        }
        for (int i = history.promptSize(); i < history.size(); i++) {
            int tokenId = history.get(i);
            int count = counts[tokenId];
            if (count > 0) {
                penalized[tokenId] = logits[tokenId] - count * frequency - presence;
                counts[tokenId] = 0; // once per id, and zero again for the next call
            }
        }
        return next.sample(penalized, history);
    }
}
