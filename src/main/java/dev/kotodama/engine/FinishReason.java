package dev.kotodama.engine;

/** Why a generation ended. */
public enum FinishReason {
    /** A stop token or stop sequence was generated. */
    STOP,
    /** The request's token limit was reached. */
    LENGTH,
    /** The consumer cancelled it. */
    CANCELLED,
    /** The server shut down before it ended ({@link Engine#drain}). */
    SHUTDOWN
}
