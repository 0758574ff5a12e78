package dev.kotodama.harmony;

import java.util.Objects;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * A function tool offered to the model, rendered in the developer block as a TypeScript-like type.
 *
 * @param description required: the template fails without one (an API layer may pass "")
 * @param parameters a JSON schema ({@code {"type": "object", "properties": ..., "required": [...]}}), or
 *     null for a function without parameters
 */
public record ToolDefinition(String name, String description, @Nullable JsonNode parameters) {

    public ToolDefinition {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(description, "description must not be null");
    }
}
