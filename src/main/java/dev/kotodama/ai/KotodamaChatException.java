package dev.kotodama.ai;

import java.util.Objects;

import dev.kotodama.engine.EngineException;
import dev.kotodama.harmony.InvalidConversationException;

/**
 * Why {@link KotodamaChatModel} refused or ended a request, as a caller can act on it: the engine's and the
 * chat template's own exceptions, translated so that callers (the web layer, another application) need
 * neither. The message says what to change.
 */
public class KotodamaChatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Reason {
        /** The prompt plus the token limit do not fit the context (or one sequence of the KV-cache budget). */
        CONTEXT_LENGTH_EXCEEDED,
        /** Every generation slot is taken and the queue is full: retry later. */
        BUSY,
        /** The model is shutting down and takes no new requests. */
        SHUTTING_DOWN,
        /** The engine stopped after a failure: nothing runs until a restart. */
        STOPPED,
        /** The chat template refuses the conversation (a tool result without a call, for one). */
        INVALID_CONVERSATION,
        /** The generation failed inside the engine; the server log has the details. */
        GENERATION_FAILED
    }

    private final Reason reason;

    public KotodamaChatException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason must not be null");
    }

    public Reason reason() {
        return reason;
    }

    /** The engine's and the chat template's failures as this exception; any other failure as it is. */
    static Throwable translate(Throwable failure) {
        Reason reason;
        if (failure instanceof EngineException.ContextLengthExceeded) {
            reason = Reason.CONTEXT_LENGTH_EXCEEDED;
        }
        else if (failure instanceof EngineException.Busy) {
            reason = Reason.BUSY;
        }
        else if (failure instanceof EngineException.ShuttingDown) {
            reason = Reason.SHUTTING_DOWN;
        }
        else if (failure instanceof EngineException.Stopped) {
            reason = Reason.STOPPED;
        }
        else if (failure instanceof EngineException) {
            reason = Reason.GENERATION_FAILED;
        }
        else if (failure instanceof InvalidConversationException) {
            reason = Reason.INVALID_CONVERSATION;
        }
        else {
            return failure;
        }
        return new KotodamaChatException(reason, String.valueOf(failure.getMessage()), failure);
    }

    /** {@link #translate} for a synchronous call. */
    static RuntimeException translated(RuntimeException failure) {
        return (RuntimeException) translate(failure);
    }
}
