package dev.kotodama.ai;

import java.util.List;
import java.util.Objects;

/**
 * Watches the answer text for stop sequences while it streams. Text that could be the start of a
 * stop sequence is held back until the next delta shows whether it is; once a sequence appears, the
 * answer is cut before it. Not thread-safe: one per generation.
 */
final class StopSequences {

    /** What a delta lets through, and whether a stop sequence ended the answer. */
    record Step(String text, boolean stopped) {
    }

    private final List<String> sequences;

    private String held = "";

    StopSequences(List<String> sequences) {
        this.sequences = List.copyOf(Objects.requireNonNull(sequences, "sequences must not be null"));
        if (this.sequences.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("stop sequences must not be empty strings");
        }
    }

    Step push(String delta) {
        if (sequences.isEmpty()) {
            return new Step(delta, false);
        }
        String text = held + delta;
        int cut = firstMatch(text);
        if (cut >= 0) {
            held = "";
            return new Step(text.substring(0, cut), true);
        }
        int keep = longestSuffixThatStartsASequence(text);
        held = text.substring(text.length() - keep);
        return new Step(text.substring(0, text.length() - keep), false);
    }

    /** The text held back at the end of the answer, which turned out not to start a stop sequence. */
    String flush() {
        String text = held;
        held = "";
        return text;
    }

    private int firstMatch(String text) {
        int first = -1;
        for (String sequence : sequences) {
            int at = text.indexOf(sequence);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        return first;
    }

    private int longestSuffixThatStartsASequence(String text) {
        int longest = 0;
        for (String sequence : sequences) {
            for (int length = Math.min(sequence.length() - 1, text.length()); length > longest; length--) {
                if (text.regionMatches(text.length() - length, sequence, 0, length)) {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
