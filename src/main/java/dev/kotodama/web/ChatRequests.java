package dev.kotodama.web;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import dev.kotodama.ai.KotodamaChatModel;
import dev.kotodama.ai.KotodamaChatOptions;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.tool.ToolCallback;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Request bodies as Spring AI prompts, checked field by field: every refusal is a 400 that names the
 * field ({@code messages[2].role}) and what it must be.
 *
 * <p>Messages have OpenAI's shape in both APIs: roles system, developer, user, assistant and tool;
 * content as a string or as text parts; an assistant's {@code tool_calls} and its reasoning
 * ({@code reasoning_content} or {@code reasoning}); a tool result's {@code tool_call_id}.
 */
final class ChatRequests {

    static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    /** OpenAI's rule for function names; anything else could write Harmony header text ({@code to=}, newlines). */
    static final Pattern TOOL_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    /**
     * Every top-level parameter of OpenAI's chat-completions request, as the openai Python SDK's
     * {@code completion_create_params} lists them; any other key is refused as unknown.
     */
    static final Set<String> OPENAI_PARAMETERS = Set.of("audio", "frequency_penalty", "function_call", "functions",
            "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model",
            "moderation", "n", "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key",
            "prompt_cache_options", "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier",
            "seed", "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
            "top_logprobs", "top_p", "user", "verbosity", "web_search_options");

    /** OpenAI's parameters that this server honours in no value, and why. */
    private static final Map<String, String> REFUSED = Map.of(
            "audio", "this model writes text only",
            "function_call", "it is deprecated; use tool_choice",
            "functions", "it is deprecated; use tools",
            "moderation", "this server runs no moderation",
            "prediction", "this server does not use predicted outputs",
            "verbosity", "this server does not steer the answer's length; use max_completion_tokens or the messages",
            "web_search_options", "this server does not search the web");

    /** The chat page's body, and its options, in the order its errors list them. */
    static final List<String> PAGE_FIELDS = List.of("messages", "options", "tools");

    static final List<String> PAGE_OPTIONS = List.of("reasoningEffort", "temperature", "topP", "maxTokens", "seed", "stop");

    private static final List<String> MESSAGE_FIELDS = List.of("role", "content", "tool_calls", "tool_call_id",
            "reasoning_content", "reasoning");

    private ChatRequests() {
    }

    /**
     * A request, read.
     *
     * @param stream whether the client asked for a stream
     * @param includeUsage whether a streamed OpenAI response ends with a usage chunk
     * @param logprobs whether the response carries the answer tokens' log probabilities
     */
    record ChatCall(Prompt prompt, boolean stream, boolean includeUsage, boolean logprobs) {
    }

    /**
     * An OpenAI chat-completions body for the model {@code modelId}, within the limits of {@code limits}:
     * every parameter is honoured, refused as unsupported in the values this server cannot honour, or (the
     * metadata that changes no answer) checked and ignored; any other key is refused as unknown.
     */
    static ChatCall openAi(JsonNode body, KotodamaWebProperties limits, String modelId) {
        requireObject(body, null, "the request body");
        for (String name : body.propertyNames()) {
            if (!OPENAI_PARAMETERS.contains(name)) {
                throw ApiException.unknown(name, "unknown parameter " + quoted(name)
                        + ": not a parameter of OpenAI's chat completions, and this server takes no others");
            }
        }
        String model = text(body, "model", "model");
        if (model != null && !model.equals(modelId) && !limits.acceptAnyModel()) {
            throw ApiException.modelNotFound("the model " + quoted(model) + " does not exist: this server serves '"
                    + modelId + "' (GET /v1/models), or any name with kotodama.web.accept-any-model=true");
        }
        refuseUnsupported(body);
        checkIgnored(body);
        List<Message> messages = messages(body.get("messages"), false);
        KotodamaChatOptions.Builder options = KotodamaChatOptions.builder();
        options.temperature(number(body, "temperature", 0, 2, true, "temperature"));
        options.topP(number(body, "top_p", 0, 1, false, "top_p"));
        Integer maxCompletionTokens = positiveInt(body, "max_completion_tokens", "max_completion_tokens");
        Integer maxTokens = positiveInt(body, "max_tokens", "max_tokens"); // checked even when the other wins
        options.maxTokens(maxCompletionTokens != null ? maxCompletionTokens : maxTokens);
        options.stopSequences(stop(body.get("stop"), "stop", limits));
        options.seed(longValue(body, "seed", "seed"));
        options.reasoningEffort(effort(body, "reasoning_effort", "reasoning_effort"));
        options.frequencyPenalty(number(body, "frequency_penalty", -2, 2, true, "frequency_penalty"));
        options.presencePenalty(number(body, "presence_penalty", -2, 2, true, "presence_penalty"));
        boolean logprobs = bool(body, "logprobs", "logprobs");
        Integer topLogprobs = topLogprobs(body, logprobs);
        options.logprobs(logprobs ? true : null).topLogprobs(topLogprobs);
        bool(body, "parallel_tool_calls", "parallel_tool_calls");
        List<ToolCallback> tools = tools(body.get("tools"), false);
        if (toolsWanted(body.get("tool_choice"), tools)) {
            options.toolCallbacks(tools);
        }
        boolean stream = bool(body, "stream", "stream");
        JsonNode streamOptions = body.get("stream_options");
        boolean includeUsage = false;
        if (streamOptions != null && !streamOptions.isNull()) {
            requireObject(streamOptions, "stream_options", "stream_options");
            includeUsage = bool(streamOptions, "include_usage", "stream_options.include_usage");
        }
        return new ChatCall(new Prompt(messages, checked(options)), stream, includeUsage, logprobs);
    }

