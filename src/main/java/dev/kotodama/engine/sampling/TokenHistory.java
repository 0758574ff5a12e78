package dev.kotodama.engine.sampling;

import java.util.Arrays;

/**
 * The token ids a generation has seen so far, prompt first, growing by one id per decode step.
 *
 * <p>Owned by one generation: the decode loop appends each emitted token, and samplers only read it.
 * Not thread-safe.
 */
public final class TokenHistory {

    private int[] ids; // [capacity], the first size entries in use

    private int size;

    private final int promptSize;

    private TokenHistory(int[] ids) {
        this.ids = ids;
        this.size = ids.length;
        this.promptSize = ids.length;
    }

    /** A history that starts with the given prompt ids (possibly none). */
    public static TokenHistory of(int... promptIds) {
        for (int i = 0; i < promptIds.length; i++) {
            requireTokenId(promptIds[i], "promptIds[" + i + "]");
        }
        return new TokenHistory(promptIds.clone());
    }

    /** Appends a generated token id. */
    public void append(int tokenId) {
        requireTokenId(tokenId, "tokenId");
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, Math.max(16, ids.length * 2));
        }
        ids[size++] = tokenId;
    }

    public int size() {
        return size;
    }

    /** How many of the ids are the prompt's; the generated ones follow them. */
    public int promptSize() {
        return promptSize;
    }

    /** The id at {@code index}, counting from the first prompt token. */
    public int get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + " is outside a history of " + size + " tokens");
        }
        return ids[index];
    }

    private static void requireTokenId(int tokenId, String name) {
        if (tokenId < 0) {
            throw new IllegalArgumentException(name + " must be a token id >= 0, got " + tokenId);
        }
    }
}
