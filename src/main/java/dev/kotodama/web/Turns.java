package dev.kotodama.web;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import dev.kotodama.ai.AnswerLogprob;
import dev.kotodama.ai.KotodamaChatModel;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.Usage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** What the APIs read from the chat model's streamed chunks. */
final class Turns {

    private Turns() {
    }

    /**
     * A turn's chunks as a stream's events. A failure before the first chunk propagates, so that the
     * client gets an error status and body; a later one becomes the stream's last event.
     */
    static <T> Flux<T> events(Flux<ChatResponse> chunks, Function<ChatResponse, Iterable<T>> events,
            Function<ApiException, T> lateError, String requestId) {
        AtomicBoolean started = new AtomicBoolean();
        return chunks.doOnNext(chunk -> started.set(true)).concatMapIterable(events)
            .onErrorResume(failure -> started.get() ? Mono.just(lateError.apply(ApiErrors.of(failure, requestId)))
                    : Mono.error(failure));
    }

    static AssistantMessage output(ChatResponse chunk) {
        Generation result = chunk.getResult();
        return result != null ? result.getOutput() : AssistantMessage.builder().content("").build();
    }

    static String answer(ChatResponse chunk) {
        String text = output(chunk).getText();
        return text != null ? text : "";
    }

    /** This chunk's own reasoning. */
    static String reasoning(ChatResponse chunk) {
        return output(chunk).getMetadata().get(KotodamaChatModel.THINKING) instanceof String text ? text : "";
    }

    static List<AssistantMessage.ToolCall> toolCalls(ChatResponse chunk) {
        return output(chunk).getToolCalls();
    }

    /** The log probabilities of this chunk's answer tokens, when the request asked for them. */
    static List<AnswerLogprob> logprobs(ChatResponse chunk) {
        Generation result = chunk.getResult();
        if (result != null && result.getMetadata().get(KotodamaChatModel.LOGPROBS) instanceof List<?> list) {
            return list.stream().map(AnswerLogprob.class::cast).toList();
        }
        return List.of();
    }

    /** The finish reason: set on the last chunk only. */
    static @Nullable String finishReason(ChatResponse chunk) {
        Generation result = chunk.getResult();
        return result != null ? result.getMetadata().getFinishReason() : null;
    }

    /** Tokens, time to first token and decode speed of a turn's last chunk. */
    record Stats(int promptTokens, int completionTokens, long ttftMillis, double tokensPerSecond) {

        static Stats of(ChatResponse last) {
            ChatResponseMetadata metadata = last.getMetadata();
            Usage usage = metadata.getUsage();
            Object ttft = metadata.get(KotodamaChatModel.TIME_TO_FIRST_TOKEN);
            Object speed = metadata.get(KotodamaChatModel.DECODE_TOKENS_PER_SECOND);
            return new Stats(usage.getPromptTokens() != null ? usage.getPromptTokens() : 0,
                    usage.getCompletionTokens() != null ? usage.getCompletionTokens() : 0,
                    ttft instanceof Duration d ? d.toMillis() : -1, speed instanceof Double s ? s : 0);
        }
    }
}
