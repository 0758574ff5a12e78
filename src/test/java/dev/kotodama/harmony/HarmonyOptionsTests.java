package dev.kotodama.harmony;

import java.time.LocalDate;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HarmonyOptionsTests {

    @Test
    void defaultsAreTheTemplates() {
        HarmonyOptions options = HarmonyOptions.DEFAULTS;
        assertThat(options.reasoningEffort()).isEqualTo(ReasoningEffort.MEDIUM);
        assertThat(options.currentDate()).isNull();
        assertThat(options.modelIdentity()).isEqualTo("You are LLM-jp-4, a large language model trained by LLM-jp.");
        assertThat(options.knowledgeCutoff()).isEqualTo("2025-12");
        assertThat(options.builtinTools()).isEmpty();
    }

    @Test
    void mutateThenBuildGivesEqualOptions() {
        HarmonyOptions options = HarmonyOptions.builder().reasoningEffort(ReasoningEffort.HIGH)
                .currentDate(LocalDate.of(2026, 1, 15)).modelIdentity("You are Kotodama.").knowledgeCutoff("2026-03")
                .builtinTools(Set.of(BuiltinTool.PYTHON)).build();
        assertThat(options.mutate().build()).isEqualTo(options).hasSameHashCodeAs(options);
        assertThat(options.mutate().reasoningEffort(ReasoningEffort.LOW).build()).isNotEqualTo(options);
    }

    @Test
    void reasoningEffortReadsTheTemplatesWordsOnly() {
        assertThat(ReasoningEffort.of("High")).isEqualTo(ReasoningEffort.HIGH);
        assertThat(ReasoningEffort.LOW.word()).isEqualTo("low");
        assertThatThrownBy(() -> ReasoningEffort.of("max")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("low, medium or high");
    }

    @Test
    void nullsAreRefusedByName() {
        assertThatThrownBy(() -> HarmonyOptions.builder().modelIdentity(null))
                .hasMessage("modelIdentity must not be null");
    }
}
