package dev.kotodama.harmony;

import java.time.LocalDate;
import java.util.List;

import dev.kotodama.harmony.ChatMessage.Assistant;
import dev.kotodama.harmony.ChatMessage.Instructions;
import dev.kotodama.harmony.ChatMessage.ToolResult;
import dev.kotodama.harmony.ChatMessage.User;
import dev.kotodama.harmony.InvalidConversationException.Problem;
import org.jspecify.annotations.Nullable;

/**
 * LLM-jp-4's chat_template.jinja (SHA-256 {@link #SHA256}) written out in Java, for
 * {@code add_generation_prompt=True}: the system block, the developer block, the messages with the
 * template's history rules, and {@code <|start|>assistant}. Each step names the template lines it
 * mirrors; the golden fixtures (export/tests/harmony_fixtures.py) prove that the two agree.
 *
 * <p>Why not run the template with a Jinja engine for the JVM: HubSpot's Jinjava 2.8.4, configured as
 * closely as it allows (trim and lstrip blocks, recursive macros, every legacy override for Python
 * semantics, a Python {@code tojson}), renders the golden set identically, but it renders conversations
 * that transformers refuses (a tool without a description, a non-text enum default: silent output where
 * Python raises), spells {@code True}/{@code None} as {@code true}/"" where Python's {@code str()} is
 * used, turns {@code raise_exception} into an error list without the message, and yields one string, so
 * the ids could not be built from the template's own special tokens without marking user text inside
 * it. It would also bring Guava, Jackson 2 and a dozen other jars. Written out, the template's semantics
 * are explicit and tested, and its control tokens never mix with user text. The price: a new template
 * needs code, which {@link HarmonyRenderer#isVerifiedTemplate} detects.
 */
final class HarmonyTemplate {

    /** The SHA-256 of the chat_template.jinja this class reproduces (the one in ../shared/llm-jp-4). */
    static final String SHA256 = "5d5e57261aef30a188c6fe8ac74e02de777f7e16a846485780d758f21f3e4093";

    static final String START = "<|start|>";

    static final String END = "<|end|>";

    static final String MESSAGE = "<|message|>";

    static final String CHANNEL = "<|channel|>";

    static final String CALL = "<|call|>";

    private static final String ANALYSIS_TAGS = "<|channel|>analysis<|message|>";

    private static final String FINAL_TAGS = "<|channel|>final<|message|>";

    private HarmonyTemplate() {
    }

    static PromptParts render(Conversation conversation, LocalDate today) {
        PromptParts prompt = new PromptParts();
        HarmonyOptions options = conversation.options();
        List<ChatMessage> messages = conversation.messages();
        // {{- "<|start|>system<|message|>" }}{{- build_system_message() }}{{- "<|end|>" }}
        prompt.special(START).text("system").special(MESSAGE)
                .text(systemMessage(options, today, !conversation.tools().isEmpty())).special(END);
        // messages[0].role == "developer" or messages[0].role == "system": the developer message
        String developerMessage = "";
        List<ChatMessage> loopMessages = messages;
        if (!messages.isEmpty() && messages.get(0) instanceof Instructions instructions) {
            developerMessage = instructions.content();
            loopMessages = messages.subList(1, messages.size());
        }
        if (!developerMessage.isEmpty() || !conversation.tools().isEmpty()) {
            prompt.special(START).text("developer").special(MESSAGE);
            if (!developerMessage.isEmpty()) {
                prompt.text("# Instructions\n\n").text(developerMessage).text("\n\n");
            }
            if (!conversation.tools().isEmpty()) {
                prompt.text("# Tools\n\n").text(ToolNamespace.render(conversation.tools()));
            }
            prompt.special(END);
        }
        renderMessages(prompt, loopMessages);
        // add_generation_prompt
        return prompt.special(START).text("assistant");
    }

