package dev.kotodama.engine;

import org.jspecify.annotations.Nullable;

/** What a generation emits: one event per generated token, then one finish event. */
public sealed interface GenerationEvent permits GenerationEvent.Token, GenerationEvent.Finished {

    /**
     * A generated token.
     *
     * @param tokenId the id
     * @param index 0 for the first generated token
     * @param nanosSinceStart time from admission (the prefill's start) to this token
     * @param logprobs its log probabilities, when the request asked for them
     */
    record Token(int tokenId, int index, long nanosSinceStart, @Nullable TokenLogprobs logprobs)
            implements GenerationEvent {

        /** A token without log probabilities. */
        public Token(int tokenId, int index, long nanosSinceStart) {
            this(tokenId, index, nanosSinceStart, null);
        }
    }

    /**
     * The end of a generation. A stop token is not emitted as a {@link Token}.
     *
     * @param reason why it ended
     * @param promptTokens tokens in the prompt
     * @param completionTokens tokens generated (emitted as {@link Token} events)
     * @param timeToFirstTokenNanos from admission to the first token; 0 when none was generated
     * @param decodeNanos from the first token to the end
     * @param queuedNanos time spent waiting for admission
     */
    record Finished(FinishReason reason, int promptTokens, int completionTokens, long timeToFirstTokenNanos,
            long decodeNanos, long queuedNanos) implements GenerationEvent {

        /** Decode speed after the first token, or 0 when fewer than two tokens were generated. */
        public double decodeTokensPerSecond() {
            return completionTokens > 1 && decodeNanos > 0 ? (completionTokens - 1) * 1e9 / decodeNanos : 0;
        }
    }
}
