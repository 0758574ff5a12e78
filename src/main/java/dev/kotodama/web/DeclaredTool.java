package dev.kotodama.web;

import org.jspecify.annotations.Nullable;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;

/**
 * A tool that a client declares and runs itself (OpenAI's API): the model sees its definition and
 * returns calls to it; the server never runs it.
 */
record DeclaredTool(String name, String description, @Nullable String parametersSchema) implements ToolCallback {

    @Override
    public ToolDefinition getToolDefinition() {
        return ToolDefinition.builder().name(name).description(description)
            .inputSchema(parametersSchema != null ? parametersSchema : "{\"type\":\"object\",\"properties\":{}}")
            .build();
    }

    @Override
    public String call(String toolInput) {
        throw new UnsupportedOperationException("the client runs " + name + ", not the server");
    }
}
