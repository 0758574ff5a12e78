package dev.kotodama.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class TokenHistoryTests {

    @Test
    void appendGrowsThePromptOneTokenAtATime() {
        TokenHistory history = TokenHistory.of(5, 9);
        for (int id = 100; id < 140; id++) {
            history.append(id);
        }
        assertThat(history.size()).isEqualTo(42);
        assertThat(history.get(0)).isEqualTo(5);
        assertThat(history.get(1)).isEqualTo(9);
        assertThat(history.get(41)).isEqualTo(139);
    }

    @Test
    void laterChangesToThePromptArrayDoNotLeakIn() {
        int[] prompt = { 1, 2, 3 };
        TokenHistory history = TokenHistory.of(prompt);
        prompt[0] = 99;
        assertThat(history.get(0)).isEqualTo(1);
    }

    @Test
    void negativeIdsAreRejectedWithTheArgumentName() {
        assertThatIllegalArgumentException().isThrownBy(() -> TokenHistory.of(3, -1))
                .withMessage("promptIds[1] must be a token id >= 0, got -1");
        assertThatIllegalArgumentException().isThrownBy(() -> TokenHistory.of().append(-7))
                .withMessage("tokenId must be a token id >= 0, got -7");
    }

    @Test
    void getOutsideTheHistoryIsRejected() {
        assertThatExceptionOfType(IndexOutOfBoundsException.class).isThrownBy(() -> TokenHistory.of(4).get(1))
                .withMessage("index 1 is outside a history of 1 tokens");
    }
}
