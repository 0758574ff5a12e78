package dev.kotodama.engine.sampling;

/**
 * The CTRL repetition penalty, as transformers' {@code RepetitionPenaltyLogitsProcessor} applies it:
 * every token id in the history, counted once however often it occurs, has its logit divided by the
 * penalty when positive and multiplied by it otherwise. The penalized copy goes to the next sampler.
 */
final class RepetitionPenalty implements Sampler {

    private final float penalty;

    private final Sampler next;

    private float[] penalized = new float[0]; // [vocabulary], the caller's logits with the penalty applied

    RepetitionPenalty(float penalty, Sampler next) {
        this.penalty = penalty;
        this.next = next;
    }

    @Override
    public int sample(float[] logits, TokenHistory history) {
        if (penalized.length != logits.length) {
            penalized = new float[logits.length];
        }
        System.arraycopy(logits, 0, penalized, 0, logits.length);
        for (int i = 0; i < history.size(); i++) {
            int tokenId = history.get(i);
            if (tokenId >= logits.length) {
                throw new IllegalArgumentException("history token " + tokenId + " is outside the vocabulary of "
                        + logits.length + " logits");
            }
            float logit = logits[tokenId]; // read from the source, so repeated ids are penalized once
            penalized[tokenId] = (logit < 0) ? logit * penalty : logit / penalty;
        }
        return next.sample(penalized, history);
    }
}
