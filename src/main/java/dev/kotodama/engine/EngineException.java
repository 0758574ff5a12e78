package dev.kotodama.engine;

/** A request the engine refuses before any work; the message says what to change. */
public class EngineException extends RuntimeException {

    public EngineException(String message) {
        super(message);
    }

    /** The prompt plus the token limit do not fit the model's context or the KV-cache budget. */
    public static final class ContextLengthExceeded extends EngineException {

        public ContextLengthExceeded(String message) {
            super(message);
        }
    }

    /** Every generation slot is taken and the queue is full: retry later. */
    public static final class Busy extends EngineException {

        public Busy(String message) {
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
