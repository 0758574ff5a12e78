package dev.kotodama.engine.sampling;

import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Draws 10,000 tokens from fixed logits and compares the counts with {@link ReferenceDistribution}
 * by a chi-square goodness-of-fit test. The seeds are fixed, so each test is deterministic.
 */
class SamplersDistributionTests {

    private static final int DRAWS = 10_000;

    // 20 distinct logits in no particular order; the largest is token 5, then 14, 2, 10, 8
    private static final float[] LOGITS = { 1.3f, -0.4f, 2.6f, 0.2f, -1.9f, 3.1f, 0.9f, -2.8f, 1.7f, -0.9f, 2.2f,
            -3.5f, 0.5f, -1.2f, 2.9f, -0.1f, 1.0f, -2.3f, 0.7f, -4.0f };

    @Test
    void temperatureAloneFollowsTheSoftmaxOfTheScaledLogits() {
        assertDrawsFollowTheReference(new SamplingParameters(0.7, 0, 1, 0, 1, 11L), new int[0]);
    }

    @Test
    void topKDrawsOnlyFromTheKMostProbableTokens() {
        double[] expected = assertDrawsFollowTheReference(new SamplingParameters(1, 3, 1, 0, 1, 12L), new int[0]);
        assertThat(support(expected)).isEqualTo(3);
    }

    @Test
    void topPDrawsFromTheSmallestSetReachingP() {
        double[] expected = assertDrawsFollowTheReference(new SamplingParameters(0.7, 0, 0.8, 0, 1, 13L),
                new int[0]);
        assertThat(support(expected)).isBetween(2, LOGITS.length - 1);
    }

    @Test
    void minPDropsTokensLessProbableThanMinPTimesTheMostProbable() {
        double[] expected = assertDrawsFollowTheReference(new SamplingParameters(1, 0, 1, 0.1, 1, 14L), new int[0]);
        assertThat(support(expected)).isBetween(2, LOGITS.length - 1);
    }

    @Test
    void topKTopPAndMinPCombineInTransformersOrder() {
        double[] expected = assertDrawsFollowTheReference(new SamplingParameters(0.9, 8, 0.9, 0.05, 1, 15L),
                new int[0]);
        assertThat(support(expected)).isBetween(2, 7);
    }

    @Test
    void repetitionPenaltyLowersPositiveAndNegativeLogitsOfSeenTokens() {
        int[] history = { 5, 14, 14, 3, 11, 9 };
        assertDrawsFollowTheReference(new SamplingParameters(0.8, 0, 1, 0, 1.3, 16L), history);
    }

    @Test
    void repetitionPenaltyComposesWithTheFilters() {
        int[] history = { 5, 2, 19, 2 };
        assertDrawsFollowTheReference(new SamplingParameters(0.7, 6, 0.85, 0.02, 1.3, 17L), history);
    }

    @Test
    void aFlatDistributionOverALargeVocabularyFollowsTheReference() {
        // thousands of candidates per bucket: the cut buckets are sorted, the others are not
        Random random = new Random(31);
        float[] logits = new float[30_000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) random.nextGaussian();
        }
        SamplingParameters parameters = new SamplingParameters(0.7, 12_000, 0.9, 0.002, 1, 18L);
        double[] expected = ReferenceDistribution.of(logits, new int[0], parameters);
        int[] binOfToken = binsOfEqualProbability(expected, 20);
        Sampler sampler = Samplers.create(parameters);
        long[] observed = new long[20];
        for (int draw = 0; draw < 3_000; draw++) {
            int token = sampler.sample(logits, TokenHistory.of());
            assertThat(expected[token]).as("probability of drawn token %d", token).isPositive();
            observed[binOfToken[token]]++;
        }
        double[] binProbabilities = new double[20];
        for (int token = 0; token < logits.length; token++) {
            binProbabilities[binOfToken[token]] += expected[token];
        }
        assertThat(ChiSquare.pValue(observed, binProbabilities)).as("chi-square p-value").isGreaterThan(0.001);
    }

    /** Checks the goodness of fit and that no token outside the expected support is drawn. */
    private static double[] assertDrawsFollowTheReference(SamplingParameters parameters, int[] history) {
        double[] expected = ReferenceDistribution.of(LOGITS, history, parameters);
        Sampler sampler = Samplers.create(parameters);
        TokenHistory tokens = TokenHistory.of(history);
        long[] observed = new long[LOGITS.length];
        for (int draw = 0; draw < DRAWS; draw++) {
            observed[sampler.sample(LOGITS, tokens)]++;
        }
        for (int id = 0; id < LOGITS.length; id++) {
            if (expected[id] == 0) {
                assertThat(observed[id]).as("draws of filtered-out token %d", id).isZero();
            }
        }
        assertThat(ChiSquare.pValue(observed, expected)).as("chi-square p-value").isGreaterThan(0.001);
        return expected;
    }

    /** Groups the tokens, most probable first, into bins of about equal probability. */
    private static int[] binsOfEqualProbability(double[] probabilities, int bins) {
        Integer[] byProbability = IntStream.range(0, probabilities.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -probabilities[i])).toArray(Integer[]::new);
        int[] binOfToken = new int[probabilities.length];
        double before = 0;
        for (int token : byProbability) {
            binOfToken[token] = Math.min((int) (before * bins), bins - 1);
            before += probabilities[token];
        }
        return binOfToken;
    }

    private static int support(double[] probabilities) {
        int count = 0;
        for (double probability : probabilities) {
            count += (probability > 0) ? 1 : 0;
        }
        return count;
    }
}
