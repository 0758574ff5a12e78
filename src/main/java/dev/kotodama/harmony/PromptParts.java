package dev.kotodama.harmony;

import java.util.ArrayList;
import java.util.List;

/**
 * A prompt as the template writes it: special tokens, and the text between them. The text is kept
 * apart from the tokens so that it is encoded as text whatever it spells.
 */
final class PromptParts {

    /** One special token, or a run of text between two of them (never empty). */
    record Part(String content, boolean special) {
    }

    private final List<Part> parts = new ArrayList<>();

    private final StringBuilder pendingText = new StringBuilder();

    PromptParts special(String token) {
        flushText();
        parts.add(new Part(token, true));
        return this;
    }

    PromptParts text(String text) {
        pendingText.append(text);
        return this;
    }

    List<Part> parts() {
        flushText();
        return List.copyOf(parts);
    }

    String text() {
        StringBuilder out = new StringBuilder();
        parts().forEach(part -> out.append(part.content()));
        return out.toString();
    }

    private void flushText() {
        if (!pendingText.isEmpty()) {
            parts.add(new Part(pendingText.toString(), false));
            pendingText.setLength(0);
        }
    }
}
