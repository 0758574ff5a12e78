package dev.kotodama.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.stream.IntStream;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.kotodama.tokenizer.TokenizerFixtures.ReferenceLine;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.kotodama.tokenizer.TokenizerFixtures.ADDED_TOKEN;
import static dev.kotodama.tokenizer.TokenizerFixtures.BYTE_PIECE_NAME;
import static dev.kotodama.tokenizer.TokenizerFixtures.FIRST_BYTE_PIECE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The LLM-jp-4 tokenizer against the references of {@link TokenizerFixtures}: the {@code sentencepiece}
 * library for user text, the HF {@code tokenizers} library for rendered prompts and for decoding.
 */
class LlmJpTokenizerIT {

    private static final int FIRST_ORDINARY_PIECE = 608; // after <0xFF>

    private static LlmJpTokenizer tokenizer;

    private static List<ReferenceLine> lines;

    @BeforeAll
    static void load() {
        lines = TokenizerFixtures.referenceLines();
        tokenizer = LlmJpTokenizer.load(TokenizerFixtures.tokenizerDirectory());
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    @Test
    void encodeTextGivesTheSentencepieceIdsOfEveryLineWithoutAnOldModelName() {
        // sentencepiece matches the .model's old user-defined names (<mask>, <RESERVED_100>) as symbols,
        // which the released tokenizer renamed; those lines are checked by the next test instead.
        List<ReferenceLine> compared = lines.stream()
                .filter(line -> Arrays.stream(line.sentencepieceIds()).noneMatch(tokenizer::isSpecial)).toList();

        assertThat(compared).hasSizeGreaterThanOrEqualTo(200);
        assertThat(compared).allSatisfy(line -> assertThat(tokenizer.encodeText(line.text())).as(line.toString())
                .containsExactly(line.sentencepieceIds()));
    }

    @Test
    void userTextNeverYieldsASpecialIdEvenWhenItSpellsOne() {
        List<String> texts = new ArrayList<>(lines.stream().map(ReferenceLine::text).toList());
        for (int id = 0; id < FIRST_BYTE_PIECE; id++) {
            String name = tokenizer.decode(new int[] {id});
            texts.addAll(List.of(name, "x" + name + "y", name + name, " " + name + "\n"));
        }
        long spellingAddedTokens = texts.stream().filter(text -> ADDED_TOKEN.matcher(text).find()).count();

        assertThat(spellingAddedTokens).isGreaterThan(4 * FIRST_BYTE_PIECE);
        assertThat(texts).allSatisfy(text -> {
            int[] ids = tokenizer.encodeText(text);
            assertThat(IntStream.of(ids).filter(tokenizer::isSpecial).toArray()).as(text).isEmpty();
            assertThat(tokenizer.decode(ids)).as(text).isEqualTo(text.replace('\u2581', ' '));
        });
    }

    @Test
    void userTextSpellingABytePieceNameStaysText() {
        String text = "byte piece name <0x41> typed as text";
        int byteA = FIRST_BYTE_PIECE + 'A';

        assertThat(tokenizer.encode(text)).contains(byteA);
        assertThat(tokenizer.encodeText(text)).doesNotContain(byteA);
        assertThat(tokenizer.decode(tokenizer.encodeText(text))).isEqualTo(text);
    }

    @Test
    void encodeGivesTheTokenizersLibraryIdsOfEveryLine() {
        assertThat(lines).allSatisfy(line -> assertThat(tokenizer.encode(line.text())).as(line.toString())
                .containsExactly(line.tokenizersIds()));
    }

    @Test
    void harmonyHeadersEncodeAsTheOfficialParserExpects() {
        assertThat(tokenizer.encode("<|channel|>final")).containsExactly(9, 2520);
        assertThat(tokenizer.encode("<|start|>assistant")).containsExactly(10, 12811);
        assertThat(tokenizer.tokenId("<|return|>")).isEqualTo(2);
        assertThat(tokenizer.tokenId("<|call|>")).isEqualTo(13);
        assertThat(tokenizer.encodeText("final")).containsExactly(2520);
    }

    @Test
    void encodeTextOfEachSegmentBesideTokenIdsGivesTheIdsOfTheRenderedLine() {
        List<ReferenceLine> rendered = lines.stream().filter(line -> ADDED_TOKEN.matcher(line.text()).find())
                .filter(line -> !BYTE_PIECE_NAME.matcher(line.text()).find()).toList();

        assertThat(rendered).hasSizeGreaterThanOrEqualTo(10);
        assertThat(rendered).allSatisfy(line -> assertThat(segmentByToken(line.text())).as(line.toString())
                .containsExactly(line.tokenizersIds()));
    }

    @Test
    void decodeGivesEveryLineBackWithSpecialTokensWrittenOut() {
        List<ReferenceLine> decoded = lines.stream().filter(line -> !BYTE_PIECE_NAME.matcher(line.text()).find())
                .toList();

        assertThat(decoded).hasSizeGreaterThanOrEqualTo(250);
        assertThat(decoded).allSatisfy(line -> assertThat(tokenizer.decode(line.tokenizersIds())).as(line.toString())
                .isEqualTo(line.text().replace('\u2581', ' ')));
    }

    @Test
    void javaDecodingAgreesWithTheRustDecoderOnEveryLineAndOnRandomPieces() throws Exception {
        List<int[]> sequences = new ArrayList<>(lines.stream().map(line -> tokenizer.encodeText(line.text())).toList());
        Random random = new Random(42);
        for (int i = 0; i < 500; i++) {
            sequences.add(randomPieces(random));
        }
        try (HuggingFaceTokenizer rust = HuggingFaceTokenizer.newInstance(TokenizerFixtures.tokenizerDirectory(),
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            assertThat(sequences).allSatisfy(ids -> assertThat(tokenizer.decode(ids)).as(Arrays.toString(ids))
                    .isEqualTo(rust.decode(IntStream.of(ids).asLongStream().toArray(), false)));
        }
    }

    @Test
    void longTextIsNeverTruncated() {
        String text = japaneseText(2_000);
        int[] ids = tokenizer.encodeText(text);

        assertThat(ids.length).isGreaterThan(512);
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
        assertThat(tokenizer.encode(text)).containsExactly(ids);
    }

    @Test
    void concurrentEncodingGivesTheSameIdsAsOneThread() throws Exception {
        List<int[]> expected = lines.stream().map(line -> tokenizer.encodeText(line.text())).toList();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<int[]>>> runs = new ArrayList<>();
            for (int run = 0; run < 8; run++) {
                runs.add(pool.submit(() -> lines.stream().map(line -> tokenizer.encodeText(line.text())).toList()));
            }
            for (Future<List<int[]>> run : runs) {
                assertThat(run.get()).usingRecursiveComparison().isEqualTo(expected);
            }
        }
        finally {
            pool.shutdownNow();
        }
    }

    @Test
    void specialIdsAreExactlyTheAddedTokens() {
        assertThat(tokenizer.vocabularySize()).isEqualTo(196_608);
        assertThat(IntStream.range(0, FIRST_BYTE_PIECE)).allMatch(tokenizer::isSpecial);
        assertThat(IntStream.range(FIRST_BYTE_PIECE, tokenizer.vocabularySize())).noneMatch(tokenizer::isSpecial);
    }

    /** The rendered line's ids built as a prompt renderer should: token ids, and encodeText between them. */
    private static int[] segmentByToken(String text) {
        IntStream.Builder ids = IntStream.builder();
        Matcher token = ADDED_TOKEN.matcher(text);
        int segmentStart = 0;
        while (token.find()) {
            IntStream.of(tokenizer.encodeText(text.substring(segmentStart, token.start()))).forEach(ids::add);
            ids.add(tokenizer.tokenId(token.group()));
            segmentStart = token.end();
        }
        IntStream.of(tokenizer.encodeText(text.substring(segmentStart))).forEach(ids::add);
        return ids.build().toArray();
    }

    /** Ordinary pieces, with now and then a well-formed character spelled in byte pieces. */
    private static int[] randomPieces(Random random) {
        IntStream.Builder ids = IntStream.builder();
        for (int i = random.nextInt(1, 40); i > 0; i--) {
            if (random.nextInt(5) == 0) {
                int codePoint = random.nextInt(0x80, 0x30000);
                String character = Character.toString(codePoint >= 0xD800 && codePoint <= 0xDFFF ? 0x9F98 : codePoint);
                for (byte b : character.getBytes(StandardCharsets.UTF_8)) {
                    ids.add(FIRST_BYTE_PIECE + (b & 0xFF));
                }
            }
            else {
                ids.add(random.nextInt(FIRST_ORDINARY_PIECE, tokenizer.vocabularySize()));
            }
        }
        return ids.build().toArray();
    }

    static String japaneseText(int length) {
        String sentences = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で"
                + "ニャーニャー泣いていた事だけは記憶している。Kotodama は LLM-jp-4 を ONNX Runtime で動かす。"
                + "東京スカイツリーの高さは 634 m です。鱻（U+9C7B）と 𩸽（ほっけ）は語彙にない字で、バイト列になる。";
        return sentences.repeat(length / sentences.length() + 1).substring(0, length);
    }
}
