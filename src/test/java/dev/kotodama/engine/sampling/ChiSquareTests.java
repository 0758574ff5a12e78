package dev.kotodama.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ChiSquareTests {

    @Test
    void upperTailMatchesPublishedCriticalValues() {
        assertThat(ChiSquare.upperTail(3.841, 1)).isCloseTo(0.05, within(1e-4));
        assertThat(ChiSquare.upperTail(24.322, 7)).isCloseTo(0.001, within(1e-5));
        assertThat(ChiSquare.upperTail(18.307, 10)).isCloseTo(0.05, within(1e-4));
        assertThat(ChiSquare.upperTail(2.558, 10)).isCloseTo(0.99, within(1e-4));
        assertThat(ChiSquare.upperTail(43.820, 19)).isCloseTo(0.001, within(1e-5));
    }

    @Test
    void pValueIsSmallForCountsFarFromTheExpectation() {
        assertThat(ChiSquare.pValue(new long[] { 600, 400 }, new double[] { 0.5, 0.5 })).isLessThan(1e-9);
        assertThat(ChiSquare.pValue(new long[] { 505, 495 }, new double[] { 0.5, 0.5 })).isGreaterThan(0.5);
    }
}
