package dev.kotodama.harmony;

import java.util.Objects;

/**
 * A conversation the chat template refuses to render: the cases where it calls
 * {@code raise_exception}, and the tool definitions on which its Jinja expressions fail.
 */
public final class InvalidConversationException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** What is wrong, one constant per failure of the template. */
    public enum Problem {
        /** An assistant message's content holds {@code <|channel|>analysis<|message|>} or {@code <|channel|>final<|message|>}. */
        CHANNEL_TAGS_IN_CONTENT,
        /** The same in an assistant message's reasoning. */
        CHANNEL_TAGS_IN_REASONING,
        /** An assistant message with a tool call has both content and reasoning; only one can be its analysis. */
        CONTENT_AND_REASONING_WITH_TOOL_CALL,
        /** A tool result without an assistant tool call before it (since the last final answer). */
        TOOL_RESULT_WITHOUT_TOOL_CALL,
        /** A tool definition the template cannot render (a non-text description or default where it needs text). */
        INVALID_TOOL_DEFINITION
    }

    private final Problem problem;

    public InvalidConversationException(Problem problem, String message) {
        super(message);
        this.problem = Objects.requireNonNull(problem, "problem must not be null");
    }

    public Problem problem() {
        return problem;
    }
}
