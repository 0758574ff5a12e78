package dev.kotodama.harmony;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import dev.kotodama.harmony.HarmonyEvent.AnswerDelta;
import dev.kotodama.harmony.HarmonyEvent.End;
import dev.kotodama.harmony.HarmonyEvent.PreambleDelta;
import dev.kotodama.harmony.HarmonyEvent.ReasoningDelta;
import dev.kotodama.harmony.HarmonyEvent.ToolCallParsed;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.StringNode;

/**
 * An assistant turn put together from {@link HarmonyParser}'s events, for a non-streaming answer and
 * for the conversation's history ({@link #toMessage()}). Not thread-safe.
 */
public final class AssistantTurn {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final StringBuilder reasoning = new StringBuilder();

    private final StringBuilder preamble = new StringBuilder();

    private final StringBuilder answer = new StringBuilder();

    private final List<ToolCallParsed> toolCalls = new ArrayList<>();

    private @Nullable EndReason endReason;

    public AssistantTurn accept(HarmonyEvent event) {
        Objects.requireNonNull(event, "event must not be null");
        if (event instanceof ReasoningDelta delta) {
            reasoning.append(delta.text());
        }
        else if (event instanceof PreambleDelta delta) {
            preamble.append(delta.text());
        }
        else if (event instanceof AnswerDelta delta) {
            answer.append(delta.text());
        }
        else if (event instanceof ToolCallParsed call) {
            toolCalls.add(call);
        }
        else if (event instanceof End end) {
            endReason = end.reason();
        }
        return this;
    }

    public AssistantTurn acceptAll(List<HarmonyEvent> events) {
        events.forEach(this::accept);
        return this;
    }

    public String reasoning() {
        return reasoning.toString();
    }

    public String preamble() {
        return preamble.toString();
    }

    public String answer() {
        return answer.toString();
    }

    public List<ToolCallParsed> toolCalls() {
        return List.copyOf(toolCalls);
    }

    /** Null until the turn has ended. */
    public @Nullable EndReason endReason() {
        return endReason;
    }

    /**
     * The turn as history: the answer and the reasoning (which the template renders only while a tool
     * call is unfinished), or the tool calls with their arguments parsed as JSON (kept as a JSON string
     * when they do not parse). The preamble is not part of it: the template has no place for it.
     */
    public ChatMessage.Assistant toMessage() {
        String thinking = reasoning.isEmpty() ? null : reasoning.toString();
        if (toolCalls.isEmpty()) {
            return ChatMessage.Assistant.answer(answer.toString(), thinking);
        }
        List<ToolCall> calls = toolCalls.stream().map(call -> new ToolCall(call.name(), parse(call.arguments()))).toList();
        return new ChatMessage.Assistant("", thinking, calls);
    }

    private static JsonNode parse(String arguments) {
        try {
            JsonNode node = JSON.readTree(arguments);
            return node == null || node.isMissingNode() ? StringNode.valueOf(arguments) : node;
        }
        catch (JacksonException ex) {
            return StringNode.valueOf(arguments);
        }
    }
}
