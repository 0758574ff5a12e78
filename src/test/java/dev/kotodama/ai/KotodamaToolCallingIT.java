package dev.kotodama.ai;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tool calling the Spring AI 2.0 way, end to end on the tiny export: the engine is forced to generate
 * a trained model's tool call (golden reply ids), ChatClient's tool-calling advisor runs the
 * {@code @Tool} method with the parsed arguments, and the result reaches the next generation's prompt
 * rendered as Harmony.
 */
class KotodamaToolCallingIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    /** What the chat template renders for the first turn, the call and its result, up to the new turn. */
    private static final String RENDERED_HISTORY = "<|start|>user<|message|>What's the weather in Tokyo?<|end|>"
            + "<|start|>assistant<|channel|>analysis<|message|>Need weather; call the tool.<|end|>"
            + "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>"
            + "{\"location\": \"Tokyo\", \"unit\": \"celsius\"}<|call|>"
            + "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
            + "\"{\\\"temperature\\\":21,\\\"condition\\\":\\\"sunny\\\"}\"<|end|><|start|>assistant";

    private static TinyModel tiny;

    private static ChatClient chatClient;

    private final WeatherTools weather = new WeatherTools();

    @BeforeAll
    static void load() {
        tiny = new TinyModel();
        chatClient = ChatClient.create(tiny.chatModel(KotodamaChatOptions.builder().build()));
    }

    @AfterAll
    static void close() throws Exception {
        tiny.close();
    }

    @BeforeEach
    void forceAToolCallThenAnAnswer() {
        tiny.forced.reset();
        tiny.forced.then(GoldenReplies.generatedIds("tools_weather_single"))
            .then(GoldenReplies.generatedIds("tool_call_pending_keeps_analysis"));
    }

    record Weather(int temperature, String condition) {
    }

    static final class WeatherTools {

        final List<List<String>> calls = new CopyOnWriteArrayList<>();

        @Tool(name = "get_weather", description = "Get the current weather for a city.")
        Weather getWeather(@ToolParam(description = "The city, e.g. Tokyo") String location,
                @ToolParam(description = "celsius or fahrenheit", required = false) String unit) {
            calls.add(List.of(location, unit));
            return new Weather(21, "sunny");
        }
    }

    @Test
    void chatClientCallsTheToolAndTheModelAgainWithItsResult() {
        String answer = chatClient.prompt().user("What's the weather in Tokyo?").tools(weather).call().content();

        assertThat(weather.calls).containsExactly(List.of("Tokyo", "celsius"));
        assertThat(answer).isEqualTo("It is 21 °C and sunny in Tokyo.");
        assertThat(tiny.forced.requests()).hasSize(2);
        assertThat(tiny.prompt(0)).contains("type get_weather = (_: {").contains("// The city, e.g. Tokyo");
        assertThat(tiny.prompt(1)).endsWith(RENDERED_HISTORY);
    }

    @Test
    void aStreamingChatClientCallsTheToolAndStreamsTheNextAnswer() {
        List<String> chunks = chatClient.prompt().user("What's the weather in Tokyo?").tools(weather).stream().content()
            .collectList().block(TIMEOUT);

        assertThat(weather.calls).containsExactly(List.of("Tokyo", "celsius"));
        assertThat(String.join("", chunks)).isEqualTo("It is 21 °C and sunny in Tokyo.");
        assertThat(tiny.prompt(1)).endsWith(RENDERED_HISTORY);
    }

    @Test
    void withoutChatClientTheModelAnswersWithTheToolCall() {
        var options = KotodamaChatOptions.builder()
            .toolCallbacks(org.springframework.ai.support.ToolCallbacks.from(weather))
            .build();

        ChatResponse response = tiny.chatModel(KotodamaChatOptions.builder().build())
            .call(new Prompt("What's the weather in Tokyo?", options));

        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("tool_calls");
        assertThat(response.hasToolCalls()).isTrue();
        var call = response.getResult().getOutput().getToolCalls().get(0);
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call.arguments()).isEqualTo("{\"location\": \"Tokyo\", \"unit\": \"celsius\"}");
        assertThat(call.id()).startsWith("call_");
        assertThat(response.getResult().getOutput().getText()).isEmpty();
        assertThat(response.getResult().getOutput().getMetadata()).containsEntry("reasoningContent",
                "Need weather; call the tool.");
        assertThat(weather.calls).isEmpty();
        assertThat(tiny.forced.requests()).hasSize(1);
    }

    @Test
    void theStreamsLastChunkCarriesTheToolCallAndItsFinishReason() {
        var options = KotodamaChatOptions.builder()
            .toolCallbacks(org.springframework.ai.support.ToolCallbacks.from(weather))
            .build();

        List<ChatResponse> chunks = tiny.chatModel(KotodamaChatOptions.builder().build())
            .stream(new Prompt("What's the weather in Tokyo?", options)).collectList().block(TIMEOUT);

        ChatResponse last = chunks.get(chunks.size() - 1);
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("tool_calls");
        assertThat(last.getResult().getOutput().getToolCalls()).extracting(call -> call.name()).containsExactly("get_weather");
        assertThat(chunks.subList(0, chunks.size() - 1)).noneMatch(ChatResponse::hasToolCalls);
        assertThat(chunks.stream().map(chunk -> (String) chunk.getResult().getOutput().getMetadata().getOrDefault("thinking", ""))
            .collect(Collectors.joining())).isEqualTo("Need weather; call the tool.");
    }
}
