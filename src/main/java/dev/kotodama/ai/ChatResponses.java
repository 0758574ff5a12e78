package dev.kotodama.ai;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.kotodama.engine.GenerationEvent;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;

/**
 * {@link TurnChunk}s of one generation as Spring AI {@link ChatResponse}s, all with the same response
 * id and the served model's name.
 */
final class ChatResponses {

    private final String id;

    private final String model;

    ChatResponses(String id, String model) {
        this.id = Objects.requireNonNull(id, "id must not be null");
        this.model = Objects.requireNonNull(model, "model must not be null");
    }

    /** One streamed chunk: its own reasoning under {@code thinking}, the reasoning so far under {@code reasoningContent}. */
    ChatResponse chunk(TurnChunk chunk) {
        return response(chunk, chunk.reasoning(), chunk.reasoningSoFar());
    }

    /** A whole turn ({@link TurnChunk#whole}): the whole reasoning under both keys. */
    ChatResponse whole(TurnChunk turn) {
        return response(turn, turn.reasoning(), turn.reasoning());
    }

    private ChatResponse response(TurnChunk chunk, String thinking, String reasoningContent) {
        Map<String, Object> properties = new LinkedHashMap<>();
        putIfNotEmpty(properties, KotodamaChatModel.THINKING, thinking);
        putIfNotEmpty(properties, KotodamaChatModel.REASONING_CONTENT, reasoningContent);
        putIfNotEmpty(properties, KotodamaChatModel.PREAMBLE, chunk.preamble());
        AssistantMessage message = AssistantMessage.builder()
            .content(chunk.answer())
            .properties(properties)
            .toolCalls(chunk.toolCalls())
            .build();
        TurnChunk.Ending ending = chunk.ending();
        ChatResponseMetadata.Builder metadata = ChatResponseMetadata.builder().id(id).model(model);
        ChatGenerationMetadata.Builder generation = ChatGenerationMetadata.builder();
        if (!chunk.logprobs().isEmpty()) {
            generation.metadata(KotodamaChatModel.LOGPROBS, chunk.logprobs());
        }
        if (ending == null) {
            return new ChatResponse(List.of(chunk.logprobs().isEmpty() ? new Generation(message)
                    : new Generation(message, generation.build())), metadata.build());
        }
        metadata.usage(new DefaultUsage(ending.promptTokens(), ending.completionTokens()));
        GenerationEvent.Finished finished = ending.finished();
        if (finished != null) {
            metadata.keyValue(KotodamaChatModel.TIME_TO_FIRST_TOKEN, Duration.ofNanos(finished.timeToFirstTokenNanos()))
                .keyValue(KotodamaChatModel.DECODE_TOKENS_PER_SECOND, finished.decodeTokensPerSecond())
                .keyValue(KotodamaChatModel.QUEUED, Duration.ofNanos(finished.queuedNanos()));
        }
        generation.finishReason(ending.finishReason());
        return new ChatResponse(List.of(new Generation(message, generation.build())), metadata.build());
    }

    private static void putIfNotEmpty(Map<String, Object> properties, String key, String value) {
        if (!value.isEmpty()) {
            properties.put(key, value);
        }
    }
}