    /** {@code build_system_message()}. */
    private static String systemMessage(HarmonyOptions options, LocalDate today, boolean hasTools) {
        LocalDate date = options.currentDate() != null ? options.currentDate() : today;
        StringBuilder out = new StringBuilder()
                .append(options.modelIdentity()).append('\n')
                .append("Knowledge cutoff: ").append(options.knowledgeCutoff()).append('\n')
                .append("Current date: ").append(date).append("\n\n")
                .append("Reasoning: ").append(options.reasoningEffort().word()).append("\n\n");
        if (!options.builtinTools().isEmpty()) {
            out.append("# Tools\n\n").append(ToolNamespace.builtinTools(
                    options.builtinTools().contains(BuiltinTool.BROWSER), options.builtinTools().contains(BuiltinTool.PYTHON)));
        }
        out.append("# Valid channels: analysis, commentary, final. Channel must be included for every message.");
        if (hasTools) {
            out.append("\nCalls to these tools must go to the commentary channel: 'functions'.");
        }
        return out.toString();
    }

    /** The {@code for message in loop_messages} loop. */
    private static void renderMessages(PromptParts prompt, List<ChatMessage> messages) {
        String lastToolCall = null; // last_tool_call.name
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage message = messages.get(i);
            if (message instanceof Assistant assistant) {
                checkChannelTags(assistant, i);
                if (!assistant.toolCalls().isEmpty()) {
                    lastToolCall = renderToolCall(prompt, assistant, !finalAnswerFollows(messages, i), i);
                }
                else {
                    // CoT is dropped during all previous turns
                    prompt.special(START).text("assistant").special(CHANNEL).text("final").special(MESSAGE)
                            .text(assistant.content()).special(END);
                    lastToolCall = null;
                }
            }
            else if (message instanceof ToolResult result) {
                if (lastToolCall == null) {
                    throw new InvalidConversationException(Problem.TOOL_RESULT_WITHOUT_TOOL_CALL, "message " + i
                            + " is a tool result, but no assistant message with a tool call comes before it "
                            + "(since the last final answer)");
                }
                prompt.special(START).text("functions." + lastToolCall + " to=assistant").special(CHANNEL)
                        .text("commentary").special(MESSAGE).text(PythonValues.jsonString(result.content())).special(END);
            }
            else if (message instanceof User user) {
                prompt.special(START).text("user").special(MESSAGE).text(user.content()).special(END);
            }
            // Instructions after the first message: the template renders nothing for them
        }
    }

    private static void checkChannelTags(Assistant assistant, int index) {
        if (hasChannelTags(assistant.content())) {
            throw new InvalidConversationException(Problem.CHANNEL_TAGS_IN_CONTENT, "assistant message " + index
                    + " contains <|channel|> tags in its content: pass the analysis in reasoning and only the "
                    + "final answer's text in content");
        }
        if (hasChannelTags(assistant.reasoning())) {
            throw new InvalidConversationException(Problem.CHANNEL_TAGS_IN_REASONING, "assistant message " + index
                    + " contains <|channel|> tags in its reasoning: pass only the analysis text");
        }
    }

    private static boolean hasChannelTags(@Nullable String text) {
        return text != null && (text.contains(ANALYSIS_TAGS) || text.contains(FINAL_TAGS));
    }

    /** {@code future_final_message.found}: an assistant message without tool calls comes later. */
    private static boolean finalAnswerFollows(List<ChatMessage> messages, int index) {
        return messages.subList(index + 1, messages.size()).stream()
                .anyMatch(m -> m instanceof Assistant a && a.toolCalls().isEmpty());
    }

    /** Renders the first tool call (the template assumes one per message); returns its name. */
    private static String renderToolCall(PromptParts prompt, Assistant assistant, boolean keepAnalysis, int index) {
        ToolCall call = assistant.toolCalls().get(0);
        boolean hasContent = !assistant.content().isEmpty();
        boolean hasReasoning = assistant.reasoning() != null && !assistant.reasoning().isEmpty();
        if (hasContent && hasReasoning) {
            throw new InvalidConversationException(Problem.CONTENT_AND_REASONING_WITH_TOOL_CALL, "assistant message "
                    + index + " has a tool call with both content and reasoning: the template renders one of them "
                    + "as the call's analysis, so pass only one");
        }
        if (keepAnalysis && (hasContent || hasReasoning)) {
            prompt.special(START).text("assistant").special(CHANNEL).text("analysis").special(MESSAGE)
                    .text(hasContent ? assistant.content() : assistant.reasoning()).special(END);
        }
        prompt.special(START).text("assistant to=functions." + call.name()).special(CHANNEL)
                .text("commentary " + (call.contentType() != null ? call.contentType() : "json")).special(MESSAGE)
                .text(PythonValues.toJson(call.arguments())).special(CALL);
        return call.name();
    }
}
