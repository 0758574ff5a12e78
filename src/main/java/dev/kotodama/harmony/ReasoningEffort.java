package dev.kotodama.harmony;

import java.util.Locale;

/** The system block's {@code Reasoning:} line. */
public enum ReasoningEffort {

    LOW, MEDIUM, HIGH;

    /** The word the template writes: {@code low}, {@code medium} or {@code high}. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @throws IllegalArgumentException for anything but low, medium or high (any case)
     */
    public static ReasoningEffort of(String word) {
        for (ReasoningEffort effort : values()) {
            if (effort.word().equalsIgnoreCase(word)) {
                return effort;
            }
        }
        throw new IllegalArgumentException("reasoning effort must be low, medium or high, not '" + word + "'");
    }
}
