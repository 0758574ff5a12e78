package dev.kotodama.engine.sampling;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Top-k, top-p and min-p over the candidates of one decode step, then the draw among the tokens
 * they keep, with the definitions of transformers' {@code TopKLogitsWarper},
 * {@code TopPLogitsWarper} and {@code MinPLogitsWarper}.
 *
 * <p>The ranking is by logit, largest first, then by token id, lowest first, which decides ties at
 * the top-p boundary. Nothing is sorted whole: candidates are grouped by weight into buckets, eight
 * per power of two, and only a bucket where a top-k or top-p cut falls is sorted.
 *
 * <p>Holds scratch buffers: one instance per sampler.
 */
final class Truncation {

    // Bucket 8e + 7 - m holds the weights 2^-e * [1 + m/8, 1 + (m+1)/8); the last one also holds
    // every smaller weight, so the weight 1 of the most probable tokens falls in bucket 7.
    static final int BUCKETS = 1024;

    private final int topK;

    private final double topP;

    private final double minP;

    private final double[] bucketMass = new double[BUCKETS]; // [BUCKETS] weight of the candidates

    private final int[] bucketCount = new int[BUCKETS]; // [BUCKETS] number of candidates

    private final int[] bucketStart = new int[BUCKETS + 1]; // [BUCKETS + 1] first position of each bucket in order

    private final int[] bucketNext = new int[BUCKETS]; // [BUCKETS] next free position of each bucket in order

    private int[] bucketOfCandidate = new int[0]; // [count]

    private int[] order = new int[0]; // [count] candidate indices by bucket, sorted inside the buckets of a cut

    private long[] keys = new long[0]; // [bucket size] sort keys of the bucket being sorted

    Truncation(SamplingParameters parameters) {
        this.topK = parameters.topK();
        this.topP = parameters.topP();
        this.minP = parameters.minP();
    }

    /** The bucket of a weight in [0, 1]: smaller buckets hold larger weights. */
    static int bucketOf(double weight) {
        if (weight <= 0) {
            return BUCKETS - 1;
        }
        int octave = -Math.getExponent(weight);
        int eighth = (int) (Double.doubleToRawLongBits(weight) >>> 49) & 7; // top three mantissa bits
        return Math.min(8 * octave + 7 - eighth, BUCKETS - 1);
    }

    /**
     * Draws a token, or returns -1 when the trusted candidates (those in the first
     * {@code trustedBuckets} buckets) may not hold every token the filters keep.
     *
     * @param logits the scores the candidates are ranked by // [vocabulary]
     * @param candidates token ids, ascending // [count]
     * @param weights {@code exp((logit - max) / temperature)} of each candidate // [count]
     * @param total the weight of the whole vocabulary
     */
    int sample(float[] logits, int[] candidates, double[] weights, int count, double total, int trustedBuckets,
            RandomGenerator random) {
        histogram(weights, count);
        int buckets = neededBuckets(total, trustedBuckets, logits.length);
        if (buckets == 0) {
            return -1;
        }
        orderByBucket(count);
        int positions = bucketStart[buckets];
        int kept = positions;
        double keptMass = total;
        if (topK > 0) {
            kept = cutTopK(logits, candidates, Math.min(topK, positions), positions);
            keptMass = massOf(weights, 0, kept);
        }
        if (topP < 1) {
            kept = cutTopP(logits, candidates, weights, topP * keptMass, kept);
        }
        return candidates[order[draw(weights, kept, random)]];
    }

    private void histogram(double[] weights, int count) {
        if (bucketOfCandidate.length < count) {
            bucketOfCandidate = new int[Math.max(count, 2 * bucketOfCandidate.length)];
            order = new int[bucketOfCandidate.length];
        }
        Arrays.fill(bucketMass, 0);
        Arrays.fill(bucketCount, 0);
        for (int j = 0; j < count; j++) {
            int bucket = bucketOf(weights[j]);
            bucketOfCandidate[j] = bucket;
            bucketMass[bucket] += weights[j];
            bucketCount[bucket]++;
        }
    }

    /** The number of leading buckets holding every token the filters keep, or 0 if untrusted ones may be needed. */
    private int neededBuckets(double total, int trustedBuckets, int vocabulary) {
        if (topK > 0) {
            // top-p after top-k renormalizes over the whole top-k set, so all of it is needed
            int needed = Math.min(topK, vocabulary);
            int sum = 0;
            for (int b = 0; b < trustedBuckets; b++) {
                sum += bucketCount[b];
                if (sum >= needed) {
                    return b + 1;
                }
            }
            return (trustedBuckets == BUCKETS) ? BUCKETS : 0;
        }
        int buckets = (topP < 1) ? nucleusBuckets(topP * total, trustedBuckets) : BUCKETS;
        if (minP > 0) {
            buckets = Math.min(buckets, bucketOf(minP) + 1);
        }
        return (buckets <= trustedBuckets) ? buckets : 0;
    }

