package dev.kotodama.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import static dev.kotodama.tokenizer.SyntheticTokenizerJson.byteId;
import static dev.kotodama.tokenizer.SyntheticTokenizerJson.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * The tokenizer on a tiny synthetic tokenizer.json ({@link SyntheticTokenizerJson}); runs DJL's native
 * library but needs no fixtures.
 */
class LlmJpTokenizerTests {

    @TempDir
    Path directory;

    @Test
    void userTextSpellingASpecialTokenStaysText() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            int[] ids = tokenizer.encodeText("<|start|>");

            assertThat(ids).containsExactly(id("\u2581"), id("<"), id("|"), id("s"), id("t"), id("a"), id("r"),
                    id("t"), id("|"), id(">"));
            assertThat(tokenizer.decode(ids)).isEqualTo("<|start|>");
        }
    }

    @Test
    void theSameTextThroughEncodeBecomesTheSpecialToken() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            assertThat(tokenizer.encode("<|start|>start")).containsExactly(1, id("\u2581start"));
            assertThat(tokenizer.encode("<|start|>start")).startsWith(tokenizer.tokenId("<|start|>"))
                    .endsWith(tokenizer.encodeText("start"));
        }
    }

    @Test
    void userTextSpellingABytePieceNameStaysText() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            int[] ids = tokenizer.encodeText("<0x41>");

            assertThat(ids).containsExactly(id("\u2581"), id("<"), id("0"), id("x"), id("4"), id("1"), id(">"));
            assertThat(tokenizer.decode(ids)).isEqualTo("<0x41>");
        }
    }

    @Test
    void ordinaryPiecesContainingAnAngleBracketStillMatch() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            assertThat(tokenizer.encodeText("</")).containsExactly(id("\u2581"), id("</"));
        }
    }

    @Test
    void charactersOutsideTheVocabularyFallBackToTheirUtf8Bytes() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            int[] ids = tokenizer.encodeText("\u00e9");

            assertThat(ids).containsExactly(id("\u2581"), byteId(0xC3), byteId(0xA9));
            assertThat(tokenizer.decode(ids)).isEqualTo("\u00e9");
        }
    }

    @Test
    void emptyTextHasNoIds() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            assertThat(tokenizer.encodeText("")).isEmpty();
            assertThat(tokenizer.encode("")).isEmpty();
        }
    }

    @Test
    void decodeWritesSpecialTokensOutAndDropsEachSegmentsLeadingSpace() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            String text = "<|start|>start<|end|> a";

            assertThat(tokenizer.decode(tokenizer.encode(text))).isEqualTo(text);
        }
    }

    @Test
    void specialIdsAreTheAddedTokensOnly() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            assertThat(tokenizer.isSpecial(tokenizer.tokenId("<|end|>"))).isTrue();
            assertThat(tokenizer.isSpecial(byteId(0x41))).isFalse();
            assertThat(tokenizer.isSpecial(id("\u2581a"))).isFalse();
            assertThat(tokenizer.vocabularySize()).isEqualTo(3 + 256 + SyntheticTokenizerJson.ORDINARY.size());
        }
    }

    @Test
    void unknownSpecialTokenIsNamedInTheError() throws IOException {
        try (LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory))) {
            assertThatIllegalArgumentException().isThrownBy(() -> tokenizer.tokenId("<|nope|>"))
                    .withMessageContaining("<|nope|>").withMessageContaining("tokenizer.json");
            assertThatIllegalArgumentException().isThrownBy(() -> tokenizer.isSpecial(tokenizer.vocabularySize()))
                    .withMessageContaining(String.valueOf(tokenizer.vocabularySize()));
        }
    }

    @Test
    void encodingAfterCloseFailsClearlyWhileDecodingStillWorks() throws IOException {
        LlmJpTokenizer tokenizer = LlmJpTokenizer.load(SyntheticTokenizerJson.write(directory));
        int[] ids = tokenizer.encodeText("a");
        tokenizer.close();
        tokenizer.close();

        assertThatIllegalStateException().isThrownBy(() -> tokenizer.encodeText("a")).withMessageContaining("closed");
        assertThat(tokenizer.decode(ids)).isEqualTo("a");
    }

    @Test
    void missingDirectoryIsNamed() {
        Path missing = directory.resolve("absent");

        assertThatExceptionOfType(TokenizerLoadException.class).isThrownBy(() -> LlmJpTokenizer.load(missing))
                .satisfies(ex -> assertThat(ex.getMessage()).contains(missing.toString(), "does not exist")
                        .doesNotContain("\n"));
    }

    @Test
    void directoryWithoutTokenizerJsonIsNamed() {
        assertThatExceptionOfType(TokenizerLoadException.class).isThrownBy(() -> LlmJpTokenizer.load(directory))
                .satisfies(ex -> assertThat(ex.getMessage()).contains("no tokenizer.json in " + directory)
                        .doesNotContain("\n"));
    }

    @Test
    void truncatedFileFailsWithOneLineNamingIt() throws IOException {
        String json = Files.readString(SyntheticTokenizerJson.write(directory).resolve("tokenizer.json"));
        Files.writeString(directory.resolve("tokenizer.json"), json.substring(0, json.length() / 2));

        assertThatExceptionOfType(TokenizerLoadException.class).isThrownBy(() -> LlmJpTokenizer.load(directory))
                .satisfies(ex -> assertThat(ex.getMessage()).contains("tokenizer.json is not valid JSON", "line")
                        .doesNotContain("\n"));
    }

    @Test
    void nonUnigramModelIsRejectedByItsType() throws IOException {
        ObjectNode tree = SyntheticTokenizerJson.tree();
        ((ObjectNode) tree.get("model")).put("type", "BPE");

        assertLoadFails(tree, "model.type is 'BPE', expected 'Unigram'");
    }

    @Test
    void missingBytePieceIsNamed() throws IOException {
        ObjectNode tree = SyntheticTokenizerJson.tree();
        ((ArrayNode) tree.get("model").get("vocab")).set(byteId(0x80), tree.arrayNode().add("<0x80x>").add(0.0));

        assertLoadFails(tree, "lacks the byte piece <0x80>");
    }

    @Test
    void decoderOtherThanSentencePiecesIsRejected() throws IOException {
        ObjectNode tree = SyntheticTokenizerJson.tree();
        ((ArrayNode) tree.get("decoder").get("decoders")).remove(3);

        assertLoadFails(tree, "decoder is not SentencePiece's");
    }

    @Test
    void normalizerThatLeavesSpacesIsRejected() throws IOException {
        ObjectNode tree = SyntheticTokenizerJson.tree();
        ((ArrayNode) tree.get("normalizer").get("normalizers")).remove(1);

        assertLoadFails(tree, "no space reaching the model");
    }

    @Test
    void addedTokenBeyondTheModelLeavingAGapIsRejected() throws IOException {
        ObjectNode tree = SyntheticTokenizerJson.tree();
        int beyond = SyntheticTokenizerJson.FIRST_BYTE + 256 + SyntheticTokenizerJson.ORDINARY.size() + 1;
        ((ArrayNode) tree.get("added_tokens")).addObject().put("id", beyond).put("content", "<|late|>").put("special", true);

        assertLoadFails(tree, "token id " + (beyond - 1) + " is neither a model piece nor an added token");
    }

    private void assertLoadFails(ObjectNode tree, String problem) throws IOException {
        SyntheticTokenizerJson.write(directory, tree);

        assertThatExceptionOfType(TokenizerLoadException.class).isThrownBy(() -> LlmJpTokenizer.load(directory))
                .satisfies(ex -> assertThat(ex.getMessage()).startsWith(directory.resolve("tokenizer.json") + ": ")
                        .contains(problem).doesNotContain("\n"));
    }
}
