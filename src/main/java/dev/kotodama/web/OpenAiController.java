package dev.kotodama.web;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.kotodama.ai.AnswerLogprob;
import dev.kotodama.ai.KotodamaChatModel;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * OpenAI's chat-completions API ({@code POST /v1/chat/completions}, streamed or not) and
 * {@code GET /v1/models}, so that existing clients work unchanged. Reasoning goes into both
 * {@code reasoning} and {@code reasoning_content} of the message or delta, as vLLM and others do.
 */
@RestController
@RequestMapping("/v1")
class OpenAiController {

    private static final JsonMapper JSON = JsonMapper.shared();

    private final ServedChatModel chatModel;

    private final Generations generations;

    private final KotodamaWebProperties limits;

    OpenAiController(ServedChatModel chatModel, Generations generations, KotodamaWebProperties limits) {
        this.chatModel = chatModel;
        this.generations = generations;
        this.limits = limits;
    }

    /** The served model; JSON whatever the request's {@code Accept} says, as the completions are. */
    @GetMapping("/models")
    ResponseEntity<JsonNode> models() {
        KotodamaChatModel model = chatModel.require();
        ObjectNode list = JSON.createObjectNode().put("object", "list");
        list.putArray("data").addObject().put("id", model.modelId()).put("object", "model")
            .put("created", Instant.now().getEpochSecond()).put("owned_by", "kotodama");
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(list);
    }

