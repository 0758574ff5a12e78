package dev.kotodama.ai;

import java.util.List;
import java.util.Map;

import dev.kotodama.engine.sampling.SamplingParameters;
import dev.kotodama.harmony.ReasoningEffort;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.function.FunctionToolCallback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/** Options: immutable values, merged as Spring AI 2.0 merges them, checked when built. */
class KotodamaChatOptionsTests {

    private static final ToolCallback WEATHER = tool("get_weather");

    private static ToolCallback tool(String name) {
        return FunctionToolCallback.builder(name, (String input) -> "ok").description(name).inputType(String.class).build();
    }

    private static KotodamaChatOptions everything() {
        return KotodamaChatOptions.builder()
            .model("llm-jp-4")
            .temperature(0.5)
            .topP(0.8)
            .topK(40)
            .minP(0.05)
            .maxTokens(256)
            .stopSequences(List.of("END"))
            .seed(42L)
            .repetitionPenalty(1.1)
            .reasoningEffort(ReasoningEffort.HIGH)
            .frequencyPenalty(0.5)
            .presencePenalty(-0.5)
            .logprobs(true)
            .topLogprobs(5)
            .toolCallbacks(WEATHER)
            .toolContext(Map.of("user", "ana"))
            .build();
    }

    @Test
    void mutateThenBuildGivesEqualOptions() {
        KotodamaChatOptions options = everything();

        assertThat(options.mutate().build()).isEqualTo(options).hasSameHashCodeAs(options);
        assertThat(KotodamaChatOptions.builder().build().mutate().build()).isEqualTo(KotodamaChatOptions.builder().build());
    }

    @Test
    void optionsThatDifferInAKotodamaFieldAreNotEqual() {
        KotodamaChatOptions options = everything();

        assertThat(options.mutate().minP(0.1).build()).isNotEqualTo(options);
        assertThat(options.mutate().seed(7L).build()).isNotEqualTo(options);
        assertThat(options.mutate().repetitionPenalty(1.2).build()).isNotEqualTo(options);
        assertThat(options.mutate().reasoningEffort("low").build()).isNotEqualTo(options);
        assertThat(options.mutate().topLogprobs(6).build()).isNotEqualTo(options);
        assertThat(options.mutate().logprobs(false).topLogprobs(null).build()).isNotEqualTo(options);
    }

    @Test
    void theRequestOverridesThePropertiesWhichOverrideTheModelDefaults() {
        KotodamaChatOptions properties = new KotodamaProperties.Chat(null, 0.3, null, 20, null, 512, List.of("</end>"),
                null, null, ReasoningEffort.LOW).toOptions();
        KotodamaChatOptions request = KotodamaChatOptions.builder().topK(5).maxTokens(64).seed(9L).build();

        KotodamaChatOptions merged = KotodamaChatOptions.modelDefaults().mutate().combineWith(properties.mutate())
            .combineWith(request.mutate()).build();

        assertThat(merged.getTemperature()).isEqualTo(0.3); // properties
        assertThat(merged.getTopP()).isEqualTo(0.9); // the model's default (cookbook)
        assertThat(merged.getTopK()).isEqualTo(5); // request
        assertThat(merged.getMaxTokens()).isEqualTo(64); // request
        assertThat(merged.getSeed()).isEqualTo(9L); // request
        assertThat(merged.getReasoningEffort()).isEqualTo(ReasoningEffort.LOW); // properties
        assertThat(merged.getStopSequences()).containsExactly("</end>"); // properties
        assertThat(merged.samplingParameters()).isEqualTo(new SamplingParameters(0.3, 5, 0.9, 0, 1, 9L));
    }

    @Test
    void plainSpringAiOptionsCombineIntoKotodamaOptions() {
        ChatOptions portable = ChatOptions.builder().temperature(0.0).maxTokens(10).stopSequences(List.of("x")).build();

        KotodamaChatOptions merged = everything().mutate().combineWith(portable.mutate()).build();

        assertThat(merged.getTemperature()).isEqualTo(0.0);
        assertThat(merged.getMaxTokens()).isEqualTo(10);
        assertThat(merged.getStopSequences()).containsExactly("END", "x");
        assertThat(merged.getSeed()).isEqualTo(42L);
    }

