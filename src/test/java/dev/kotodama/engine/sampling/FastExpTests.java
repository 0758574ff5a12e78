package dev.kotodama.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

class FastExpTests {

    @Test
    void weightsStayWithinTheStatedRelativeErrorOfMathExp() {
        int n = 870_001;
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = -87f * i / (n - 1);
        }
        float[] weights = new float[n];
        FastExp.weights(logits, 0f, 1f, weights);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double exact = Math.exp(logits[i]);
            worst = Math.max(worst, Math.abs(weights[i] - exact) / exact);
        }
        assertThat(worst).isLessThan(FastExp.MAX_RELATIVE_ERROR);
    }

    @Test
    void theLargestLogitWeighsExactlyOneAndMaskedTokensNothing() {
        float[] weights = new float[4];
        FastExp.weights(new float[] { 3f, Float.NEGATIVE_INFINITY, 3f - 200f, 2f }, 3f, 1f / 0.7f, weights);
        assertThat(weights[0]).isEqualTo(1f);
        assertThat(weights[1]).isZero();
        assertThat(weights[2]).isZero();
        assertThat((double) weights[3]).isCloseTo(Math.exp(-1 / 0.7), withinPercentage(0.01));
    }
}