    private int nucleusBuckets(double nucleus, int trustedBuckets) {
        double sum = 0;
        for (int b = 0; b < trustedBuckets; b++) {
            sum += bucketMass[b];
            if (sum >= nucleus) {
                return b + 1;
            }
        }
        return BUCKETS;
    }

    /** Counting sort of the candidates by bucket, keeping candidate order inside a bucket. */
    private void orderByBucket(int count) {
        bucketStart[0] = 0;
        for (int b = 0; b < BUCKETS; b++) {
            bucketStart[b + 1] = bucketStart[b] + bucketCount[b];
        }
        System.arraycopy(bucketStart, 0, bucketNext, 0, BUCKETS);
        for (int j = 0; j < count; j++) {
            order[bucketNext[bucketOfCandidate[j]]++] = j;
        }
    }

    /** Keeps the first k positions and every later one whose logit ties with the k-th, as TopKLogitsWarper does. */
    private int cutTopK(float[] logits, int[] candidates, int k, int positions) {
        sortBucket(bucketAt(k - 1), logits, candidates);
        float last = logits[candidates[order[k - 1]]];
        int kept = k;
        while (kept < positions && logits[candidates[order[kept]]] == last) {
            kept++;
        }
        return kept;
    }

    /** Keeps the shortest prefix whose weight reaches the nucleus; the first position always reaches it. */
    private int cutTopP(float[] logits, int[] candidates, double[] weights, double nucleus, int kept) {
        double mass = 0;
        int position = 0;
        for (int b = 0; position < kept; b++) {
            int end = Math.min(bucketStart[b + 1], kept);
            double bucket = massOf(weights, position, end);
            if (mass + bucket >= nucleus) {
                sortBucket(b, logits, candidates);
                while (position < end && mass < nucleus) {
                    mass += weights[order[position++]];
                }
                return position;
            }
            mass += bucket;
            position = end;
        }
        return kept;
    }

    /** Draws one of the first kept positions, leaving out weights below min-p; position 0 weighs 1, so it stays. */
    private int draw(double[] weights, int kept, RandomGenerator random) {
        double mass = 0;
        for (int position = 0; position < kept; position++) {
            double weight = weights[order[position]];
            mass += (weight >= minP) ? weight : 0;
        }
        double target = random.nextDouble() * mass;
        double sum = 0;
        int lastPositive = 0;
        for (int position = 0; position < kept; position++) {
            double weight = weights[order[position]];
            if (weight >= minP && weight > 0) {
                sum += weight;
                lastPositive = position;
                if (target < sum) {
                    return position;
                }
            }
        }
        return lastPositive; // reached only through rounding
    }

    private int bucketAt(int position) {
        int bucket = 0;
        while (bucketStart[bucket + 1] <= position) {
            bucket++;
        }
        return bucket;
    }

    /** Sorts a bucket by logit, largest first, then by token id. */
    private void sortBucket(int bucket, float[] logits, int[] candidates) {
        int start = bucketStart[bucket];
        int size = bucketStart[bucket + 1] - start;
        if (keys.length < size) {
            keys = new long[Math.max(size, 2 * keys.length)];
        }
        for (int p = 0; p < size; p++) {
            int candidate = order[start + p];
            keys[p] = rankKey(logits[candidates[candidate]], candidate);
        }
        Arrays.sort(keys, 0, size);
        for (int p = 0; p < size; p++) {
            order[start + p] = (int) keys[p];
        }
    }

    private double massOf(double[] weights, int from, int to) {
        double mass = 0;
        for (int position = from; position < to; position++) {
            mass += weights[order[position]];
        }
        return mass;
    }

    /**
     * Orders by logit, largest first, then by candidate index, which follows the token id. Adding 0
     * turns -0.0 into 0.0; flipping the magnitude bits of negative floats makes their bits order as
     * ints; the complement reverses that order.
     */
    private static long rankKey(float logit, int candidate) {
        int bits = Float.floatToRawIntBits(logit + 0f);
        int ordered = bits ^ ((bits >> 31) & Integer.MAX_VALUE);
        return ((long) ~ordered << 32) | candidate;
    }
}
