package dev.kotodama.ai;

import java.util.List;
import java.util.Map;

import dev.kotodama.harmony.ChatMessage;
import dev.kotodama.harmony.Conversation;
import dev.kotodama.harmony.HarmonyOptions;
import dev.kotodama.harmony.ToolCall;
import dev.kotodama.harmony.ToolDefinition;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.content.Media;
import org.springframework.util.MimeTypeUtils;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/** Spring AI messages in Harmony's terms, as the chat template expects them. */
class HarmonyConversationsTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static AssistantMessage.ToolCall call(String id, String name, String arguments) {
        return new AssistantMessage.ToolCall(id, "function", name, arguments);
    }

    private static ToolResponseMessage results(ToolResponseMessage.ToolResponse... responses) {
        return ToolResponseMessage.builder().responses(List.of(responses)).build();
    }

    @Test
    void systemUserAndAnswerMapOneToOne() {
        List<ChatMessage> messages = HarmonyConversations.messages(List.of(new SystemMessage("Be brief."),
                new UserMessage("Hi"), new AssistantMessage("Hello!"), new UserMessage("Bye")));

        assertThat(messages).containsExactly(new ChatMessage.Instructions("Be brief."), new ChatMessage.User("Hi"),
                ChatMessage.Assistant.answer("Hello!"), new ChatMessage.User("Bye"));
    }

    @Test
    void aToolCallKeepsItsReasoningAndItsArgumentsBecomeJson() {
        AssistantMessage assistant = AssistantMessage.builder()
            .content("")
            .properties(Map.of("reasoningContent", "Need weather; call the tool.", "thinking", "tool."))
            .toolCalls(List.of(call("call_1", "get_weather", "{\"location\": \"Tokyo\", \"unit\": \"celsius\"}")))
            .build();

        List<ChatMessage> messages = HarmonyConversations.messages(List.of(new UserMessage("Weather?"), assistant,
                results(new ToolResponseMessage.ToolResponse("call_1", "get_weather", "{\"temperature\": 21}"))));

        assertThat(messages).containsExactly(new ChatMessage.User("Weather?"),
                ChatMessage.Assistant.toolCall("Need weather; call the tool.", new ToolCall("get_weather",
                        JSON.readTree("{\"location\": \"Tokyo\", \"unit\": \"celsius\"}"))),
                new ChatMessage.ToolResult("{\"temperature\": 21}"));
    }

    @Test
    void ollamasThinkingKeyIsReadWhenThereIsNoReasoningContent() {
        AssistantMessage assistant = AssistantMessage.builder()
            .content("")
            .properties(Map.of("thinking", "Call it."))
            .toolCalls(List.of(call("1", "get_time", "{}")))
            .build();

        assertThat(HarmonyConversations.messages(List.of(assistant)).get(0))
            .isEqualTo(ChatMessage.Assistant.toolCall("Call it.", new ToolCall("get_time", JSON.readTree("{}"))));
    }

    @Test
    void aToolsQuotedTextResultIsUnquotedForTheTemplate() {
        AssistantMessage assistant = AssistantMessage.builder().content("")
            .toolCalls(List.of(call("1", "get_time", "{}"))).build();

        List<ChatMessage> messages = HarmonyConversations.messages(List.of(assistant,
                results(new ToolResponseMessage.ToolResponse("1", "get_time", "\"10:00 \\\"JST\\\"\""))));

        assertThat(messages.get(1)).isEqualTo(new ChatMessage.ToolResult("10:00 \"JST\""));
    }

    @Test
    void argumentsThatAreNotJsonStayText() {
        AssistantMessage assistant = AssistantMessage.builder().content("")
            .toolCalls(List.of(call("1", "echo", "not json"))).build();

        ChatMessage.Assistant converted = (ChatMessage.Assistant) HarmonyConversations.messages(List.of(assistant)).get(0);

        assertThat(converted.toolCalls().get(0).arguments().isString()).isTrue();
        assertThat(converted.toolCalls().get(0).arguments().asString()).isEqualTo("not json");
    }

    @Test
    void severalCallsInOneMessageAreRenderedOneCallPerMessageEachBeforeItsResult() {
        AssistantMessage assistant = AssistantMessage.builder()
            .content("")
            .properties(Map.of("reasoningContent", "Two cities."))
            .toolCalls(List.of(call("a", "get_weather", "{\"location\": \"Tokyo\"}"),
                    call("b", "get_weather", "{\"location\": \"Osaka\"}")))
            .build();

        List<ChatMessage> messages = HarmonyConversations.messages(List.of(assistant,
                results(new ToolResponseMessage.ToolResponse("a", "get_weather", "21"),
                        new ToolResponseMessage.ToolResponse("b", "get_weather", "18"))));

        assertThat(messages).containsExactly(
                ChatMessage.Assistant.toolCall("Two cities.", new ToolCall("get_weather", JSON.readTree("{\"location\": \"Tokyo\"}"))),
                new ChatMessage.ToolResult("21"),
                ChatMessage.Assistant.toolCall(null, new ToolCall("get_weather", JSON.readTree("{\"location\": \"Osaka\"}"))),
                new ChatMessage.ToolResult("18"));
    }

    @Test
    void toolDefinitionsKeepTheirJsonSchema() {
        var definition = org.springframework.ai.tool.definition.ToolDefinition.builder()
            .name("get_weather")
            .description("Get the weather.")
            .inputSchema("{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\"}}, \"required\": [\"location\"]}")
            .build();

        Conversation conversation = HarmonyConversations.of(List.<Message>of(new UserMessage("Hi")), List.of(definition),
                HarmonyOptions.DEFAULTS);

        assertThat(conversation.tools()).containsExactly(new ToolDefinition("get_weather", "Get the weather.",
                JSON.readTree("{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\"}}, \"required\": [\"location\"]}")));
    }

    @Test
    void mediaIsRefusedByThisTextOnlyModel() {
        UserMessage withImage = UserMessage.builder()
            .text("What is this?")
            .media(List.of(Media.builder().mimeType(MimeTypeUtils.IMAGE_PNG).data(new byte[] {1}).build()))
            .build();

        assertThatIllegalArgumentException().isThrownBy(() -> HarmonyConversations.messages(List.of(withImage)))
            .withMessageContaining("text only");
    }
}