    /** OpenAI's {@code top_logprobs}: 0 to 20, and only with {@code logprobs: true}. */
    private static @Nullable Integer topLogprobs(JsonNode body, boolean logprobs) {
        JsonNode value = body.get("top_logprobs");
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < 0
                || value.asInt() > KotodamaChatOptions.MAX_TOP_LOGPROBS) {
            throw ApiException.invalid("top_logprobs", "top_logprobs must be a whole number from 0 to "
                    + KotodamaChatOptions.MAX_TOP_LOGPROBS + ", got " + value);
        }
        if (!logprobs) {
            throw ApiException.invalid("top_logprobs", "top_logprobs needs \"logprobs\": true");
        }
        return value.asInt();
    }

    /**
     * Refuses OpenAI's parameters that this server cannot honour, once their type and range are right:
     * more than one choice, a response format other than text, a logit bias, output other than text, and
     * {@link #REFUSED}.
     */
    private static void refuseUnsupported(JsonNode body) {
        REFUSED.forEach((name, why) -> {
            JsonNode value = body.get(name);
            if (value != null && !value.isNull()) {
                throw ApiException.unsupported(name, name + " is not supported: " + why + "; leave it out");
            }
        });
        Integer n = positiveInt(body, "n", "n");
        if (n != null && n != 1) {
            throw ApiException.unsupported("n", "n must be 1: this server generates one choice per request");
        }
        JsonNode format = body.get("response_format");
        if (format != null && !format.isNull()) {
            requireObject(format, "response_format", "response_format");
            if (!"text".equals(text(format, "type", "response_format.type"))) {
                throw ApiException.unsupported("response_format", "response_format must be {\"type\": \"text\"}: this "
                        + "server cannot hold an answer to JSON or a schema; ask for JSON in the messages");
            }
        }
        JsonNode bias = body.get("logit_bias");
        if (bias != null && !bias.isNull()) {
            requireObject(bias, "logit_bias", "logit_bias");
            if (!bias.isEmpty()) {
                throw ApiException.unsupported("logit_bias", "logit_bias is not supported: this server biases no "
                        + "tokens; leave it out or {}");
            }
        }
        JsonNode modalities = body.get("modalities");
        if (modalities != null && !modalities.isNull()) {
            if (!modalities.isArray()) {
                throw ApiException.invalid("modalities", "modalities must be an array of strings, got " + modalities);
            }
            for (JsonNode modality : modalities) {
                if (!modality.isString()) {
                    throw ApiException.invalid("modalities", "modalities must be an array of strings, got " + modalities);
                }
                if (!modality.asString().equals("text")) {
                    throw ApiException.unsupported("modalities", "modalities may only be [\"text\"]: this model writes "
                            + "text only");
                }
            }
        }
    }

    /** Checks the type of the metadata that this server accepts and ignores (it changes no answer). */
    private static void checkIgnored(JsonNode body) {
        for (String field : List.of("user", "service_tier", "safety_identifier", "prompt_cache_key",
                "prompt_cache_retention")) {
            text(body, field, field);
        }
        bool(body, "store", "store");
        for (String field : List.of("metadata", "prompt_cache_options")) {
            JsonNode value = body.get(field);
            if (value != null && !value.isNull()) {
                requireObject(value, field, field);
            }
        }
    }

    /**
     * The chat page's body: {@code {"messages": [...], "options": {"reasoningEffort", "temperature",
     * "topP", "maxTokens", "seed", "stop"}, "tools": [...]}}, options optional; within the stop-sequence
     * limits of {@code limits}.
     */
    static Prompt page(JsonNode body, KotodamaWebProperties limits) {
        requireObject(body, null, "the request body");
        for (String name : body.propertyNames()) {
            if (!PAGE_FIELDS.contains(name)) {
                String option = camel(name);
                throw ApiException.unknown(name, "unknown field " + quoted(name) + ": the body holds "
                        + String.join(", ", PAGE_FIELDS) + (PAGE_OPTIONS.contains(option) ? "; " + name
                        + " is an option: use options." + option : ""));
            }
        }
        List<Message> messages = messages(body.get("messages"), true);
        KotodamaChatOptions.Builder options = KotodamaChatOptions.builder();
        JsonNode given = body.get("options");
        if (given != null && !given.isNull()) {
            requireObject(given, "options", "options");
            onlyKnown(given, "options", PAGE_OPTIONS);
            options.temperature(number(given, "temperature", 0, 2, true, "options.temperature"));
            options.topP(number(given, "topP", 0, 1, false, "options.topP"));
            options.maxTokens(positiveInt(given, "maxTokens", "options.maxTokens"));
            options.seed(longValue(given, "seed", "options.seed"));
            options.reasoningEffort(effort(given, "reasoningEffort", "options.reasoningEffort"));
            options.stopSequences(stop(given.get("stop"), "options.stop", limits));
        }
        List<ToolCallback> tools = tools(body.get("tools"), true);
        if (!tools.isEmpty()) {
            options.toolCallbacks(tools);
        }
        return new Prompt(messages, checked(options));
    }

    private static KotodamaChatOptions checked(KotodamaChatOptions.Builder options) {
        try {
            return options.build();
        }
        catch (IllegalArgumentException ex) {
            throw ApiException.invalid(null, String.valueOf(ex.getMessage()));
        }
    }

    /**
     * Refuses a field of {@code object} (at {@code at}) other than {@code fields}, naming it and the fields
     * there are; a snake_case name for one of them ({@code max_tokens}) is told the right one.
     */
    private static void onlyKnown(JsonNode object, String at, List<String> fields) {
        for (String name : object.propertyNames()) {
            if (!fields.contains(name)) {
                String param = at + "." + name;
                String camel = camel(name);
                throw ApiException.unknown(param, "unknown field " + quoted(param) + ": " + at + " holds "
                        + String.join(", ", fields) + (fields.contains(camel) ? "; use " + at + "." + camel : ""));
            }
        }
    }

    private static String camel(String name) {
        StringBuilder camel = new StringBuilder();
        boolean upper = false;
        for (char c : name.toCharArray()) {
            if (c == '_') {
                upper = true;
            }
            else {
                camel.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return camel.toString();
    }

    private static String quoted(String text) {
        return JsonMapper.shared().writeValueAsString(text.length() > 80 ? text.substring(0, 80) + "…" : text);
    }

    /** The messages; {@code strict}: a field the chat page's API does not read is refused. */
    static List<Message> messages(@Nullable JsonNode node, boolean strict) {
        if (node == null || node.isNull()) {
            throw ApiException.invalid("messages", "messages is required: an array of {\"role\", \"content\"} objects");
        }
        if (!node.isArray() || node.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array of {\"role\", \"content\"} objects");
        }
        List<Message> messages = new ArrayList<>();
        Map<String, String> callNames = new HashMap<>();
        List<ToolResponseMessage.ToolResponse> results = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode message = node.get(i);
            requireObject(message, at, at);
            if (strict) {
                onlyKnown(message, at, MESSAGE_FIELDS);
            }
            String role = text(message, "role", at + ".role");
            if (role == null || !ROLES.contains(role)) {
                throw ApiException.invalid(at + ".role", at + ".role must be one of system, developer, user, assistant, "
                        + "tool; got " + (role == null ? "nothing" : "'" + role + "'"));
            }
            if (!role.equals("tool") && !results.isEmpty()) {
                messages.add(ToolResponseMessage.builder().responses(List.copyOf(results)).build());
                results.clear();
            }
            switch (role) {
                case "system", "developer" -> messages.add(new SystemMessage(content(message, at, false)));
                case "user" -> messages.add(new UserMessage(content(message, at, false)));
                case "assistant" -> messages.add(assistant(message, at, callNames, strict));
                default -> {
                    String id = text(message, "tool_call_id", at + ".tool_call_id");
                    if (id == null) {
                        throw ApiException.invalid(at + ".tool_call_id",
                                at + ".tool_call_id is required: the id of the assistant's tool call this answers");
                    }
                    results.add(new ToolResponseMessage.ToolResponse(id, callNames.getOrDefault(id, ""),
                            content(message, at, false)));
                }
            }
        }
        if (!results.isEmpty()) {
            messages.add(ToolResponseMessage.builder().responses(List.copyOf(results)).build());
        }
        return messages;
    }

    private static Message assistant(JsonNode message, String at, Map<String, String> callNames, boolean strict) {
        List<AssistantMessage.ToolCall> calls = new ArrayList<>();
        JsonNode toolCalls = message.get("tool_calls");
        if (toolCalls != null && !toolCalls.isNull()) {
            if (!toolCalls.isArray()) {
                throw ApiException.invalid(at + ".tool_calls", at + ".tool_calls must be an array");
            }
            for (int j = 0; j < toolCalls.size(); j++) {
                String callAt = at + ".tool_calls[" + j + "]";
                JsonNode call = toolCalls.get(j);
                requireObject(call, callAt, callAt);
                JsonNode function = call.get("function");
                requireObject(function, callAt + ".function", callAt + ".function");
                if (strict) {
                    onlyKnown(call, callAt, List.of("id", "type", "function"));
                    onlyKnown(function, callAt + ".function", List.of("name", "arguments"));
                }
                String name = toolName(function, callAt + ".function.name");
                String arguments = arguments(function, callAt + ".function.arguments");
                String id = text(call, "id", callAt + ".id");
                String callId = id != null ? id : "call_" + j;
                callNames.put(callId, name);
                calls.add(new AssistantMessage.ToolCall(callId, "function", name, arguments != null ? arguments : "{}"));
            }
        }
        Map<String, Object> properties = new HashMap<>();
        String reasoningContent = text(message, "reasoning_content", at + ".reasoning_content");
        String reasoningField = text(message, "reasoning", at + ".reasoning"); // checked even when the other wins
        String reasoning = reasoningContent != null ? reasoningContent : reasoningField;
        if (reasoning != null && !reasoning.isEmpty()) {
            properties.put(KotodamaChatModel.REASONING_CONTENT, reasoning);
        }
        return AssistantMessage.builder().content(content(message, at, !calls.isEmpty())).properties(properties)
            .toolCalls(calls).build();
    }

    /** A past tool call's arguments: as OpenAI's, a string that holds a JSON object. */
    private static @Nullable String arguments(JsonNode function, String param) {
        String arguments = text(function, "arguments", param);
        if (arguments == null) {
            return null;
        }
        JsonNode parsed;
        try {
            parsed = JsonMapper.shared().readTree(arguments);
        }
        catch (JacksonException ex) {
            parsed = null;
        }
        if (parsed == null || !parsed.isObject()) {
            throw ApiException.invalid(param, param + " must be a JSON object in a string (as OpenAI's: "
                    + "\"{\\\"city\\\": \\\"Tokyo\\\"}\"), got " + quoted(arguments));
        }
        return arguments;
    }

    /** A message's text: a string, or an array of {"type": "text", "text"} parts, joined. */
    private static String content(JsonNode message, String at, boolean optional) {
        JsonNode content = message.get("content");
        if (content == null || content.isNull()) {
            if (optional) {
                return "";
            }
            throw ApiException.invalid(at + ".content", at + ".content is required: a string or an array of text parts");
        }
        if (content.isString()) {
            return content.asString();
        }
        if (!content.isArray()) {
            throw ApiException.invalid(at + ".content", at + ".content must be a string or an array of text parts");
        }
        StringBuilder text = new StringBuilder();
        for (int k = 0; k < content.size(); k++) {
            JsonNode part = content.get(k);
            String partAt = at + ".content[" + k + "]";
            if (!part.isObject() || !"text".equals(part.path("type").asString(null)) || !part.path("text").isString()) {
                throw ApiException.invalid(partAt, partAt + " must be {\"type\": \"text\", \"text\": \"...\"}: this model "
                        + "reads text only");
            }
            text.append(part.get("text").asString());
        }
        return text.toString();
    }

    /** The declared tools; {@code strict}: a field the chat page's API does not read is refused. */
    private static List<ToolCallback> tools(@Nullable JsonNode node, boolean strict) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw ApiException.invalid("tools", "tools must be an array of {\"type\": \"function\", \"function\": {...}}");
        }
        List<ToolCallback> tools = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String at = "tools[" + i + "]";
            JsonNode tool = node.get(i);
            requireObject(tool, at, at);
            if (strict) {
                onlyKnown(tool, at, List.of("type", "function"));
            }
            if (!"function".equals(tool.path("type").asString(null))) {
                throw ApiException.invalid(at + ".type", at + ".type must be 'function'");
            }
            JsonNode function = tool.get("function");
            requireObject(function, at + ".function", at + ".function");
            if (strict) {
                onlyKnown(function, at + ".function", List.of("name", "description", "parameters"));
            }
            String name = toolName(function, at + ".function.name");
            String description = text(function, "description", at + ".function.description");
            JsonNode parameters = function.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
                throw ApiException.invalid(at + ".function.parameters", at + ".function.parameters must be a JSON Schema object");
            }
            tools.add(new DeclaredTool(name, description != null ? description : "",
                    parameters == null || parameters.isNull() ? null : parameters.toString()));
        }
        return tools;
    }

    private static String toolName(JsonNode function, String param) {
        String name = text(function, "name", param);
        if (name == null || name.isEmpty()) {
            throw ApiException.invalid(param, param + " is required");
        }
        if (!TOOL_NAME.matcher(name).matches()) {
            throw ApiException.invalid(param, param + " must be 1 to 64 letters, digits, '_', '.' or '-' (as OpenAI's), got "
                    + quoted(name));
        }
        return name;
    }

    private static boolean toolsWanted(@Nullable JsonNode choice, List<ToolCallback> tools) {
        if (choice == null || choice.isNull() || (choice.isString() && choice.asString().equals("auto"))) {
            return !tools.isEmpty();
        }
        if (choice.isString() && choice.asString().equals("none")) {
            return false;
        }
        throw ApiException.invalid("tool_choice", "tool_choice must be 'auto' or 'none': this server cannot force "
                + "a tool call ('required' or a named function)");
    }

    private static @Nullable List<String> stop(@Nullable JsonNode node, String param, KotodamaWebProperties limits) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isArray() && node.size() > limits.maxStopSequences()) {
            throw ApiException.invalid(param, param + " may hold at most " + limits.maxStopSequences()
                    + " sequences (kotodama.web.max-stop-sequences), got " + node.size());
        }
        List<String> stops = new ArrayList<>();
        Consumer<JsonNode> add = value -> {
            if (!value.isString() || value.asString().isEmpty()) {
                throw ApiException.invalid(param, param + " must be a non-empty string or an array of them");
            }
            int characters = value.asString().codePointCount(0, value.asString().length());
            if (characters > limits.maxStopSequenceLength()) {
                throw ApiException.invalid(param, "each of " + param + " may be at most " + limits.maxStopSequenceLength()
                        + " characters long (kotodama.web.max-stop-sequence-length), got one of " + characters);
            }
            stops.add(value.asString());
        };
        if (node.isArray()) {
            node.forEach(add);
        }
        else {
            add.accept(node);
        }
        return stops;
    }

    private static @Nullable Double number(JsonNode body, String field, double min, double max, boolean minIncluded,
            String param) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isNumber()) {
            throw ApiException.invalid(param, param + " must be a number, got " + node);
        }
        double value = node.asDouble();
        if (value > max || value < min || (!minIncluded && value == min)) {
            throw ApiException.invalid(param, param + " must be in " + (minIncluded ? "[" : "(") + format(min) + ", "
                    + format(max) + "], got " + node);
        }
        return value;
    }

    private static String format(double value) {
        return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
    }

    private static @Nullable Integer positiveInt(JsonNode body, String field, String param) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < 1) {
            throw ApiException.invalid(param, param + " must be a whole number of at least 1, got " + node);
        }
        return node.asInt();
    }

    private static @Nullable Long longValue(JsonNode body, String field, String param) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw ApiException.invalid(param, param + " must be a whole number, got " + node);
        }
        return node.asLong();
    }

    private static @Nullable String effort(JsonNode body, String field, String param) {
        String effort = text(body, field, param);
        if (effort != null && !Set.of("low", "medium", "high").contains(effort)) {
            throw ApiException.invalid(param, param + " must be low, medium or high, got '" + effort + "'");
        }
        return effort;
    }

    private static boolean bool(JsonNode body, String field, String param) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw ApiException.invalid(param, param + " must be true or false, got " + node);
        }
        return node.asBoolean();
    }

    private static @Nullable String text(JsonNode body, String field, String param) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isString()) {
            throw ApiException.invalid(param, param + " must be a string, got " + node);
        }
        return node.asString();
    }

    private static void requireObject(@Nullable JsonNode node, @Nullable String param, String name) {
        if (node == null || !node.isObject()) {
            throw ApiException.invalid(param, name + " must be a JSON object");
        }
    }
}
