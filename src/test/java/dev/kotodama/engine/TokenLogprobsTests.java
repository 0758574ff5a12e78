package dev.kotodama.engine;

import java.util.Random;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;

class TokenLogprobsTests {

    /** log-softmax in the plainest form, as a reference (for logits small enough not to overflow exp). */
    static double[] logSoftmax(float[] logits) {
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit);
        }
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - Math.log(sum);
        }
        return out;
    }

    @Test
    void theTokensLogprobAndTheTopOnesAreTheLogSoftmaxOfTheLogits() {
        Random random = new Random(5);
        float[] logits = new float[196_608];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (random.nextGaussian() * 3);
        }
        double[] reference = logSoftmax(logits);
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(reference[b], reference[a]));

        TokenLogprobs logprobs = TokenLogprobs.of(logits, 1234, 20);

        assertThat((double) logprobs.logprob()).isCloseTo(reference[1234], within(1e-5));
        for (int i = 0; i < 20; i++) {
            assertThat(logprobs.topIds()[i]).isEqualTo(order[i]);
            assertThat((double) logprobs.topLogprobs()[i]).isCloseTo(reference[order[i]], within(1e-5));
        }
    }

    @Test
    void tiesListTheLowerIdFirstAndLargeLogitsDoNotOverflow() {
        float[] logits = { 1000f, 1001f, 1001f, -Float.MAX_VALUE, 999f };
        TokenLogprobs logprobs = TokenLogprobs.of(logits, 0, 3);
        assertThat(logprobs.topIds()).containsExactly(1, 2, 0);
        double normalizer = 1001 + Math.log(2 + Math.exp(-1) + Math.exp(-2));
        assertThat((double) logprobs.logprob()).isCloseTo(1000 - normalizer, within(1e-5));
        assertThat(TokenLogprobs.of(logits, 3, 0).topIds()).isEmpty();
    }

    @Test
    void atMostTwentyAlternatives() {
        assertThatIllegalArgumentException().isThrownBy(() -> TokenLogprobs.of(new float[] { 0 }, 0, 21));
        assertThat(TokenLogprobs.of(new float[] { 0, 1 }, 0, 20).topIds()).containsExactly(1, 0);
    }
}