    @PostMapping("/chat/completions")
    Mono<ResponseEntity<Object>> completions(@RequestBody JsonNode body, ServerWebExchange exchange) {
        KotodamaChatModel model = chatModel.require();
        ChatRequests.ChatCall call = ChatRequests.openAi(body, limits, model.modelId());
        Completion completion = new Completion(Instant.now().getEpochSecond(), model.modelId(), call.logprobs());
        Flux<ChatResponse> chunks = generations.stream(model, call.prompt(), exchange);
        if (call.stream()) {
            return Mono.just(ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM)
                .body(completion.events(chunks, call.includeUsage(), RequestIdFilter.of(exchange))));
        }
        return chunks.collectList().map(all -> ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON)
            .body(completion.whole(all)));
    }

    /**
     * One completion's creation time and model, whether it reports log probabilities, and its JSON shapes;
     * its id is the chat model's response id.
     */
    private record Completion(long created, String model, boolean logprobs) {

        private ObjectNode head(String object, ChatResponse response) {
            return JSON.createObjectNode().put("id", response.getMetadata().getId()).put("object", object)
                .put("created", created).put("model", model);
        }

        JsonNode whole(List<ChatResponse> chunks) {
            StringBuilder answer = new StringBuilder();
            StringBuilder reasoning = new StringBuilder();
            List<AssistantMessage.ToolCall> calls = new ArrayList<>();
            List<AnswerLogprob> logprobs = new ArrayList<>();
            for (ChatResponse chunk : chunks) {
                answer.append(Turns.answer(chunk));
                reasoning.append(Turns.reasoning(chunk));
                calls.addAll(Turns.toolCalls(chunk));
                logprobs.addAll(Turns.logprobs(chunk));
            }
            ChatResponse last = chunks.get(chunks.size() - 1);
            ObjectNode response = head("chat.completion", last);
            ObjectNode choice = response.putArray("choices").addObject().put("index", 0);
            ObjectNode message = choice.putObject("message").put("role", "assistant");
            if (calls.isEmpty() || !answer.isEmpty()) {
                message.put("content", answer.toString());
            }
            else {
                message.putNull("content");
            }
            if (!reasoning.isEmpty()) {
                message.put("reasoning", reasoning.toString()).put("reasoning_content", reasoning.toString());
            }
            if (!calls.isEmpty()) {
                toolCalls(message.putArray("tool_calls"), calls, new AtomicInteger(), false);
            }
            logprobs(choice, logprobs);
            choice.put("finish_reason", Turns.finishReason(last));
            usage(response, Turns.Stats.of(last));
            return response;
        }

        Flux<ServerSentEvent<String>> events(Flux<ChatResponse> chunks, boolean includeUsage, String requestId) {
            AtomicBoolean first = new AtomicBoolean(true);
            AtomicInteger toolIndex = new AtomicInteger();
            return Turns.events(chunks, chunk -> {
                List<ObjectNode> out = new ArrayList<>();
                ObjectNode delta = JSON.createObjectNode();
                if (first.getAndSet(false)) {
                    delta.put("role", "assistant").put("content", "");
                }
                String answer = Turns.answer(chunk);
                if (!answer.isEmpty()) {
                    delta.put("content", answer);
                }
                String reasoning = Turns.reasoning(chunk);
                if (!reasoning.isEmpty()) {
                    delta.put("reasoning", reasoning).put("reasoning_content", reasoning);
                }
                if (!Turns.toolCalls(chunk).isEmpty()) {
                    toolCalls(delta.putArray("tool_calls"), Turns.toolCalls(chunk), toolIndex, true);
                }
                List<AnswerLogprob> logprobs = Turns.logprobs(chunk);
                if (!delta.isEmpty() || !logprobs.isEmpty()) {
                    ObjectNode node = chunk(chunk, delta, null);
                    if (!logprobs.isEmpty()) {
                        logprobs((ObjectNode) node.get("choices").get(0), logprobs);
                    }
                    out.add(node);
                }
                String finish = Turns.finishReason(chunk);
                if (finish != null) {
                    out.add(chunk(chunk, JSON.createObjectNode(), finish));
                    if (includeUsage) {
                        ObjectNode usage = head("chat.completion.chunk", chunk);
                        usage.putArray("choices");
                        out.add(usage(usage, Turns.Stats.of(chunk)));
                    }
                }
                return out.stream().map(node -> ServerSentEvent.builder(node.toString()).build()).toList();
            }, error -> ServerSentEvent.builder(JSON.writeValueAsString(ApiErrors.body(error, requestId))).build(), requestId)
                .concatWith(Mono.just(ServerSentEvent.builder("[DONE]").build()));
        }

        private ObjectNode chunk(ChatResponse response, ObjectNode delta, @Nullable String finishReason) {
            ObjectNode chunk = head("chat.completion.chunk", response);
            ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
            choice.set("delta", delta);
            choice.put("finish_reason", finishReason);
            return chunk;
        }

        /** OpenAI's {@code logprobs} of a choice: {@code null} unless the request asked for them. */
        private void logprobs(ObjectNode choice, List<AnswerLogprob> tokens) {
            if (!logprobs) {
                choice.putNull("logprobs");
                return;
            }
            ObjectNode node = choice.putObject("logprobs");
            ArrayNode content = node.putArray("content");
            for (AnswerLogprob token : tokens) {
                ObjectNode entry = content.addObject().put("token", token.token()).put("logprob", token.logprob());
                token.bytes().forEach(entry.putArray("bytes")::add);
                ArrayNode top = entry.putArray("top_logprobs");
                for (AnswerLogprob.Alternative alternative : token.top()) {
                    ObjectNode other = top.addObject().put("token", alternative.token())
                        .put("logprob", alternative.logprob());
                    alternative.bytes().forEach(other.putArray("bytes")::add);
                }
            }
            node.putNull("refusal");
        }

        private static void toolCalls(ArrayNode array, List<AssistantMessage.ToolCall> calls, AtomicInteger index,
                boolean indexed) {
            for (AssistantMessage.ToolCall call : calls) {
                ObjectNode node = array.addObject();
                if (indexed) {
                    node.put("index", index.getAndIncrement());
                }
                node.put("id", call.id()).put("type", "function");
                node.putObject("function").put("name", call.name()).put("arguments", call.arguments());
            }
        }

        private static ObjectNode usage(ObjectNode response, Turns.Stats stats) {
            response.putObject("usage").put("prompt_tokens", stats.promptTokens())
                .put("completion_tokens", stats.completionTokens())
                .put("total_tokens", stats.promptTokens() + stats.completionTokens());
            return response;
        }
    }
}
