package dev.kotodama.engine.sampling;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class SamplersTests {

    private static final int LLM_JP_4_VOCABULARY = 196_608;

    private final TokenHistory noHistory = TokenHistory.of();

    @Test
    void greedyParametersGiveTheSharedGreedySampler() {
        assertThat(Samplers.create(SamplingParameters.greedy())).isSameAs(Sampler.GREEDY);
    }

    @Test
    void greedyWithARepetitionPenaltyTakesTheArgmaxOfThePenalizedLogits() {
        Sampler sampler = Samplers.create(new SamplingParameters(0, 0, 1, 0, 1.3, null));
        assertThat(sampler.sample(new float[] { 2.0f, 1.9f }, TokenHistory.of(0))).isEqualTo(1);
        assertThat(sampler.sample(new float[] { -1.0f, -1.2f }, TokenHistory.of(0))).isEqualTo(1);
        assertThat(sampler.sample(new float[] { 2.0f, 1.9f }, TokenHistory.of(1))).isEqualTo(0);
    }

    @Test
    void theCallersLogitsAreLeftUnchanged() {
        float[] logits = { 1f, -2f, 3f, 0.5f };
        float[] copy = logits.clone();
        Samplers.create(new SamplingParameters(0.7, 2, 0.9, 0.1, 1.3, 1L)).sample(logits, TokenHistory.of(0, 1, 2));
        assertThat(logits).containsExactly(copy);
    }

    @Test
    void theSameSeedDrawsTheSameTokens() {
        SamplingParameters parameters = new SamplingParameters(0.7, 50, 0.9, 0.02, 1.1, 7L);
        assertThat(generate(parameters, 200)).containsExactly(generate(parameters, 200));
    }

    @Test
    void differentSeedsDrawDifferentTokens() {
        SamplingParameters parameters = new SamplingParameters(1, 0, 1, 0, 1, 7L);
        assertThat(generate(parameters, 200)).isNotEqualTo(generate(parameters.withSeed(8L), 200));
    }

    @Test
    void topKKeepsEveryTokenTiedWithTheKth() {
        Set<Integer> drawn = drawMany(new SamplingParameters(1, 2, 1, 0, 1, 3L), new float[] { 3f, 2f, 2f, 1f });
        assertThat(drawn).containsExactlyInAnyOrder(0, 1, 2);
    }

    @Test
    void topPBreaksTiesAtTheBoundaryTowardsTheLowerIds() {
        Set<Integer> drawn = drawMany(new SamplingParameters(1, 0, 0.5, 0, 1, 4L), new float[] { 1f, 1f, 1f, 1f });
        assertThat(drawn).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void topPKeepsAtLeastTheMostProbableToken() {
        Set<Integer> drawn = drawMany(new SamplingParameters(1, 0, 1e-9, 0, 1, 5L), new float[] { 0f, 2f, 1.99f });
        assertThat(drawn).containsExactly(1);
    }

    @Test
    void minPOfOneKeepsOnlyTheMostProbableTokens() {
        Set<Integer> drawn = drawMany(new SamplingParameters(1, 0, 1, 1, 1, 6L), new float[] { 2f, 1f, 2f, 1.999f });
        assertThat(drawn).containsExactlyInAnyOrder(0, 2);
    }

    @Test
    void maskedTokensAreNeverDrawn() {
        float ninf = Float.NEGATIVE_INFINITY;
        Set<Integer> drawn = drawMany(new SamplingParameters(5, 0, 1, 0, 1, 7L), new float[] { ninf, 0f, ninf, 0f });
        assertThat(drawn).containsExactlyInAnyOrder(1, 3);
        Set<Integer> drawnTopK = drawMany(new SamplingParameters(5, 3, 1, 0, 1, 7L),
                new float[] { ninf, 0f, ninf, 0f });
        assertThat(drawnTopK).containsExactlyInAnyOrder(1, 3);
    }

    @Test
    void samplingRejectsNaNInfinityAndAllMaskedLogits() {
        Sampler sampler = Samplers.create(SamplingParameters.llmJp4Cookbook());
        assertThatIllegalArgumentException().isThrownBy(() -> sampler.sample(new float[] { 0f, Float.NaN }, noHistory))
                .withMessage("logits[1] is NaN");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> sampler.sample(new float[] { 0f, Float.POSITIVE_INFINITY }, noHistory))
                .withMessage("logits must have a finite maximum, got Infinity");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> sampler.sample(new float[] { Float.NEGATIVE_INFINITY }, noHistory))
                .withMessage("logits must have a finite maximum, got -Infinity");
    }

    @Test
    void historyIdsOutsideTheVocabularyAreRejected() {
        Sampler sampler = Samplers.create(new SamplingParameters(0.7, 0, 0.9, 0, 1.2, 1L));
        assertThatIllegalArgumentException().isThrownBy(() -> sampler.sample(new float[4], TokenHistory.of(1, 4)))
                .withMessage("history token 4 is outside the vocabulary of 4 logits");
    }

    @Test
    void topPReachesTokensBelowTheFirstCandidateFloor() {
        // one token of weight 1 and 100,000 of weight 2^-17 each: the nucleus takes 77,000 of the small ones
        float[] logits = new float[100_001];
        Arrays.fill(logits, (float) (-17 * Math.log(2)));
        logits[0] = 0f;
        SamplingParameters parameters = new SamplingParameters(1, 0, 0.9, 0, 1, 8L);
        double[] nucleus = ReferenceDistribution.of(logits, new int[0], parameters);
        Sampler sampler = Samplers.create(parameters);
        int small = 0;
        for (int draw = 0; draw < 300; draw++) {
            int token = sampler.sample(logits, noHistory);
            assertThat(nucleus[token]).as("probability of drawn token %d", token).isPositive();
            small += (token == 0) ? 0 : 1;
        }
        assertThat(small).isBetween(80, 145); // expected 300 * 0.587 / 1.587 = 111
    }

    @Test
    void temperatureAloneDrawsTokensBelowTheCandidateFloorInProportion() {
        float[] logits = new float[100_001];
        Arrays.fill(logits, (float) (-17 * Math.log(2)));
        logits[0] = 0f;
        Sampler sampler = Samplers.create(new SamplingParameters(1, 0, 1, 0, 1, 9L));
        long[] observed = new long[2];
        for (int draw = 0; draw < 2_000; draw++) {
            observed[(sampler.sample(logits, noHistory) == 0) ? 0 : 1]++;
        }
        double small = 100_000 * Math.exp(logits[1]);
        double[] expected = { 1 / (1 + small), small / (1 + small) };
        assertThat(ChiSquare.pValue(observed, expected)).isGreaterThan(0.001);
    }

    @Test
    void cookbookSamplingOverTheFullVocabularyStaysInTheNucleus() {
        float[] logits = llmLikeLogits(new Random(2026));
        SamplingParameters parameters = SamplingParameters.llmJp4Cookbook().withSeed(99L);
        double[] nucleus = ReferenceDistribution.of(logits, new int[0], parameters);
        Sampler sampler = Samplers.create(parameters);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        int calls = 1_000;
        long start = 0;
        long startCpu = 0;
        for (int call = 0; call < 2 * calls; call++) {
            start = (call == calls) ? System.nanoTime() : start;
            startCpu = (call == calls) ? threads.getCurrentThreadCpuTime() : startCpu;
            assertThat(nucleus[sampler.sample(logits, noHistory)]).isPositive();
        }
        System.out.printf("top-p 0.9, temperature 0.7 over %,d logits (nucleus of %d tokens): %,d us per sample, "
                + "%,d us of CPU%n", logits.length, Arrays.stream(nucleus).filter(p -> p > 0).count(),
                (System.nanoTime() - start) / calls / 1_000,
                (threads.getCurrentThreadCpuTime() - startCpu) / calls / 1_000);
    }

    /** A Gaussian background with a few dozen clearly preferred tokens, like one decode step of an LLM. */
    private static float[] llmLikeLogits(Random random) {
        float[] logits = new float[LLM_JP_4_VOCABULARY];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (random.nextGaussian() * 2.5);
        }
        for (int preferred = 0; preferred < 40; preferred++) {
            logits[random.nextInt(logits.length)] = 10f + (float) (random.nextDouble() * 8);
        }
        return logits;
    }

    private static int[] generate(SamplingParameters parameters, int length) {
        Random logitsSource = new Random(123);
        Sampler sampler = Samplers.create(parameters);
        TokenHistory history = TokenHistory.of(1, 2, 3);
        int[] tokens = new int[length];
        float[] logits = new float[1_000];
        for (int step = 0; step < length; step++) {
            for (int i = 0; i < logits.length; i++) {
                logits[i] = (float) (logitsSource.nextGaussian() * 2);
            }
            tokens[step] = sampler.sample(logits, history);
            history.append(tokens[step]);
        }
        return tokens;
    }

    private static Set<Integer> drawMany(SamplingParameters parameters, float[] logits) {
        Sampler sampler = Samplers.create(parameters);
        Set<Integer> drawn = new HashSet<>();
        for (int draw = 0; draw < 2_000; draw++) {
            drawn.add(sampler.sample(logits, TokenHistory.of()));
        }
        return drawn;
    }
}
