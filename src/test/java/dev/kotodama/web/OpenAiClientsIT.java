package dev.kotodama.web;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Real OpenAI clients against the app's {@code /v1} API on the demo model: the official Python SDK
 * (export/tests/clients/openai_sdk.py, run in the exporter's environment) and Spring AI's OpenAI
 * chat model behind a ChatClient, with a {@code @Tool} that the client runs.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OpenAiClientsIT {

    @LocalServerPort
    int port;

    @Test
    void theOpenAiPythonSdkReadsAnswersReasoningUsageToolCallsAndErrors() throws IOException, InterruptedException {
        JsonNode report = runPython("export/tests/clients/openai_sdk.py", "http://localhost:" + port + "/v1");

        assertThat(report.path("models").get(0).asString()).isEqualTo("kotodama-demo");
        JsonNode whole = report.path("whole");
        assertThat(whole.path("answer").asString()).contains("68");
        assertThat(whole.path("reasoning_content").asString()).contains("23 + 45");
        assertThat(whole.path("finish_reason").asString()).isEqualTo("stop");
        assertThat(whole.path("usage").path("total_tokens").asInt()).isPositive();
        JsonNode stream = report.path("stream");
        assertThat(stream.path("answer").asString()).contains("68");
        assertThat(stream.path("reasoning_content").asString()).contains(" → ");
        assertThat(stream.path("finish_reason").asString()).isEqualTo("stop");
        assertThat(stream.path("usage").path("completion_tokens").asInt()).isPositive();
        assertThat(stream.path("chunks").asInt()).isGreaterThan(5);
        JsonNode call = report.path("tool_call");
        assertThat(call.path("finish_reason").asString()).isEqualTo("tool_calls");
        assertThat(call.path("name").asString()).isEqualTo("get_weather");
        assertThat(call.path("arguments").path("city").asString()).isEqualTo("東京");
        assertThat(report.path("tool_result").path("finish_reason").asString()).isEqualTo("stop");
        assertThat(report.path("tool_result").path("answer").asString()).isNotBlank();
        JsonNode scored = report.path("logprobs");
        assertThat(scored.path("joined").asString()).as("the answer's tokens join to the answer")
            .isEqualTo(scored.path("answer").asString()).isEqualTo(scored.path("joined_bytes").asString()).contains("68");
        assertThat(scored.path("streamed")).hasSize(scored.path("logprobs").size());
        for (int i = 0; i < scored.path("logprobs").size(); i++) {
            double logprob = scored.path("logprobs").get(i).asDouble();
            assertThat(scored.path("streamed").get(i).asDouble()).as("a stream carries the same log probabilities "
                    + "(the prompt's cache reused: rounding apart)").isCloseTo(logprob, within(1e-4));
            JsonNode top = scored.path("top").get(i);
            assertThat(logprob).isLessThanOrEqualTo(0);
            assertThat(top).hasSize(3);
            assertThat(top.get(0).get(1).asDouble()).as("greedy: the token is the most probable")
                .isEqualTo(logprob).isGreaterThanOrEqualTo(top.get(1).get(1).asDouble())
                .isGreaterThanOrEqualTo(top.get(2).get(1).asDouble());
        }
        JsonNode penalties = report.path("penalties");
        assertThat(penalties.path("frequency").asString())
            .as("a frequency penalty changes a repetitive reply (reasoning and answer)")
            .isNotEqualTo(penalties.path("none").asString());
        assertThat(penalties.path("presence").asString()).as("so does a presence penalty")
            .isNotEqualTo(penalties.path("none").asString());
        JsonNode error = report.path("error");
        assertThat(error.path("status").asInt()).isEqualTo(400);
        assertThat(error.path("param").asString()).isEqualTo("max_tokens");
        assertThat(error.path("message").asString()).contains("max_tokens must be a whole number of at least 1");
    }

    @Test
    void springAisOpenAiClientCallsStreamsAndRunsATool() {
        OpenAiChatModel openAi = OpenAiChatModel.builder().options(OpenAiChatOptions.builder()
            .baseUrl("http://localhost:" + port + "/v1").apiKey("unused").model("kotodama-demo").temperature(0.0).build())
            .build();
        ChatClient chatClient = ChatClient.create(openAi);

        assertThat(chatClient.prompt().user("What is 23 + 45?").call().content()).contains("68");
        assertThat(String.join("", chatClient.prompt().user("What is 23 + 45?").stream().content().collectList()
            .block())).contains("68");
        WeatherTools weather = new WeatherTools();
        String answer = chatClient.prompt().user("東京の天気は？").tools(weather).call().content();
        assertThat(weather.cities).containsExactly("東京");
        assertThat(answer).isNotBlank();
    }

    static final class WeatherTools {

        final List<String> cities = new CopyOnWriteArrayList<>();

        record Weather(String city, String condition, int temperature_c) {
        }

        @Tool(name = "get_weather", description = "Get the current weather in a city.")
        Weather getWeather(@ToolParam(description = "The city name, e.g. Tokyo") String city) {
            cities.add(city);
            return new Weather(city, "sunny", 21);
        }
    }

    /** Runs a script with the exporter's Python (its venv) and reads the JSON of its last output line. */
    static JsonNode runPython(String script, String... arguments) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("export/kotodama-export", "--python", script));
        command.addAll(List.of(arguments));
        Path log = Files.createTempFile("python-client", ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(false)
            .redirectError(log.toFile()).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).isTrue();
        assertThat(process.exitValue()).as("%s failed:%n%s", script, Files.readString(log)).isZero();
        List<String> lines = output.lines().toList();
        return JsonMapper.shared().readTree(lines.get(lines.size() - 1));
    }
}
