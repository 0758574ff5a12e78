package dev.kotodama.harmony;

import java.util.Objects;

/**
 * What {@link HarmonyParser} makes of generated tokens. Deltas are whole characters (never half a
 * surrogate pair or an unfinished UTF-8 sequence) and never start with the tokenizer's per-segment
 * space; concatenated, the deltas of one kind give that channel's text.
 */
public sealed interface HarmonyEvent {

    /** Text of the analysis channel (chain of thought). */
    record ReasoningDelta(String text) implements HarmonyEvent {
        public ReasoningDelta {
            Objects.requireNonNull(text, "text must not be null");
        }
    }

    /** Text of the commentary channel without a recipient: what the model tells the user before calling tools. */
    record PreambleDelta(String text) implements HarmonyEvent {
        public PreambleDelta {
            Objects.requireNonNull(text, "text must not be null");
        }
    }

    /** Text of the final channel, and whatever the parser could not place elsewhere. */
    record AnswerDelta(String text) implements HarmonyEvent {
        public AnswerDelta {
            Objects.requireNonNull(text, "text must not be null");
        }
    }

    /**
     * A message to a tool, emitted once its arguments are over.
     *
     * @param name the recipient without the {@code functions.} namespace ({@code get_weather}); other
     *     recipients ({@code browser.search}) are kept whole
     * @param arguments the message's text as generated, normally a JSON object; not checked
     * @param complete false when the generation stopped (length, cancellation) inside the arguments
     */
    record ToolCallParsed(String name, String arguments, boolean complete) implements HarmonyEvent {
        public ToolCallParsed {
            Objects.requireNonNull(name, "name must not be null");
            Objects.requireNonNull(arguments, "arguments must not be null");
        }
    }

    /** The turn is over; the parser emits nothing after it. */
    record End(EndReason reason) implements HarmonyEvent {
        public End {
            Objects.requireNonNull(reason, "reason must not be null");
        }
    }
}
