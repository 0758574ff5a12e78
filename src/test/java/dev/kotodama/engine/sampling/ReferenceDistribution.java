package dev.kotodama.engine.sampling;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The sampling distribution computed the slow, obvious way, in doubles, from the definitions of
 * transformers' RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper,
 * TopPLogitsWarper and MinPLogitsWarper, applied in that order. Ties rank the lower token id first.
 */
final class ReferenceDistribution {

    private ReferenceDistribution() {
    }

    static double[] of(float[] logits, int[] history, SamplingParameters parameters) {
        int vocabulary = logits.length;
        double[] scores = new double[vocabulary];
        for (int i = 0; i < vocabulary; i++) {
            scores[i] = logits[i];
        }
        for (int tokenId : history) {
            double logit = logits[tokenId];
            double penalty = parameters.repetitionPenalty();
            scores[tokenId] = (logit < 0) ? logit * penalty : logit / penalty;
        }
        for (int i = 0; i < vocabulary; i++) {
            scores[i] /= parameters.temperature();
        }
        boolean[] kept = new boolean[vocabulary];
        Arrays.fill(kept, true);
        if (parameters.topK() > 0) {
            double[] descending = Arrays.stream(scores).boxed().sorted(Comparator.reverseOrder())
                    .mapToDouble(Double::doubleValue).toArray();
            double kth = descending[Math.min(parameters.topK(), vocabulary) - 1];
            for (int i = 0; i < vocabulary; i++) {
                kept[i] = scores[i] >= kth;
            }
        }
        if (parameters.topP() < 1) {
            double[] probabilities = softmax(scores, kept);
            Integer[] order = IntStream.range(0, vocabulary).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -probabilities[i]).thenComparing(i -> i))
                    .toArray(Integer[]::new);
            double before = 0;
            for (int i : order) {
                kept[i] = kept[i] && before < parameters.topP();
                before += probabilities[i];
            }
        }
        if (parameters.minP() > 0) {
            double[] probabilities = softmax(scores, kept);
            double top = Arrays.stream(probabilities).max().orElseThrow();
            for (int i = 0; i < vocabulary; i++) {
                kept[i] = kept[i] && probabilities[i] >= parameters.minP() * top;
            }
        }
        return softmax(scores, kept);
    }

    private static double[] softmax(double[] scores, boolean[] kept) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < scores.length; i++) {
            max = kept[i] ? Math.max(max, scores[i]) : max;
        }
        double[] probabilities = new double[scores.length];
        double sum = 0;
        for (int i = 0; i < scores.length; i++) {
            probabilities[i] = kept[i] ? Math.exp(scores[i] - max) : 0;
            sum += probabilities[i];
        }
        for (int i = 0; i < scores.length; i++) {
            probabilities[i] /= sum;
        }
        return probabilities;
    }
}
