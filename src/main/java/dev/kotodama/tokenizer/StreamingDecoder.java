package dev.kotodama.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

import dev.kotodama.tokenizer.Vocabulary.AddedToken;
import dev.kotodama.tokenizer.Vocabulary.BytePiece;
import dev.kotodama.tokenizer.Vocabulary.Piece;
import dev.kotodama.tokenizer.Vocabulary.TextPiece;

/**
 * Turns generated token ids into text as they arrive, one generation at a time. Not thread-safe:
 * each generation owns its decoder. Made by {@link LlmJpTokenizer#newStreamingDecoder()}; needs no
 * native memory, and keeps working after the tokenizer is closed.
 *
 * <p>Text is cut into <em>segments</em> by special tokens: the stream starts a segment, and so does
 * every special (added) token. The encoder gives each segment its own leading {@code ▁}, so the decoder
 * drops one leading space per segment, exactly as decoding each segment on its own with the
 * tokenizer.json decoder would. Concatenating the pushes of one segment's ids (and the final
 * {@link #flush()}) gives that segment's text back.
 *
 * <p>A character that the encoder spelled as several byte pieces ({@code <0xE9> <0xBE> <0x98>}) is held
 * back until its last byte arrives, so no push ever returns part of a character. Bytes that can no
 * longer form a character (the next token is not their continuation, or the stream ends) come out as
 * one U+FFFD per byte, like the tokenizers library's ByteFallback; unlike it, the valid characters of
 * such a run are not replaced too.
 */
public final class StreamingDecoder {

    private static final String REPLACEMENT = "\uFFFD";

    private final Vocabulary vocabulary;

    private final byte[] pending = new byte[4]; // the held-back start of one UTF-8 character

    private int pendingLength;

    private int expectedLength;

    private boolean atSegmentStart = true;

    StreamingDecoder(Vocabulary vocabulary) {
        this.vocabulary = Objects.requireNonNull(vocabulary, "vocabulary must not be null");
    }

    /**
     * The text that this token completes.
     *
     * @return for a text or byte piece, the newly completed text ("" while a character is incomplete,
     *     or when the token was only the segment's leading space). For a special token, never its own
     *     text: the caller handles special ids; the result is what the ending segment still held back,
     *     which belongs to that segment (almost always "", U+FFFD per byte if the segment stopped in the
     *     middle of a character), and a new segment starts. A non-special added token returns its
     *     content, and also starts a new segment.
     * @throws IllegalArgumentException if the id is outside the vocabulary
     */
    public String push(int id) {
        Piece piece = vocabulary.piece(id);
        if (piece instanceof TextPiece text) {
            return pendingLength == 0 ? emit(text.text()) : abandonPending() + emit(text.text());
        }
        if (piece instanceof BytePiece bytePiece) {
            return pushByte(bytePiece.value());
        }
        AddedToken token = (AddedToken) piece;
        String ending = abandonPending();
        atSegmentStart = true;
        return token.special() ? ending : ending + token.content();
    }

    /**
     * Ends the stream: returns what is still held back (U+FFFD per byte of an unfinished character,
     * otherwise "") and resets the decoder to the start of a new stream.
     */
    public String flush() {
        String rest = abandonPending();
        atSegmentStart = true;
        return rest;
    }

    private String pushByte(int value) {
        if (pendingLength > 0) {
            if (!continues(value)) {
                return abandonPending() + pushByte(value);
            }
            pending[pendingLength++] = (byte) value;
            if (pendingLength < expectedLength) {
                return "";
            }
            String character = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
            pendingLength = 0;
            return emit(character.replace('\u2581', ' '));
        }
        int length = sequenceLength(value);
        if (length == 1) {
            return emit(String.valueOf((char) value));
        }
        if (length == 0) {
            return emit(REPLACEMENT);
        }
        pending[0] = (byte) value;
        pendingLength = 1;
        expectedLength = length;
        return "";
    }

    /** Gives up the held-back bytes: they can no longer form a character. */
    private String abandonPending() {
        if (pendingLength == 0) {
            return "";
        }
        String replaced = REPLACEMENT.repeat(pendingLength);
        pendingLength = 0;
        return emit(replaced);
    }

    /** Passes text on, dropping the one space that the encoder put at the start of the segment. */
    private String emit(String text) {
        if (!atSegmentStart || text.isEmpty()) {
            return text;
        }
        atSegmentStart = false;
        return text.charAt(0) == ' ' ? text.substring(1) : text;
    }

    /** 1 for ASCII, 2 to 4 for a lead byte of well-formed UTF-8, 0 for a byte that cannot start a character. */
    private static int sequenceLength(int lead) {
        if (lead < 0x80) {
            return 1;
        }
        if (lead >= 0xC2 && lead <= 0xDF) {
            return 2;
        }
        if (lead >= 0xE0 && lead <= 0xEF) {
            return 3;
        }
        if (lead >= 0xF0 && lead <= 0xF4) {
            return 4;
        }
        return 0;
    }

    /**
     * Whether the byte continues the held-back sequence as well-formed UTF-8 (Unicode Table 3-7: no
     * overlong forms, no surrogates, nothing above U+10FFFF).
     */
    private boolean continues(int value) {
        if (pendingLength > 1) {
            return value >= 0x80 && value <= 0xBF;
        }
        int lead = pending[0] & 0xFF;
        int low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
        int high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
        return value >= low && value <= high;
    }
}
