package dev.kotodama.tokenizer;

import java.util.ArrayList;
import java.util.List;

import dev.kotodama.TestModels;
import dev.kotodama.tokenizer.TokenizerFixtures.ReferenceLine;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.kotodama.tokenizer.TokenizerFixtures.ADDED_TOKEN;
import static dev.kotodama.tokenizer.TokenizerFixtures.BYTE_PIECE_NAME;
import static dev.kotodama.tokenizer.TokenizerFixtures.FIRST_BYTE_PIECE;
import static org.assertj.core.api.Assertions.assertThat;

/** Streaming decoding with the LLM-jp-4 vocabulary, over the corpus of {@link TokenizerFixtures}. */
class StreamingDecoderIT {

    private static LlmJpTokenizer tokenizer;

    private static List<ReferenceLine> lines;

    @BeforeAll
    static void load() {
        lines = TokenizerFixtures.referenceLines();
        tokenizer = TestModels.tokenizer();
    }

    @Test
    void streamingTheEncodeTextIdsOfEveryLineGivesTheLineBack() {
        // ▁ (U+2581) is SentencePiece's space mark: typed by a user, it comes back as a space.
        assertThat(lines).hasSizeGreaterThanOrEqualTo(250);
        assertThat(lines).allSatisfy(line -> assertThat(streamed(tokenizer.encodeText(line.text())))
                .as(line.toString()).isEqualTo(line.text().replace('\u2581', ' ')));
    }

    @Test
    void streamingARenderedLineGivesTheTextBetweenItsSpecialTokens() {
        List<ReferenceLine> rendered = lines.stream().filter(line -> ADDED_TOKEN.matcher(line.text()).find())
                .filter(line -> !BYTE_PIECE_NAME.matcher(line.text()).find()).toList();

        assertThat(rendered).hasSizeGreaterThanOrEqualTo(10);
        assertThat(rendered).allSatisfy(line -> assertThat(streamed(line.tokenizersIds())).as(line.toString())
                .isEqualTo(ADDED_TOKEN.matcher(line.text()).replaceAll("")));
    }

    @Test
    void theChannelNameAndMessageOfAHarmonyHeaderComeWithoutLeadingSpaces() {
        StreamingDecoder decoder = tokenizer.newStreamingDecoder();
        List<String> pushes = new ArrayList<>();
        for (int id : tokenizer.encode("<|channel|>final<|message|>こんにちは<|return|>")) {
            pushes.add(decoder.push(id));
        }

        assertThat(pushes).filteredOn(push -> !push.isEmpty()).containsExactly("final", "こんにちは");
    }

    @Test
    void aRareKanjiArrivingAsThreeBytePiecesComesOutWholeAndOnlyOnItsLastByte() {
        int[] ids = tokenizer.encodeText("鱻"); // U+9C7B, not in the vocabulary
        StreamingDecoder decoder = tokenizer.newStreamingDecoder();

        assertThat(ids).endsWith(FIRST_BYTE_PIECE + 0xE9, FIRST_BYTE_PIECE + 0xB1, FIRST_BYTE_PIECE + 0xBB);
        for (int i = 0; i < ids.length - 1; i++) {
            assertThat(decoder.push(ids[i])).isEmpty();
        }
        assertThat(decoder.push(ids[ids.length - 1])).isEqualTo("鱻");
        assertThat(decoder.flush()).isEmpty();
    }

    @Test
    void noPushOfALongJapaneseTextHoldsABrokenCharacter() {
        String text = LlmJpTokenizerIT.japaneseText(2_000);
        StreamingDecoder decoder = tokenizer.newStreamingDecoder();
        StringBuilder streamed = new StringBuilder();
        int bytePieces = 0;
        for (int id : tokenizer.encodeText(text)) {
            bytePieces += id >= FIRST_BYTE_PIECE && id < FIRST_BYTE_PIECE + 256 ? 1 : 0;
            String push = decoder.push(id);
            assertThat(push).doesNotContain("\uFFFD");
            assertThat(push.isEmpty() || !Character.isLowSurrogate(push.charAt(0))).as(push).isTrue();
            assertThat(push.isEmpty() || !Character.isHighSurrogate(push.charAt(push.length() - 1))).as(push).isTrue();
            streamed.append(push);
        }

        assertThat(bytePieces).isGreaterThanOrEqualTo(7);
        assertThat(streamed.append(decoder.flush())).hasToString(text);
    }

    private static String streamed(int[] ids) {
        StreamingDecoder decoder = tokenizer.newStreamingDecoder();
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            text.append(decoder.push(id));
        }
        return text.append(decoder.flush()).toString();
    }
}
