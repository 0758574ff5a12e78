package dev.kotodama.engine.sampling;

/**
 * Pearson's chi-square goodness-of-fit test, with the p-value from the regularized upper incomplete
 * gamma function Q(k/2, x/2) (series and continued fraction as in Numerical Recipes, log-gamma by
 * Lanczos' approximation).
 */
final class ChiSquare {

    private static final double[] LANCZOS = { 0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7 };

    private ChiSquare() {
    }

    /**
     * The p-value of observing these counts if the draws follow the expected probabilities. Categories
     * expected fewer than five times are pooled into one, itself pooled with the smallest remaining
     * category when it is still expected fewer than five times.
     */
    static double pValue(long[] observed, double[] probabilities) {
        long draws = 0;
        for (long count : observed) {
            draws += count;
        }
        double[] expectedBins = new double[observed.length + 1];
        long[] observedBins = new long[observed.length + 1];
        int bins = 0;
        double pooledExpected = 0;
        long pooledObserved = 0;
        for (int i = 0; i < observed.length; i++) {
            double expected = probabilities[i] * draws;
            if (expected >= 5) {
                expectedBins[bins] = expected;
                observedBins[bins++] = observed[i];
            }
            else {
                pooledExpected += expected;
                pooledObserved += observed[i];
            }
        }
        if (pooledExpected >= 5 || bins == 0) {
            expectedBins[bins] = pooledExpected;
            observedBins[bins++] = pooledObserved;
        }
        else if (pooledExpected > 0 || pooledObserved > 0) {
            int smallest = 0;
            for (int b = 1; b < bins; b++) {
                smallest = (expectedBins[b] < expectedBins[smallest]) ? b : smallest;
            }
            expectedBins[smallest] += pooledExpected;
            observedBins[smallest] += pooledObserved;
        }
        double statistic = 0;
        for (int b = 0; b < bins; b++) {
            double difference = observedBins[b] - expectedBins[b];
            statistic += difference * difference / expectedBins[b];
        }
        return (bins < 2) ? 1 : upperTail(statistic, bins - 1);
    }

    /** P(X >= statistic) for X chi-square distributed with the given degrees of freedom. */
    static double upperTail(double statistic, int degreesOfFreedom) {
        return regularizedUpperGamma(degreesOfFreedom / 2.0, statistic / 2.0);
    }

    private static double regularizedUpperGamma(double a, double x) {
        if (x <= 0) {
            return 1;
        }
        double logPrefix = -x + a * Math.log(x) - logGamma(a);
        if (x < a + 1) {
            double term = 1 / a;
            double sum = term;
            for (int n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-16; n++) {
                term *= x / (a + n);
                sum += term;
            }
            return 1 - sum * Math.exp(logPrefix);
        }
        double tiny = 1e-300;
        double b = x + 1 - a;
        double c = 1 / tiny;
        double d = 1 / b;
        double fraction = d;
        for (int i = 1; i < 10_000; i++) {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = (Math.abs(d) < tiny) ? tiny : d;
            c = b + an / c;
            c = (Math.abs(c) < tiny) ? tiny : c;
            d = 1 / d;
            double delta = d * c;
            fraction *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        return Math.exp(logPrefix) * fraction;
    }

    private static double logGamma(double x) {
        double shifted = x - 1;
        double series = LANCZOS[0];
        for (int i = 1; i < LANCZOS.length; i++) {
            series += LANCZOS[i] / (shifted + i);
        }
        double t = shifted + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(series);
    }
}
