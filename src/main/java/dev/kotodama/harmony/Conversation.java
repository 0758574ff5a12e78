package dev.kotodama.harmony;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a prompt is rendered from: the messages (an optional first {@link ChatMessage.Instructions},
 * then user, assistant and tool-result messages), the function tools offered, and the options.
 */
public record Conversation(List<ChatMessage> messages, List<ToolDefinition> tools, HarmonyOptions options) {

    public Conversation {
        messages = List.copyOf(Objects.requireNonNull(messages, "messages must not be null"));
        tools = List.copyOf(Objects.requireNonNull(tools, "tools must not be null"));
        Objects.requireNonNull(options, "options must not be null");
    }

    public static Conversation of(List<ChatMessage> messages) {
        return new Conversation(messages, List.of(), HarmonyOptions.DEFAULTS);
    }

    /** This conversation with one more message, as history grows turn by turn. */
    public Conversation with(ChatMessage message) {
        Objects.requireNonNull(message, "message must not be null");
        List<ChatMessage> longer = new ArrayList<>(messages);
        longer.add(message);
        return new Conversation(longer, tools, options);
    }
}
