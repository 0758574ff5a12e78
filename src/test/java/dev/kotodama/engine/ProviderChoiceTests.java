package dev.kotodama.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class ProviderChoiceTests {

    @Test
    void autoIsARequestNotAProviderInUse() {
        assertThatIllegalArgumentException().isThrownBy(() -> new ProviderChoice(ExecutionProvider.AUTO, null))
                .withMessageContaining("used");
    }
}
