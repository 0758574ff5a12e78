package dev.kotodama.demo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.TestModels;
import dev.kotodama.ai.KotodamaChatModel;
import dev.kotodama.ai.KotodamaChatOptions;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.EngineOptions;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.SessionOptionsFactory;
import dev.kotodama.harmony.ReasoningEffort;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issues 5 and 20: the embedded demo model, through the Spring AI chat model with greedy decoding, on
 * prompts in templates that its training never uses (export/kotodama_export/demo/corpus.py holds out a
 * quarter of the arithmetic and of the weather templates of each language, whole, and the operand pairs
 * of a tenth of the sums), written by java_fixtures.py into demo-held-out.json: arithmetic typed in every
 * style (spaced, tight, full-width, in words), weather questions on training cities, and on ten cities
 * that training never names. Each test prints its figures and holds them to bounds: issue 20's, 90%
 * correct for arithmetic and 80% right calls on new cities (the embedded model reaches 95 of 100 and 40 of
 * 50, the second with nothing to spare); 95% well-formed arithmetic and 90% well-formed calls; right calls
 * on training cities a little below what it reaches (46 of 50).
 */
class DemoModelIT {

    private static final JsonMapper JSON = JsonMapper.shared();

    private static Engine engine;

    private static LlmJpTokenizer tokenizer;

    private static KotodamaChatModel chatModel;

    private static JsonNode heldOut;

    @BeforeAll
    static void load(@TempDir Path cache) {
        ModelDirectory directory = ModelDirectory.open(DemoModel.extract(cache));
        Decoder decoder = Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2),
                ExecutionProvider.CPU);
        engine = new Engine(decoder, new EngineOptions(1L << 30, 8));
        tokenizer = LlmJpTokenizer.load(directory.path());
        chatModel = KotodamaChatModel.builder().engine(engine).tokenizer(tokenizer)
            .options(KotodamaChatOptions.builder().temperature(0.0).maxTokens(256).build())
            .build();
        heldOut = TestModels.json("demo-held-out.json");
    }

    @AfterAll
    static void close() throws Exception {
        engine.close();
        tokenizer.close();
    }

    private static List<JsonNode> cases(String kind) {
        List<JsonNode> cases = new ArrayList<>();
        heldOut.path("cases").forEach(c -> {
            if (c.path("kind").asString().equals(kind)) {
                cases.add(c);
            }
        });
        return cases;
    }

    private static KotodamaChatOptions.Builder options(JsonNode c) {
        return KotodamaChatOptions.builder().reasoningEffort(ReasoningEffort.of(c.path("reasoning_effort").asString()));
    }

    @Test
    void answersHeldOutArithmeticWithReasoningThenAnAnswer() {
        List<JsonNode> cases = cases("arithmetic");
        int wellFormed = 0;
        int correct = 0;
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : cases) {
            Generation result = chatModel.call(new Prompt(c.path("question").asString(), options(c).build())).getResult();
            AssistantMessage output = result.getOutput();
            String reasoning = (String) output.getMetadata().getOrDefault(KotodamaChatModel.REASONING_CONTENT, "");
            String answer = String.valueOf(output.getText());
            boolean formed = "stop".equals(result.getMetadata().getFinishReason()) && !reasoning.isBlank()
                    && !answer.isBlank() && !output.hasToolCalls();
            Pattern number = Pattern.compile("(?<![\\d-])" + Pattern.quote(c.path("answer").asString()) + "(?!\\d)");
            boolean right = formed && number.matcher(answer).find();
            wellFormed += formed ? 1 : 0;
            correct += right ? 1 : 0;
            if (!right && wrong.size() < 5) {
                wrong.add(c.path("question").asString() + " -> " + answer);
            }
        }
        System.out.printf("demo model, %d held-out arithmetic prompts (greedy): well-formed analysis then final %d, "
                + "correct number %d; some misses: %s%n", cases.size(), wellFormed, correct, wrong);
        assertThat(cases).hasSize(100);
        assertThat(wellFormed).isGreaterThanOrEqualTo(95);
        assertThat(correct).isGreaterThanOrEqualTo(90);
    }

    @Test
    void callsTheDeclaredWeatherToolWithTheAskedTrainingCity() {
        ToolCalls calls = weatherCalls("weather");

        assertThat(calls.cases()).isEqualTo(50);
        assertThat(calls.wellFormed()).isGreaterThanOrEqualTo(45);
        assertThat(calls.right()).isGreaterThanOrEqualTo(43);
    }

    /** A city that training never names, in a template never seen: its name has to be copied into the call. */
    @Test
    void callsTheDeclaredWeatherToolForCitiesItNeverSaw() {
        ToolCalls calls = weatherCalls("weather_new_city");

        assertThat(calls.cases()).isEqualTo(50);
        assertThat(calls.wellFormed()).isGreaterThanOrEqualTo(45);
        assertThat(calls.right()).isGreaterThanOrEqualTo(40);
    }

    private record ToolCalls(int cases, int wellFormed, int right) {
    }

    private static ToolCalls weatherCalls(String kind) {
        ToolCallback weather = new DeclaredOnly(heldOut.path("weather_tool").path("function"));
        List<JsonNode> cases = cases(kind);
        int wellFormed = 0;
        int right = 0;
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : cases) {
            KotodamaChatOptions options = options(c).toolCallbacks(List.of(weather)).build();
            ChatResponse response = chatModel.call(new Prompt(c.path("question").asString(), options));
            List<AssistantMessage.ToolCall> calls = response.getResult().getOutput().getToolCalls();
            Map<?, ?> arguments = calls.size() == 1 ? arguments(calls.get(0)) : Map.of();
            boolean formed = calls.size() == 1 && calls.get(0).name().equals("get_weather")
                    && "tool_calls".equals(response.getResult().getMetadata().getFinishReason())
                    && arguments.size() == 1 && arguments.get("city") instanceof String city && !city.isBlank();
            boolean correct = formed && arguments.equals(Map.of("city", c.path("answer").asString()));
            wellFormed += formed ? 1 : 0;
            right += correct ? 1 : 0;
            if (!correct && wrong.size() < 5) {
                wrong.add(c.path("question").asString() + " -> " + calls);
            }
        }
        System.out.printf("demo model, %d held-out %s prompts (greedy): a get_weather call with JSON arguments "
                + "{\"city\": text} %d, with the right city %d; some misses: %s%n", cases.size(), kind, wellFormed, right,
                wrong);
        return new ToolCalls(cases.size(), wellFormed, right);
    }

    private static Map<?, ?> arguments(AssistantMessage.ToolCall call) {
        try {
            return JSON.readValue(call.arguments(), Map.class);
        }
        catch (RuntimeException ex) {
            return Map.of();
        }
    }

    /** A tool that is declared to the model and never run (the test reads the model's call). */
    private record DeclaredOnly(JsonNode function) implements ToolCallback {

        @Override
        public ToolDefinition getToolDefinition() {
            return ToolDefinition.builder()
                .name(function.path("name").asString())
                .description(function.path("description").asString())
                .inputSchema(JSON.writeValueAsString(function.path("parameters")))
                .build();
        }

        @Override
        public String call(String toolInput) {
            throw new AssertionError("the test runs no tool: " + toolInput);
        }
    }
}
