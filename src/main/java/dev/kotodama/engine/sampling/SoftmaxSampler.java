package dev.kotodama.engine.sampling;

import java.util.random.RandomGenerator;

/**
 * Temperature, then top-k, top-p and min-p through {@link Truncation}, then a draw from the
 * renormalized distribution.
 *
 * <p>A step reads the vocabulary three times, which bounds its cost more than arithmetic does: once
 * for the largest logit, once in {@link FastExp} for approximate weights
 * {@code w = exp((logit - max) / temperature)}, and once to add them up and gather the candidates,
 * the tokens whose approximate weight reaches a floor. Candidates get their weight again from
 * {@code Math.exp}. Those with at least twice the floor are trusted: no other token can rank above
 * them. When the trusted candidates cannot hold every token the filters keep, the next, lower floor
 * is tried; the last floor, 0, makes every token a candidate.
 *
 * <p>The total that top-p compares with includes the approximate weights of the other tokens, whose
 * relative error is below {@link FastExp#MAX_RELATIVE_ERROR}; with no filter at all, the tokens
 * below the floor are also drawn with their approximate weights.
 *
 * <p>Holds a random generator and scratch buffers: one instance per generation, one thread at a time.
 */
final class SoftmaxSampler implements Sampler {

    private static final float[] FLOORS = { 0x1p-16f, 0x1p-32f, 0f };

    private final double temperature;

    private final float inverseTemperature;

    private final boolean truncates;

    private final Truncation truncation;

    private final RandomGenerator random;

    private float[] approximate = new float[0]; // [vocabulary] FastExp weights, 1 for the largest logit

    private int[] candidates = new int[0]; // [vocabulary] token ids, ascending, of the first candidateCount

    private int candidateCount;

    private double[] exact = new double[0]; // [candidateCount] Math.exp weight of each candidate

    SoftmaxSampler(SamplingParameters parameters, RandomGenerator random) {
        this.temperature = parameters.temperature();
        this.inverseTemperature = (float) Math.min(1 / parameters.temperature(), Float.MAX_VALUE);
        this.truncates = parameters.truncates();
        this.truncation = new Truncation(parameters);
        this.random = random;
    }

    @Override
    public int sample(float[] logits, TokenHistory history) {
        float max = logits[Argmax.of(logits)];
        if (Float.isInfinite(max)) {
            throw new IllegalArgumentException("logits must have a finite maximum, got " + max);
        }
        if (approximate.length != logits.length) {
            approximate = new float[logits.length];
            candidates = new int[logits.length];
        }
        FastExp.weights(logits, max, inverseTemperature, approximate);
        for (float floor : FLOORS) {
            double total = sumAndGather(floor) + weighCandidates(logits, max);
            if (!truncates) {
                return drawFromAll(total, floor);
            }
            // trusted: the buckets of weights at least twice the floor
            int trustedBuckets = (floor == 0) ? Truncation.BUCKETS : Truncation.bucketOf(2.0 * floor) + 1;
            int token = truncation.sample(logits, candidates, exact, candidateCount, total, trustedBuckets, random);
            if (token >= 0) {
                return token;
            }
        }
        throw new IllegalStateException("with a floor of 0 every token is a trusted candidate");
    }

    /**
     * Gathers the candidates and returns the sum of the approximate weights: in blocks of 64 floats,
     * four running sums each, added up as doubles, so that small weights are not lost next to large
     * ones. The branch rarely holds when few tokens are candidates, so it predicts well.
     */
    private double sumAndGather(float floor) {
        double total = 0;
        int count = 0;
        int i = 0;
        for (; i + 64 <= approximate.length; i += 64) {
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            for (int j = i; j < i + 64; j += 4) {
                float w0 = approximate[j];
                float w1 = approximate[j + 1];
                float w2 = approximate[j + 2];
                float w3 = approximate[j + 3];
                s0 += w0;
                s1 += w1;
                s2 += w2;
                s3 += w3;
                if (w0 >= floor) {
                    candidates[count++] = j;
                }
                if (w1 >= floor) {
                    candidates[count++] = j + 1;
                }
                if (w2 >= floor) {
                    candidates[count++] = j + 2;
                }
                if (w3 >= floor) {
                    candidates[count++] = j + 3;
                }
            }
            total += (s0 + s1) + (s2 + s3);
        }
        for (; i < approximate.length; i++) {
            total += approximate[i];
            if (approximate[i] >= floor) {
                candidates[count++] = i;
            }
        }
        candidateCount = count;
        return total;
    }

    /** Sets the exact weights of the candidates and returns exact minus approximate candidate weight. */
    private double weighCandidates(float[] logits, float max) {
        if (exact.length < candidateCount) {
            exact = new double[Math.max(candidateCount, 2 * exact.length)];
        }
        double correction = 0;
        for (int j = 0; j < candidateCount; j++) {
            int id = candidates[j];
            exact[j] = Math.exp((logits[id] - max) / temperature);
            correction += exact[j] - approximate[id];
        }
        return correction;
    }

    /** Draws from every token: candidates with their exact weights, the others with approximate ones. */
    private int drawFromAll(double total, float floor) {
        double target = random.nextDouble() * total;
        double mass = 0;
        for (int j = 0; j < candidateCount; j++) {
            mass += exact[j];
            if (target < mass) {
                return candidates[j];
            }
        }
        int lastPositive = candidates[0];
        for (int i = 0; i < approximate.length; i++) {
            float weight = approximate[i];
            if (weight < floor && weight > 0) {
                mass += weight;
                lastPositive = i;
                if (target < mass) {
                    return i;
                }
            }
        }
        return lastPositive; // reached only through rounding
    }
}
