package dev.kotodama.harmony;

import java.util.Arrays;
import java.util.Objects;

/**
 * A rendered prompt: its text (what transformers' {@code apply_chat_template} gives) and its token ids
 * (each special token of the template as its id, the text between them encoded as plain text).
 */
public record RenderedPrompt(String text, int[] ids) {

    public RenderedPrompt {
        Objects.requireNonNull(text, "text must not be null");
        ids = Objects.requireNonNull(ids, "ids must not be null").clone();
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof RenderedPrompt that && text.equals(that.text) && Arrays.equals(ids, that.ids);
    }

    @Override
    public int hashCode() {
        return 31 * text.hashCode() + Arrays.hashCode(ids);
    }

    @Override
    public String toString() {
        return "RenderedPrompt[" + ids.length + " ids, " + text.length() + " chars]";
    }
}
