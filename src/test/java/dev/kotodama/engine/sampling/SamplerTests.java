package dev.kotodama.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class SamplerTests {

    private final TokenHistory noHistory = TokenHistory.of();

    @Test
    void greedyReturnsTheIndexOfTheLargestLogit() {
        assertThat(Sampler.GREEDY.sample(new float[] { 0.1f, -2f, 3.5f, 3.4f }, noHistory)).isEqualTo(2);
    }

    @Test
    void greedyBreaksTiesTowardsTheLowestId() {
        assertThat(Sampler.GREEDY.sample(new float[] { 1f, 7f, 3f, 7f, 7f }, noHistory)).isEqualTo(1);
    }

    @Test
    void greedyAcceptsNegativeInfinityAsAMaskedToken() {
        float[] logits = { Float.NEGATIVE_INFINITY, -50f, Float.NEGATIVE_INFINITY };
        assertThat(Sampler.GREEDY.sample(logits, noHistory)).isEqualTo(1);
    }

    @Test
    void greedyRejectsNaNAndNamesItsIndex() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> Sampler.GREEDY.sample(new float[] { 1f, 2f, Float.NaN, 0f }, noHistory))
                .withMessage("logits[2] is NaN");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> Sampler.GREEDY.sample(new float[] { Float.NaN, 2f }, noHistory))
                .withMessage("logits[0] is NaN");
    }

    @Test
    void greedyRejectsEmptyLogits() {
        assertThatIllegalArgumentException().isThrownBy(() -> Sampler.GREEDY.sample(new float[0], noHistory))
                .withMessage("logits must not be empty");
    }
}
