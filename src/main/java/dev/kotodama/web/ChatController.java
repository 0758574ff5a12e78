package dev.kotodama.web;

import java.util.ArrayList;
import java.util.List;

import dev.kotodama.ai.KotodamaChatModel;
import dev.kotodama.ai.RenderedChat;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The chat page's API. {@code POST /api/chat} streams typed server-sent events: {@code reasoning} and
 * {@code answer} ({@code {"text"}}), {@code tool_call} ({@code {"id", "name", "arguments"}}),
 * {@code usage} ({@code {"promptTokens", "completionTokens", "ttftMs", "tokensPerSecond"}}), then
 * {@code done} ({@code {"finishReason"}}), or {@code error} ({@code {"code", "message"}}) when the
 * generation fails after it started. {@code POST /api/render} returns the prompt text and token ids that
 * the same body would send to the model.
 */
@RestController
@RequestMapping("/api")
class ChatController {

    private static final JsonMapper JSON = JsonMapper.shared();

    private final ServedChatModel chatModel;

    private final Generations generations;

    private final KotodamaWebProperties limits;

    ChatController(ServedChatModel chatModel, Generations generations, KotodamaWebProperties limits) {
        this.chatModel = chatModel;
        this.generations = generations;
        this.limits = limits;
    }

    @PostMapping(path = "/chat", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    Flux<ServerSentEvent<String>> chat(@RequestBody JsonNode body, ServerWebExchange exchange) {
        KotodamaChatModel model = chatModel.require();
        String requestId = RequestIdFilter.of(exchange);
        return Turns.events(generations.stream(model, ChatRequests.page(body, limits), exchange), ChatController::events,
                error -> event("error", JSON.createObjectNode().put("code", error.code()).put("message", error.getMessage())
                    .put("requestId", requestId)), requestId);
    }

    @PostMapping(path = "/render", produces = MediaType.APPLICATION_JSON_VALUE)
    Mono<JsonNode> render(@RequestBody JsonNode body) {
        KotodamaChatModel model = chatModel.require();
        Prompt prompt = ChatRequests.page(body, limits);
        return Mono.fromCallable(() -> {
            RenderedChat rendered = model.render(prompt);
            ObjectNode out = JSON.createObjectNode().put("model", model.modelId()).put("prompt", rendered.text());
            out.put("tokenCount", rendered.ids().length);
            ArrayNode ids = out.putArray("tokenIds");
            for (int id : rendered.ids()) {
                ids.add(id);
            }
            return (JsonNode) out;
        }).subscribeOn(Schedulers.boundedElastic());
    }

    private static List<ServerSentEvent<String>> events(ChatResponse chunk) {
        List<ServerSentEvent<String>> events = new ArrayList<>();
        String reasoning = Turns.reasoning(chunk);
        if (!reasoning.isEmpty()) {
            events.add(event("reasoning", JSON.createObjectNode().put("text", reasoning)));
        }
        String answer = Turns.answer(chunk);
        if (!answer.isEmpty()) {
            events.add(event("answer", JSON.createObjectNode().put("text", answer)));
        }
        for (AssistantMessage.ToolCall call : Turns.toolCalls(chunk)) {
            events.add(event("tool_call", JSON.createObjectNode().put("id", call.id()).put("name", call.name())
                .put("arguments", call.arguments())));
        }
        String finish = Turns.finishReason(chunk);
        if (finish != null) {
            Turns.Stats stats = Turns.Stats.of(chunk);
            events.add(event("usage", JSON.createObjectNode().put("promptTokens", stats.promptTokens())
                .put("completionTokens", stats.completionTokens()).put("ttftMs", stats.ttftMillis())
                .put("tokensPerSecond", stats.tokensPerSecond())));
            events.add(event("done", JSON.createObjectNode().put("finishReason", finish)));
        }
        return events;
    }

    private static ServerSentEvent<String> event(String name, ObjectNode data) {
        return ServerSentEvent.builder(data.toString()).event(name).build();
    }
}
