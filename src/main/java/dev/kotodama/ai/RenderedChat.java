package dev.kotodama.ai;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a chat request sends to the model: the prompt's text as the chat template renders it and its token
 * ids ({@link KotodamaChatModel#render}).
 *
 * @param text the rendered prompt
 * @param ids its token ids
 */
public record RenderedChat(String text, int[] ids) {

    public RenderedChat {
        Objects.requireNonNull(text, "text must not be null");
        ids = ids.clone();
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof RenderedChat that && text.equals(that.text) && Arrays.equals(ids, that.ids);
    }

    @Override
    public int hashCode() {
        return 31 * text.hashCode() + Arrays.hashCode(ids);
    }

    @Override
    public String toString() {
        return "RenderedChat[" + ids.length + " ids]";
    }
}
