package dev.kotodama.engine;

/** A request the engine refuses before any work (the message says what to change), or a generation that failed. */
public class EngineException extends RuntimeException {

    public EngineException(String message) {
        super(message);
    }

    /** The prompt plus the token limit do not fit the model's context or the KV-cache budget. */
    public static final class ContextLengthExceeded extends EngineException {

        public ContextLengthExceeded(String message) {
            super(message);
        }

        /** The prompt plus max tokens beyond the context: how many tokens the prompt leaves, if any. */
        public static ContextLengthExceeded of(int promptTokens, int maxTokens, int context) {
            long left = (long) context - promptTokens;
            return new ContextLengthExceeded("the prompt's " + promptTokens + " tokens plus max tokens " + maxTokens
                    + " exceed the model's context of " + context + " tokens; " + (left > 0 ? left
                            + " tokens remain after the prompt: lower max tokens to at most " + left
                            : "the prompt alone fills it: shorten the conversation"));
        }
    }

    /** Every generation slot is taken and the queue is full: retry later. */
    public static final class Busy extends EngineException {

        public Busy(String message) {
            super(message);
        }
    }

    /** The engine thread has ended on a failure: no generation runs until a restart. */
    public static final class Stopped extends EngineException {

        public Stopped(String message) {
            super(message);
        }
    }

    /** The engine is shutting down and takes no new requests. */
    public static final class ShuttingDown extends EngineException {

        public ShuttingDown(String message) {
            super(message);
        }
    }
}
