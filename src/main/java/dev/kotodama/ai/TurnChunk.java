package dev.kotodama.ai;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import dev.kotodama.engine.GenerationEvent;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;

/**
 * What one step of a generation adds to the assistant's turn, ready to become a streamed
 * {@code ChatResponse}; the last chunk of a turn carries its {@link Ending}.
 *
 * @param answer final-channel text
 * @param reasoning analysis-channel text of this chunk
 * @param reasoningSoFar the turn's analysis text up to and including this chunk, or "" when this chunk
 *     adds none
 * @param preamble commentary text for the user (before a tool call)
 * @param toolCalls tool calls completed in this chunk
 * @param logprobs the log probabilities of this chunk's answer tokens, when the request asked for them
 * @param ending null until the last chunk
 */
record TurnChunk(String answer, String reasoning, String reasoningSoFar, String preamble,
        List<AssistantMessage.ToolCall> toolCalls, List<AnswerLogprob> logprobs, @Nullable Ending ending) {

    TurnChunk {
        Objects.requireNonNull(answer, "answer must not be null");
        Objects.requireNonNull(reasoning, "reasoning must not be null");
        Objects.requireNonNull(reasoningSoFar, "reasoningSoFar must not be null");
        Objects.requireNonNull(preamble, "preamble must not be null");
        toolCalls = List.copyOf(toolCalls);
        logprobs = List.copyOf(logprobs);
    }

    /**
     * How a turn ended.
     *
     * @param finishReason {@code stop}, {@code length}, {@code tool_calls} or {@code cancelled}
     * @param promptTokens tokens of the rendered prompt
     * @param completionTokens tokens generated
     * @param finished the engine's account (timings), or null when a stop sequence ended the turn early
     */
    record Ending(String finishReason, int promptTokens, int completionTokens,
            GenerationEvent.@Nullable Finished finished) {
    }

    boolean isEmpty() {
        return answer.isEmpty() && reasoning.isEmpty() && preamble.isEmpty() && toolCalls.isEmpty() && logprobs.isEmpty()
                && ending == null;
    }

    /** A whole turn from its chunks, for a non-streaming call. */
    static TurnChunk whole(List<TurnChunk> chunks) {
        StringBuilder answer = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        StringBuilder preamble = new StringBuilder();
        List<AssistantMessage.ToolCall> toolCalls = new ArrayList<>();
        List<AnswerLogprob> logprobs = new ArrayList<>();
        Ending ending = null;
        for (TurnChunk chunk : chunks) {
            answer.append(chunk.answer);
            reasoning.append(chunk.reasoning);
            preamble.append(chunk.preamble);
            toolCalls.addAll(chunk.toolCalls);
            logprobs.addAll(chunk.logprobs);
            ending = chunk.ending != null ? chunk.ending : ending;
        }
        return new TurnChunk(answer.toString(), reasoning.toString(), reasoning.toString(), preamble.toString(), toolCalls,
                logprobs, ending);
    }
}
