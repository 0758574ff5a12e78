package dev.kotodama.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import dev.kotodama.tokenizer.Vocabulary.AddedToken;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/** The decoder on a synthetic vocabulary: pure Java, no tokenizer files. */
class StreamingDecoderTests {

    private static final int START = 1; // special

    private static final int CHANNEL = 2; // special

    private static final int FIRST_BYTE = 3;

    private static final int HELLO = 259; // ▁Hello

    private static final int WORLD = 260; // ▁world

    private static final int TWO_MARKS = 261; // ▁▁

    private static final int X = 262; // x

    private static final int SEKAI = 263; // 世界

    private static final int TOOL = 264; // <tool>, an added token that is not special

    private static final Vocabulary VOCABULARY = vocabulary();

    private final StreamingDecoder decoder = new StreamingDecoder(VOCABULARY);

    @Test
    void pushesGiveTheTextWithoutTheEncodersLeadingSpace() {
        assertThat(pushAll(HELLO, WORLD, SEKAI)).containsExactly("Hello", " world", "世界");
    }

    @Test
    void aSpecialTokenReturnsNoTextAndItsNextSegmentLosesItsLeadingSpace() {
        assertThat(pushAll(HELLO, START, WORLD, CHANNEL, X)).containsExactly("Hello", "", "world", "", "x");
    }

    @Test
    void onlyOneLeadingSpaceIsDroppedPerSegment() {
        assertThat(pushAll(TWO_MARKS, X, START, TWO_MARKS, HELLO)).containsExactly(" ", "x", "", " ", " Hello");
    }

    @Test
    void segmentWithoutALeadingSpaceLosesNothing() {
        assertThat(pushAll(X, WORLD, START, SEKAI)).containsExactly("x", " world", "", "世界");
    }

    @Test
    void aCharacterSplitIntoBytePiecesIsHeldBackUntilItsLastByte() {
        assertThat(pushAll(X, bytePiece(0xE9), bytePiece(0xBE), bytePiece(0x98), X))
                .containsExactly("x", "", "", "龘", "x");
    }

    @Test
    void aFourByteCharacterComesOutWholeAsOneSurrogatePair() {
        List<String> pushes = pushAll(bytesOf("😀"));

        assertThat(pushes).containsExactly("", "", "", "😀");
    }

    @Test
    void everyWellFormedCharacterSurvivesByteByByteStreamingAsOneWholePush() {
        List<String> characters = IntStream.of(0x24, 0x7F, 0x80, 0x7FF, 0x800, 0x9F98, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF,
                0x10000, 0x1F600, 0x10FFFF).mapToObj(Character::toString).toList();
        pushAll(X);

        List<String> pushes = pushAll(bytesOf(String.join("", characters)));

        assertThat(pushes).filteredOn(push -> !push.isEmpty()).containsExactlyElementsOf(characters);
        assertThat(decoder.flush()).isEmpty();
    }

    @Test
    void aByteFallbackSpaceAtTheSegmentStartIsDroppedLikeALeadingMark() {
        assertThat(pushAll(bytePiece(' '), X)).containsExactly("", "x");
    }

    @Test
    void aSpaceMarkSpelledInBytesReadsAsASpaceLikeTheRustDecoder() {
        assertThat(pushAll(concat(new int[] {X}, bytesOf("\u2581")))).containsExactly("x", "", "", " ");
    }

    @Test
    void anUnfinishedCharacterComesOutOnlyAtFlushAsOneReplacementPerByte() {
        assertThat(pushAll(X, bytePiece(0xE9), bytePiece(0xBE))).containsExactly("x", "", "");
        assertThat(decoder.flush()).isEqualTo("\uFFFD\uFFFD");
    }

    @Test
    void flushStartsANewStream() {
        pushAll(HELLO);
        decoder.flush();

        assertThat(pushAll(WORLD)).containsExactly("world");
    }

    @Test
    void textInterruptingACharacterComesAfterTheReplacementOfItsBytes() {
        assertThat(pushAll(X, bytePiece(0xE9), WORLD)).containsExactly("x", "", "\uFFFD world");
    }

    @Test
    void aSpecialTokenInterruptingACharacterReturnsTheEndingSegmentsReplacement() {
        assertThat(pushAll(X, bytePiece(0xF0), bytePiece(0x9F), START, HELLO))
                .containsExactly("x", "", "", "\uFFFD\uFFFD", "Hello");
    }

    @Test
    void aStrayContinuationByteIsReplacedAtOnce() {
        assertThat(pushAll(X, bytePiece(0x80), X)).containsExactly("x", "\uFFFD", "x");
    }

    @Test
    void overlongAndSurrogateSequencesAreNeverAssembled() {
        assertThat(pushAll(X, bytePiece(0xE0), bytePiece(0x80))).containsExactly("x", "", "\uFFFD\uFFFD");
        assertThat(pushAll(bytePiece(0xED), bytePiece(0xA0))).containsExactly("", "\uFFFD\uFFFD");
        assertThat(pushAll(bytePiece(0xC0))).containsExactly("\uFFFD");
        assertThat(pushAll(bytePiece(0xF4), bytePiece(0x90))).containsExactly("", "\uFFFD\uFFFD");
    }

    @Test
    void aByteThatCannotContinueStartsItsOwnCharacter() {
        assertThat(pushAll(bytePiece(0xE9), bytePiece(0xC3), bytePiece(0xA9))).containsExactly("", "\uFFFD", "é");
    }

    @Test
    void aNonSpecialAddedTokenReturnsItsContentAndStartsASegment() {
        assertThat(pushAll(X, TOOL, HELLO)).containsExactly("x", "<tool>", "Hello");
    }

    @Test
    void anIdOutsideTheVocabularyIsRejectedByValue() {
        assertThatIllegalArgumentException().isThrownBy(() -> decoder.push(VOCABULARY.size()))
                .withMessageContaining("token id " + VOCABULARY.size());
        assertThatIllegalArgumentException().isThrownBy(() -> decoder.push(-1)).withMessageContaining("token id -1");
    }

    private List<String> pushAll(int... ids) {
        List<String> pushes = new ArrayList<>();
        for (int id : ids) {
            pushes.add(decoder.push(id));
        }
        return pushes;
    }

    private static int bytePiece(int value) {
        return FIRST_BYTE + value;
    }

    private static int[] bytesOf(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return IntStream.range(0, bytes.length).map(i -> bytePiece(bytes[i] & 0xFF)).toArray();
    }

    private static int[] concat(int[] first, int[] second) {
        return IntStream.concat(IntStream.of(first), IntStream.of(second)).toArray();
    }

    private static Vocabulary vocabulary() {
        List<String> pieces = new ArrayList<>(List.of("<|unk|>", "<|start|>", "<|channel|>"));
        for (int value = 0; value < 256; value++) {
            pieces.add(String.format("<0x%02X>", value));
        }
        pieces.addAll(List.of("\u2581Hello", "\u2581world", "\u2581\u2581", "x", "世界"));
        return Vocabulary.of(pieces, List.of(new AddedToken(0, "<|unk|>", true), new AddedToken(START, "<|start|>", true),
                new AddedToken(CHANNEL, "<|channel|>", true), new AddedToken(TOOL, "<tool>", false)));
    }
}
