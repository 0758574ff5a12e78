package dev.kotodama.engine.sampling;

import java.util.BitSet;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** OpenAI's definition: {@code logit[j] -= count[j] * frequency + (count[j] > 0) * presence}, over generated tokens. */
class FrequencyPresencePenaltyTests {

    /** The logits the next sampler sees. */
    private static float[] penalized(double frequency, double presence, BitSet exempt, float[] logits, TokenHistory history) {
        float[][] seen = new float[1][];
        new FrequencyPresencePenalty((float) frequency, (float) presence, exempt, (penalizedLogits, h) -> {
            seen[0] = penalizedLogits.clone();
            return 0;
        }).sample(logits, history);
        return seen[0];
    }

    private static TokenHistory generated(int[] prompt, int... generated) {
        TokenHistory history = TokenHistory.of(prompt);
        for (int id : generated) {
            history.append(id);
        }
        return history;
    }

    @Test
    void eachGeneratedTokenIsLoweredByItsCountTimesTheFrequencyAndOnceByThePresence() {
        float[] logits = { 1.0f, 2.0f, 3.0f, 4.0f, 5.0f };
        TokenHistory history = generated(new int[] { 4, 4, 4 }, 1, 2, 2, 2, 1, 2);

        assertThat(penalized(0.5, 0.25, new BitSet(), logits, history)).containsExactly(
                1.0f, 2.0f - 2 * 0.5f - 0.25f, 3.0f - 4 * 0.5f - 0.25f, 4.0f, 5.0f);
    }

    @Test
    void promptTokensDoNotCount() {
        float[] logits = { 1.0f, 2.0f };
        assertThat(penalized(2, 2, new BitSet(), logits, TokenHistory.of(0, 1, 1))).containsExactly(logits);
    }

    @Test
    void controlTokensNeitherCountNorArePenalized() {
        BitSet control = new BitSet();
        control.set(3);
        float[] logits = { 1.0f, 2.0f, 3.0f, 4.0f };
        assertThat(penalized(1, 1, control, logits, generated(new int[] { 0 }, 3, 3, 1))).containsExactly(
                1.0f, 0.0f, 3.0f, 4.0f);
    }

    @Test
    void negativePenaltiesRewardRepetitionAndTheCallersLogitsStayUnchanged() {
        float[] logits = { 1.0f, 1.0f };
        float[] copy = logits.clone();
        assertThat(penalized(-1, -0.5, new BitSet(), logits, generated(new int[] { 0 }, 1))).containsExactly(1.0f, 2.5f);
        assertThat(logits).containsExactly(copy);
    }

    @Test
    void greedyDecodingWithAPresencePenaltyAvoidsWhatItGenerated() {
        Sampler sampler = Samplers.create(new SamplingParameters(0, 0, 1, 0, 1, null, 0, 1.5), new BitSet());
        float[] logits = { 3.0f, 2.0f, 0.0f };
        assertThat(sampler.sample(logits, generated(new int[] { 2 }))).isEqualTo(0);
        assertThat(sampler.sample(logits, generated(new int[] { 2 }, 0))).isEqualTo(1);
        assertThat(Samplers.create(new SamplingParameters(0, 0, 1, 0, 1, null, 0, 0), new BitSet()))
            .as("no penalties: the plain greedy sampler").isSameAs(Sampler.GREEDY);
    }
}
