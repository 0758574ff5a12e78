package dev.kotodama.harmony;

import java.util.Objects;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * A call of a function tool in an assistant turn.
 *
 * @param name the function's name, without the {@code functions.} namespace
 * @param arguments rendered with Python's {@code json.dumps}: an object for the usual case; a string
 *     node is rendered as a JSON string (as the template does with OpenAI's string-encoded arguments,
 *     so parse those first)
 * @param contentType the header's content type, {@code json} when null
 */
public record ToolCall(String name, JsonNode arguments, @Nullable String contentType) {

    public ToolCall {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(arguments, "arguments must not be null");
    }

    public ToolCall(String name, JsonNode arguments) {
        this(name, arguments, null);
    }
}
