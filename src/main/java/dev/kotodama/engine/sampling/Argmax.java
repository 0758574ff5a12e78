package dev.kotodama.engine.sampling;

/** The index of the largest logit, shared by greedy decoding and the sampler's softmax. */
final class Argmax {

    private Argmax() {
    }

    /** Returns the lowest index of the largest value, rejecting NaN and empty input. */
    static int of(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("logits must not be empty");
        }
        int best = 0;
        float bestValue = logits[0];
        if (Float.isNaN(bestValue)) {
            throw nanAt(0);
        }
        for (int i = 1; i < logits.length; i++) {
            float value = logits[i];
            if (value > bestValue) {
                bestValue = value;
                best = i;
            }
            else if (value != value) {
                throw nanAt(i);
            }
        }
        return best;
    }

    private static IllegalArgumentException nanAt(int index) {
        return new IllegalArgumentException("logits[" + index + "] is NaN");
    }
}
