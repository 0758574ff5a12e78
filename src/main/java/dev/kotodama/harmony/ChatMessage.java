package dev.kotodama.harmony;

import java.util.List;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * One message of a conversation, in the terms of the LLM-jp-4 chat template. Strings are never
 * null; "" is an empty message.
 */
public sealed interface ChatMessage
        permits ChatMessage.Instructions, ChatMessage.User, ChatMessage.Assistant, ChatMessage.ToolResult {

    /**
     * A system or developer message: the template treats both the same. As the first message it becomes
     * the developer block ({@code # Instructions}); anywhere else the template drops it, and so does the
     * renderer.
     */
    record Instructions(String content) implements ChatMessage {
        public Instructions {
            Objects.requireNonNull(content, "content must not be null");
        }
    }

    record User(String content) implements ChatMessage {
        public User {
            Objects.requireNonNull(content, "content must not be null");
        }
    }

    /**
     * A past assistant turn. {@code reasoning} is the analysis channel (the template's {@code thinking});
     * it is rendered only in an unfinished tool-calling turn. With tool calls, {@code content} is
     * rendered as analysis too (so it and {@code reasoning} cannot both be set), and the template renders
     * only the first call.
     */
    record Assistant(String content, @Nullable String reasoning, List<ToolCall> toolCalls) implements ChatMessage {
        public Assistant {
            Objects.requireNonNull(content, "content must not be null");
            toolCalls = List.copyOf(Objects.requireNonNull(toolCalls, "toolCalls must not be null"));
        }

        public static Assistant answer(String content) {
            return new Assistant(content, null, List.of());
        }

        public static Assistant answer(String content, @Nullable String reasoning) {
            return new Assistant(content, reasoning, List.of());
        }

        public static Assistant toolCall(@Nullable String reasoning, ToolCall call) {
            return new Assistant("", reasoning, List.of(call));
        }
    }

    /** The result of the most recent tool call; the template names it after that call's function. */
    record ToolResult(String content) implements ChatMessage {
        public ToolResult {
            Objects.requireNonNull(content, "content must not be null");
        }
    }
}
