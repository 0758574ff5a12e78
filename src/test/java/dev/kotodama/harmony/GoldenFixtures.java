package dev.kotodama.harmony;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import dev.kotodama.TestModels;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * src/test/resources/harmony/golden.json, made by export/tests/harmony_fixtures.py with transformers'
 * apply_chat_template and the LLM-jp-4 chat_template.jinja, read into this package's types the way an
 * API layer would map OpenAI-style messages.
 */
final class GoldenFixtures {

    static final String RESOURCE = "/harmony/golden.json";

    private static final JsonNode ROOT = read();

    /** One rendered conversation. */
    record Golden(String name, Conversation conversation, String rendered, int[] ids, @Nullable Reply reply) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The model's answer to a conversation, and the history with it. */
    record Reply(String generated, int[] generatedIds, Expected expected, ChatMessage.Assistant message,
            String renderedAfter, int[] idsAfter) {
    }

    record Expected(String reasoning, String preamble, String answer, List<ExpectedCall> toolCalls, EndReason end) {
    }

    record ExpectedCall(String name, JsonNode arguments) {
    }

    /** A conversation the template refuses, with its error message. */
    record Failing(String name, JsonNode messages, JsonNode tools, JsonNode kwargs, String error) {
        @Override
        public String toString() {
            return name;
        }
    }

    private GoldenFixtures() {
    }

    /**
     * A renderer on the fixture tokenizer whose clock is fixed far from the fixtures' date, so a test
     * passes only if the conversation's own date reaches the prompt.
     */
    static HarmonyRenderer renderer() {
        return new HarmonyRenderer(TestModels.tokenizer(), Clock.fixed(Instant.parse("1999-01-01T00:00:00Z"), ZoneOffset.UTC));
    }

    static String templateSha256() {
        return ROOT.path("template_sha256").asString();
    }

    static List<Golden> conversations() {
        List<Golden> goldens = new ArrayList<>();
        for (JsonNode entry : ROOT.path("conversations")) {
            Conversation conversation = conversation(entry.path("messages"), entry.path("tools"), entry.path("kwargs"));
            goldens.add(new Golden(entry.path("name").asString(), conversation, entry.path("rendered").asString(),
                    ids(entry.path("ids")), entry.has("reply") ? reply(entry.path("reply")) : null));
        }
        return goldens;
    }

    static List<Golden> withReplies() {
        return conversations().stream().filter(golden -> golden.reply() != null).toList();
    }

    static List<Failing> failing() {
        List<Failing> failing = new ArrayList<>();
        for (JsonNode entry : ROOT.path("errors")) {
            failing.add(new Failing(entry.path("name").asString(), entry.path("messages"), entry.path("tools"),
                    entry.path("kwargs"), entry.path("error").asString()));
        }
        return failing;
    }

    static Conversation conversation(JsonNode messages, JsonNode tools, JsonNode kwargs) {
        List<ChatMessage> converted = new ArrayList<>();
        messages.forEach(message -> converted.add(message(message)));
        List<ToolDefinition> definitions = new ArrayList<>();
        tools.forEach(tool -> definitions.add(tool(tool.path("function"))));
        return new Conversation(converted, definitions, options(kwargs));
    }

    static ChatMessage message(JsonNode message) {
        String content = message.path("content").asString("");
        return switch (message.path("role").asString()) {
            case "system", "developer" -> new ChatMessage.Instructions(content);
            case "user" -> new ChatMessage.User(content);
            case "tool" -> new ChatMessage.ToolResult(content);
            case "assistant" -> {
                List<ToolCall> calls = new ArrayList<>();
                for (JsonNode call : message.path("tool_calls")) {
                    JsonNode function = call.has("function") ? call.path("function") : call;
                    calls.add(new ToolCall(function.path("name").asString(), function.path("arguments"),
                            function.has("content_type") ? function.path("content_type").asString() : null));
                }
                JsonNode thinking = message.path("thinking");
                yield new ChatMessage.Assistant(content, thinking.isString() ? thinking.asString() : null, calls);
            }
            default -> throw new IllegalArgumentException("unknown role in " + message);
        };
    }

    static ToolDefinition tool(JsonNode function) {
        JsonNode parameters = function.path("parameters");
        return new ToolDefinition(function.path("name").asString(),
                function.has("description") ? function.path("description").asString() : null,
                parameters.isMissingNode() ? null : parameters);
    }

    static HarmonyOptions options(JsonNode kwargs) {
        HarmonyOptions.Builder options = HarmonyOptions.builder()
                .currentDate(LocalDate.parse(kwargs.path("conversation_start_date").asString()));
        if (kwargs.has("reasoning_effort")) {
            options.reasoningEffort(ReasoningEffort.of(kwargs.path("reasoning_effort").asString()));
        }
        if (kwargs.has("model_identity")) {
            options.modelIdentity(kwargs.path("model_identity").asString());
        }
        if (kwargs.has("knowledge_cutoff")) {
            options.knowledgeCutoff(kwargs.path("knowledge_cutoff").asString());
        }
        Set<BuiltinTool> builtins = EnumSet.noneOf(BuiltinTool.class);
        kwargs.path("builtin_tools").forEach(name -> builtins.add(BuiltinTool.valueOf(name.asString().toUpperCase(Locale.ROOT))));
        return options.builtinTools(builtins).build();
    }

    private static Reply reply(JsonNode reply) {
        JsonNode expected = reply.path("expected");
        List<ExpectedCall> calls = new ArrayList<>();
        expected.path("tool_calls").forEach(call -> calls.add(new ExpectedCall(call.path("name").asString(), call.path("arguments"))));
        Expected parsed = new Expected(expected.path("reasoning").asString(), expected.path("preamble").asString(),
                expected.path("answer").asString(), calls,
                EndReason.valueOf(expected.path("end").asString().toUpperCase(Locale.ROOT)));
        return new Reply(reply.path("generated").asString(), ids(reply.path("generated_ids")), parsed,
                (ChatMessage.Assistant) message(reply.path("message")), reply.path("rendered_after").asString(),
                ids(reply.path("ids_after")));
    }

    private static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    private static JsonNode read() {
        try (InputStream in = GoldenFixtures.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the test classpath");
            }
            return JsonMapper.builder().build().readTree(in);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