    @Test
    void combiningWithOptionsThatAlreadyIncludeTheDefaultsDuplicatesNothing() {
        KotodamaChatOptions defaults = everything();
        ToolCallback otherWeather = tool("get_weather");
        KotodamaChatOptions request = defaults.mutate().toolCallbacks(List.of(otherWeather, tool("get_time"))).build();

        KotodamaChatOptions merged = defaults.mutate().combineWith(request.mutate()).build();

        assertThat(merged.getStopSequences()).containsExactly("END");
        assertThat(merged.getToolCallbacks()).extracting(callback -> callback.getToolDefinition().name())
            .containsExactly("get_weather", "get_time");
        assertThat(merged.getToolCallbacks().get(0)).isSameAs(otherWeather);
    }

    @Test
    void invalidOptionsFailWithAMessageThatNamesThem() {
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().temperature(-0.1).build())
            .withMessage("temperature must be a finite number >= 0 (0 = greedy), got -0.1");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().topP(0.0).build())
            .withMessage("topP must be in (0, 1], got 0.0");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().topP(1.5).build())
            .withMessage("topP must be in (0, 1], got 1.5");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().maxTokens(0).build())
            .withMessage("maxTokens must be at least 1, got 0");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().reasoningEffort("extreme"))
            .withMessage("reasoning effort must be low, medium or high, not 'extreme'");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().topK(-1).build())
            .withMessageStartingWith("topK must be >= 0");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().minP(2.0).build())
            .withMessageStartingWith("minP must be in [0, 1]");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> KotodamaChatOptions.builder().repetitionPenalty(0.0).build())
            .withMessageStartingWith("repetitionPenalty must be a finite number > 0");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> KotodamaChatOptions.builder().stopSequences(List.of("")).build())
            .withMessage("stopSequences must not contain an empty string");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().presencePenalty(2.5).build())
            .withMessageStartingWith("presencePenalty must be in [-2, 2]");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().frequencyPenalty(-3.0).build())
            .withMessageStartingWith("frequencyPenalty must be in [-2, 2]");
        assertThatIllegalArgumentException().isThrownBy(() -> KotodamaChatOptions.builder().topLogprobs(3).build())
            .withMessage("topLogprobs needs logprobs set to true");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> KotodamaChatOptions.builder().logprobs(true).topLogprobs(21).build())
            .withMessage("topLogprobs must be 0 to 20, got 21");
    }

    @Test
    void invalidOptionsInAPortableRequestFailWhenMerged() {
        ChatOptions portable = ChatOptions.builder().temperature(-1.0).build();

        assertThatIllegalArgumentException()
            .isThrownBy(() -> KotodamaChatOptions.modelDefaults().mutate().combineWith(portable.mutate()).build())
            .withMessageStartingWith("temperature must be");
    }

    @Test
    void reasoningEffortIsReadInAnyCase() {
        assertThat(KotodamaChatOptions.builder().reasoningEffort("High").build().getReasoningEffort())
            .isEqualTo(ReasoningEffort.HIGH);
    }

    @Test
    void theModelDefaultsAreTheCookbookSampling() {
        assertThat(KotodamaChatOptions.modelDefaults().samplingParameters()).isEqualTo(SamplingParameters.llmJp4Cookbook());
        assertThat(KotodamaChatOptions.builder().build().samplingParameters()).isEqualTo(SamplingParameters.llmJp4Cookbook());
        assertThat(KotodamaChatOptions.modelDefaults().getReasoningEffort()).isEqualTo(ReasoningEffort.MEDIUM);
        assertThat(KotodamaChatOptions.modelDefaults().getMaxTokens()).isNull();
    }
}
