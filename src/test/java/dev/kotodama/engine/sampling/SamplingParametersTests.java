package dev.kotodama.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class SamplingParametersTests {

    @Test
    void greedyTurnsEverythingOff() {
        assertThat(SamplingParameters.greedy()).isEqualTo(new SamplingParameters(0, 0, 1, 0, 1, null));
    }

    @Test
    void llmJp4CookbookIsTemperature07AndTopP09() {
        SamplingParameters cookbook = SamplingParameters.llmJp4Cookbook();
        assertThat(cookbook.temperature()).isEqualTo(0.7);
        assertThat(cookbook.topP()).isEqualTo(0.9);
        assertThat(cookbook).isEqualTo(new SamplingParameters(0.7, 0, 0.9, 0, 1, null));
    }

    @Test
    void withSeedChangesOnlyTheSeed() {
        assertThat(SamplingParameters.llmJp4Cookbook().withSeed(42L))
                .isEqualTo(new SamplingParameters(0.7, 0, 0.9, 0, 1, 42L));
    }

    @Test
    void temperatureMustBeFiniteAndNotNegative() {
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(-0.1, 0, 1, 0, 1, null))
                .withMessage("temperature must be a finite number >= 0 (0 = greedy), got -0.1");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new SamplingParameters(Double.NaN, 0, 1, 0, 1, null))
                .withMessage("temperature must be a finite number >= 0 (0 = greedy), got NaN");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new SamplingParameters(Double.POSITIVE_INFINITY, 0, 1, 0, 1, null))
                .withMessage("temperature must be a finite number >= 0 (0 = greedy), got Infinity");
    }

    @Test
    void topKMustNotBeNegative() {
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(1, -1, 1, 0, 1, null))
                .withMessage("topK must be >= 0 (0 = off), got -1");
    }

    @Test
    void topPMustBeInTheHalfOpenUnitInterval() {
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(1, 0, 1.5, 0, 1, null))
                .withMessage("topP must be in (0, 1], got 1.5");
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(1, 0, 0, 0, 1, null))
                .withMessage("topP must be in (0, 1], got 0.0");
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(1, 0, Double.NaN, 0, 1, null))
                .withMessage("topP must be in (0, 1], got NaN");
    }

    @Test
    void minPMustBeInTheClosedUnitInterval() {
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(1, 0, 1, -0.01, 1, null))
                .withMessage("minP must be in [0, 1], got -0.01");
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(1, 0, 1, 1.01, 1, null))
                .withMessage("minP must be in [0, 1], got 1.01");
    }

    @Test
    void repetitionPenaltyMustBePositiveAndFinite() {
        assertThatIllegalArgumentException().isThrownBy(() -> new SamplingParameters(1, 0, 1, 0, 0, null))
                .withMessage("repetitionPenalty must be a finite number > 0 (1 = off), got 0.0");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new SamplingParameters(1, 0, 1, 0, Double.POSITIVE_INFINITY, null))
                .withMessage("repetitionPenalty must be a finite number > 0 (1 = off), got Infinity");
    }
}
