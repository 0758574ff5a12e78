package dev.kotodama.ai;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.kotodama.harmony.ChatMessage;
import dev.kotodama.harmony.Conversation;
import dev.kotodama.harmony.HarmonyOptions;
import dev.kotodama.harmony.ToolCall;
import dev.kotodama.harmony.ToolDefinition;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.StringNode;

/**
 * Spring AI's messages and tool definitions in Harmony's terms, for {@code HarmonyRenderer}.
 *
 * <ul>
 * <li>System (and developer) messages become {@link ChatMessage.Instructions}: the first message's is
 * the developer block; the chat template drops the others, and so does the renderer.</li>
 * <li>An assistant message's reasoning is read from its metadata ({@code reasoningContent}, else
 * {@code thinking}), where this model puts it. With tool calls, the template renders one text as the
 * call's analysis: the reasoning, else the message's text.</li>
 * <li>Tool-call arguments are JSON text in Spring AI (as in OpenAI's API); they are parsed into JSON
 * values, since the template {@code tojson}s them (an unparseable text stays a JSON string).</li>
 * <li>A tool result that is a JSON string (Spring AI's form of a tool's text) is unquoted, since the
 * template {@code tojson}s the result itself; other results pass as they are.</li>
 * <li>The template renders one tool call per assistant message and names each result after the call
 * before it, so a message with several calls is rendered as one call per message, each followed by
 * its result.</li>
 * </ul>
 */
final class HarmonyConversations {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HarmonyConversations() {
    }

    static Conversation of(List<Message> messages, List<org.springframework.ai.tool.definition.ToolDefinition> tools,
            HarmonyOptions options) {
        return new Conversation(messages(messages), tools.stream().map(HarmonyConversations::tool).toList(), options);
    }

    static List<ChatMessage> messages(List<Message> messages) {
        List<ChatMessage> converted = new ArrayList<>();
        List<AssistantMessage.ToolCall> calls = List.of(); // the last assistant message's, for its results
        for (Message message : messages) {
            if (message instanceof SystemMessage system) {
                converted.add(new ChatMessage.Instructions(text(system)));
            }
            else if (message instanceof UserMessage user) {
                converted.add(user(user));
            }
            else if (message instanceof AssistantMessage assistant) {
                converted.add(assistant(assistant));
                calls = assistant.getToolCalls();
            }
            else if (message instanceof ToolResponseMessage results) {
                List<ToolResponseMessage.ToolResponse> responses = results.getResponses();
                for (int i = 0; i < responses.size(); i++) {
                    if (i > 0 && i < calls.size()) {
                        converted.add(ChatMessage.Assistant.toolCall(null, toolCall(calls.get(i))));
                    }
                    converted.add(new ChatMessage.ToolResult(toolResult(nonNull(responses.get(i).responseData()))));
                }
            }
            else {
                throw new IllegalArgumentException("unsupported message type " + message.getMessageType());
            }
        }
        return converted;
    }

    /**
     * A tool's result as the template's tool message content. Spring AI passes a tool's return value as
     * JSON, so a returned text arrives quoted ({@code "21 °C"}); it is unquoted here, since the template
     * {@code tojson}s the content itself. Any other JSON stays as it is.
     */
    private static String toolResult(String data) {
        JsonNode node = json(data);
        return node.isString() && data.strip().startsWith("\"") ? node.asString() : data;
    }

    private static ChatMessage user(UserMessage user) {
        if (!user.getMedia().isEmpty()) {
            throw new IllegalArgumentException("this model reads text only, but a user message has "
                    + user.getMedia().size() + " media attachment(s)");
        }
        return new ChatMessage.User(text(user));
    }

    private static ChatMessage assistant(AssistantMessage assistant) {
        String reasoning = reasoning(assistant.getMetadata());
        if (!assistant.hasToolCalls()) {
            return ChatMessage.Assistant.answer(text(assistant), reasoning);
        }
        ToolCall first = toolCall(assistant.getToolCalls().get(0));
        return reasoning != null ? new ChatMessage.Assistant("", reasoning, List.of(first))
                : new ChatMessage.Assistant(text(assistant), null, List.of(first));
    }

    private static @Nullable String reasoning(Map<String, Object> metadata) {
        for (String key : List.of(KotodamaChatModel.REASONING_CONTENT, KotodamaChatModel.THINKING)) {
            if (metadata.get(key) instanceof String reasoning && !reasoning.isEmpty()) {
                return reasoning;
            }
        }
        return null;
    }

    private static ToolCall toolCall(AssistantMessage.ToolCall call) {
        return new ToolCall(call.name(), json(nonNull(call.arguments())));
    }

    private static ToolDefinition tool(org.springframework.ai.tool.definition.ToolDefinition tool) {
        String schema = tool.inputSchema();
        return new ToolDefinition(tool.name(), nonNull(tool.description()),
                schema == null || schema.isBlank() ? null : json(schema));
    }

    /** A JSON value from its text; text that is not JSON stays a JSON string. */
    static JsonNode json(String text) {
        try {
            JsonNode node = JSON.readTree(text);
            return node == null || node.isMissingNode() ? StringNode.valueOf(text) : node;
        }
        catch (JacksonException ex) {
            return StringNode.valueOf(text);
        }
    }

    private static String text(Message message) {
        return nonNull(message.getText());
    }

    private static String nonNull(@Nullable String text) {
        return text != null ? text : "";
    }
}
