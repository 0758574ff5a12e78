package dev.kotodama.ai;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

import dev.kotodama.engine.FinishReason;
import dev.kotodama.engine.GenerationEvent;
import dev.kotodama.engine.TokenLogprobs;
import dev.kotodama.harmony.EndReason;
import dev.kotodama.harmony.HarmonyEvent;
import dev.kotodama.harmony.HarmonyParser;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.ai.chat.messages.AssistantMessage;

/**
 * Turns one generation's engine events into {@link TurnChunk}s: ids through the Harmony parser, the
 * answer through the stop sequences, and the end into a finish reason with the token counts. Not
 * thread-safe: one per generation.
 *
 * <pre>
 * Token ─► parser.push ─► reasoning / preamble / answer ─► stop sequences ─► chunk (last if one matched)
 * Finished ─► parser.finish ─► the rest, tool calls ─► last chunk: finish reason, usage
 * </pre>
 *
 * <p>The engine ends a generation at the model's stop ids ({@code <|return|>}, {@code <|call|>}) without
 * emitting them, so the parser never sees which one it was; Harmony ends a message to a tool with
 * {@code <|call|>} and an answer with {@code <|return|>}, so a tool call still open at a stop is
 * complete. A tool call cut off by the token limit or a cancellation is dropped.
 */
final class TurnAssembler {

    private static final Logger logger = LoggerFactory.getLogger(TurnAssembler.class);


    private final HarmonyParser parser;

    private final LlmJpTokenizer tokenizer; // the answer tokens' bytes, for their log probabilities

    private final StopSequences stopSequences;

    private final int promptTokens;

    private final StringBuilder reasoningSoFar = new StringBuilder();

    private int generated;

    private boolean calledTools;

    private boolean answerTokenSeen;

    private boolean done;

    TurnAssembler(LlmJpTokenizer tokenizer, StopSequences stopSequences, int promptTokens) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer must not be null");
        this.parser = new HarmonyParser(tokenizer);
        this.stopSequences = Objects.requireNonNull(stopSequences, "stopSequences must not be null");
        this.promptTokens = promptTokens;
    }

    /** Whether the last chunk is out: a stop sequence matched, or the generation finished. */
    boolean isDone() {
        return done;
    }

    /** The chunks this event completes: none, one, or (at the end) the last one. */
    List<TurnChunk> accept(GenerationEvent event) {
        if (done) {
            return List.of();
        }
        TurnChunk chunk = (event instanceof GenerationEvent.Token token) ? step(token) : end((GenerationEvent.Finished) event);
        return chunk.isEmpty() ? List.of() : List.of(chunk);
    }

    private TurnChunk step(GenerationEvent.Token token) {
        generated = token.index() + 1;
        Parts parts = new Parts();
        boolean stopped = parts.add(parser.push(token.tokenId()), false);
        TokenLogprobs logprobs = token.logprobs();
        if (logprobs != null && parser.lastWasAnswer()) {
            parts.logprobs.add(answerLogprob(token.tokenId(), logprobs));
        }
        if (stopped) {
            done = true;
            return parts.chunk(new TurnChunk.Ending(finishReason(FinishReason.STOP), promptTokens, generated, null));
        }
        return parts.chunk(null);
    }

    private TurnChunk end(GenerationEvent.Finished finished) {
        done = true;
        boolean stoppedByModel = finished.reason() == FinishReason.STOP;
        Parts parts = new Parts();
        boolean stoppedBySequence = parts.add(parser.finish(endReason(finished.reason())), stoppedByModel);
        parts.answer.append(stopSequences.flush());
        String reason = stoppedBySequence ? finishReason(FinishReason.STOP)
                : stoppedByModel && calledTools ? KotodamaChatModel.TOOL_CALLS : finishReason(finished.reason());
        return parts.chunk(new TurnChunk.Ending(reason, finished.promptTokens(), finished.completionTokens(), finished));
    }

    private AnswerLogprob answerLogprob(int tokenId, TokenLogprobs logprobs) {
        int[] topIds = logprobs.topIds();
        float[] topLogprobs = logprobs.topLogprobs();
        List<AnswerLogprob.Alternative> top = new ArrayList<>(topIds.length);
        for (int i = 0; i < topIds.length; i++) {
            byte[] bytes = tokenizer.tokenBytes(topIds[i]);
            top.add(new AnswerLogprob.Alternative(text(bytes), topLogprobs[i], unsigned(bytes)));
        }
        byte[] bytes = tokenizer.tokenBytes(tokenId);
        // the answer starts a segment, whose leading space decoding drops: so the tokens join to the answer
        if (!answerTokenSeen && bytes.length > 0 && bytes[0] == ' ') {
            bytes = Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        answerTokenSeen = true;
        return new AnswerLogprob(text(bytes), logprobs.logprob(), unsigned(bytes), top);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static List<Integer> unsigned(byte[] bytes) {
        List<Integer> values = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            values.add(b & 0xFF);
        }
        return values;
    }

    /** The engine's reason as the chat model's finish reason: its name in lower case. */
    static String finishReason(FinishReason reason) {
        return reason.name().toLowerCase(Locale.ROOT);
    }

    private static EndReason endReason(FinishReason reason) {
        return switch (reason) {
            case STOP -> EndReason.RETURN;
            case LENGTH -> EndReason.LENGTH;
            case CANCELLED, SHUTDOWN -> EndReason.CANCELLED;
        };
    }

    /** The text and tool calls of one chunk while it is put together. */
    private final class Parts {

        final StringBuilder answer = new StringBuilder();

        final StringBuilder reasoning = new StringBuilder();

        final StringBuilder preamble = new StringBuilder();

        final List<AssistantMessage.ToolCall> toolCalls = new ArrayList<>();

        final List<AnswerLogprob> logprobs = new ArrayList<>();

        /** Adds the parser's events; true when a stop sequence ended the answer. */
        boolean add(List<HarmonyEvent> events, boolean stoppedByModel) {
            for (HarmonyEvent event : events) {
                if (event instanceof HarmonyEvent.ReasoningDelta delta) {
                    reasoning.append(delta.text());
                }
                else if (event instanceof HarmonyEvent.PreambleDelta delta) {
                    preamble.append(delta.text());
                }
                else if (event instanceof HarmonyEvent.AnswerDelta delta) {
                    StopSequences.Step step = stopSequences.push(delta.text());
                    answer.append(step.text());
                    if (step.stopped()) {
                        return true;
                    }
                }
                else if (event instanceof HarmonyEvent.ToolCallParsed call) {
                    addToolCall(call, stoppedByModel);
                }
            }
            return false;
        }

        private void addToolCall(HarmonyEvent.ToolCallParsed call, boolean stoppedByModel) {
            if (call.complete() || stoppedByModel) {
                calledTools = true;
                toolCalls.add(new AssistantMessage.ToolCall("call_" + UUID.randomUUID().toString().replace("-", ""),
                        "function", call.name(), call.arguments()));
            }
            else {
                logger.debug("dropped the call of {}: the generation ended inside its arguments", call.name());
            }
        }

        TurnChunk chunk(TurnChunk.@Nullable Ending ending) {
            reasoningSoFar.append(reasoning);
            String soFar = reasoning.isEmpty() ? "" : reasoningSoFar.toString(); // only where reasoning grows
            return new TurnChunk(answer.toString(), reasoning.toString(), soFar, preamble.toString(), toolCalls, logprobs,
                    ending);
        }
    }
}
