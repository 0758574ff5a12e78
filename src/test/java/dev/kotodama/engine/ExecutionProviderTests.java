package dev.kotodama.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class ExecutionProviderTests {

    @Test
    void parseIgnoresCaseAndSurroundingWhiteSpace() {
        assertThat(ExecutionProvider.parse(" Cuda ")).isEqualTo(ExecutionProvider.CUDA);
        assertThat(ExecutionProvider.parse("auto")).isEqualTo(ExecutionProvider.AUTO);
        assertThat(ExecutionProvider.parse("CPU")).isEqualTo(ExecutionProvider.CPU);
    }

    @Test
    void parseRejectsAnUnknownNameAndListsTheAllowedOnes() {
        assertThatIllegalArgumentException().isThrownBy(() -> ExecutionProvider.parse("gpu2"))
                .withMessage("Unknown execution provider 'gpu2': expected one of auto, cuda, cpu");
    }
}
