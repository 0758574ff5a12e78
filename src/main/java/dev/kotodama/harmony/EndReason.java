package dev.kotodama.harmony;

/** Why an assistant turn ended. */
public enum EndReason {
    /** The model emitted {@code <|return|>}: the turn is complete. */
    RETURN,
    /** The model emitted {@code <|call|>}: it waits for a tool's result. */
    CALL,
    /** The caller stopped at its token limit ({@link HarmonyParser#finish}). */
    LENGTH,
    /** The caller cancelled the generation ({@link HarmonyParser#finish}). */
    CANCELLED
}
