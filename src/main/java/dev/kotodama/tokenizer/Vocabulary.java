package dev.kotodama.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * What each token id stands for when it is turned back into text: the id-to-piece table of a
 * SentencePiece tokenizer, with the added (Harmony) tokens laid over it. Pure Java and immutable, so
 * decoders keep working after the native tokenizer is closed.
 *
 * <p>Decoding follows the tokenizer.json decoder {@code ByteFallback, Replace ▁→" ", Fuse, Strip(left 1)}:
 * a byte piece {@code <0xE9>} stands for one byte, any other piece for its text with every {@code ▁}
 * read as a space, and an added token for its content.
 */
final class Vocabulary {

    /** How HF's ByteFallback recognises a byte piece. */
    static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    private static final char SPACE_MARK = '\u2581';

    private final Piece[] pieces;

    private final Map<String, Integer> addedIds;

    private Vocabulary(Piece[] pieces, Map<String, Integer> addedIds) {
        this.pieces = pieces;
        this.addedIds = addedIds;
    }

    /**
     * @param modelPieces the model's pieces in id order ({@code model.vocab} of tokenizer.json)
     * @param addedTokens tokens that are split out of text before the model sees it; they take
     *     precedence over a model piece of the same id, and may lie beyond the model's pieces
     */
    static Vocabulary of(List<String> modelPieces, List<AddedToken> addedTokens) {
        Objects.requireNonNull(modelPieces, "modelPieces must not be null");
        Objects.requireNonNull(addedTokens, "addedTokens must not be null");
        int size = modelPieces.size();
        for (AddedToken token : addedTokens) {
            size = Math.max(size, token.id() + 1);
        }
        Piece[] pieces = new Piece[size];
        for (int id = 0; id < modelPieces.size(); id++) {
            pieces[id] = modelPiece(modelPieces.get(id));
        }
        Map<String, Integer> addedIds = new HashMap<>();
        for (AddedToken token : addedTokens) {
            pieces[token.id()] = token;
            addedIds.put(token.content(), token.id());
        }
        for (int id = 0; id < size; id++) {
            if (pieces[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is neither a model piece nor an added token");
            }
        }
        return new Vocabulary(pieces, Map.copyOf(addedIds));
    }

    private static Piece modelPiece(String piece) {
        if (BYTE_PIECE.matcher(piece).matches()) {
            return new BytePiece(Integer.parseInt(piece, 3, 5, 16));
        }
        return new TextPiece(piece.replace(SPACE_MARK, ' '));
    }

    /** The most characters one token stands for (a byte piece: at most one). */
    int longestPiece() {
        int longest = 1;
        for (Piece piece : pieces) {
            if (piece instanceof TextPiece text) {
                longest = Math.max(longest, text.text().length());
            }
            else if (piece instanceof AddedToken token) {
                longest = Math.max(longest, token.content().length());
            }
        }
        return longest;
    }

    /** Ids run from 0 to {@code size() - 1}. */
    int size() {
        return pieces.length;
    }

    Piece piece(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (pieces.length - 1) + ")");
        }
        return pieces[id];
    }

    /** The id of the added token with this content, or null. */
    @Nullable Integer addedId(String content) {
        return addedIds.get(content);
    }

    /** What one token id stands for. */
    sealed interface Piece permits TextPiece, BytePiece, AddedToken {
    }

    /** A model piece decoded as text; {@code text} already has its {@code ▁} marks read as spaces. */
    record TextPiece(String text) implements Piece {
    }

    /** A byte-fallback piece ({@code <0x00>}..{@code <0xFF>}): one byte of a UTF-8 sequence. */
    record BytePiece(int value) implements Piece {
    }

    /** A token split out of text before the model sees it; {@code special} ones are control tokens. */
    record AddedToken(int id, String content, boolean special) implements Piece {

        AddedToken {
            Objects.requireNonNull(content, "content must not be null");
            if (id < 0) {
                throw new IllegalArgumentException("id must not be negative, got " + id);
            }
        }
    }
}
