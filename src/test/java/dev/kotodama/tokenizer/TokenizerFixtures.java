package dev.kotodama.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;

import dev.kotodama.TestModels;
import tools.jackson.databind.JsonNode;

/** The tokenizer fixtures among the {@link TestModels} (made by export/tests/java_fixtures.py). */
final class TokenizerFixtures {

    static final int FIRST_BYTE_PIECE = 352; // <0x00>; ids 0-351 are the added (special) tokens

    static final Pattern ADDED_TOKEN = Pattern.compile("<\\|[a-z_0-9]+\\|>");

    static final Pattern BYTE_PIECE_NAME = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    private TokenizerFixtures() {
    }

    /** The LLM-jp-4 tokenizer directory (tokenizer.json built from the shared SentencePiece model). */
    static Path tokenizerDirectory() {
        Path directory = TestModels.resolve("tokenizer");
        if (!Files.isRegularFile(directory.resolve(TokenizerJson.FILE_NAME))) {
            throw new IllegalStateException("fixture " + directory.resolve(TokenizerJson.FILE_NAME)
                    + " is missing; make the test models again (./mvnw verify)");
        }
        return directory;
    }

    /**
     * Per corpus line (export/tests/data/tokenizer_corpus.txt): the ids of the {@code sentencepiece}
     * library on the original .model, and of the HF {@code tokenizers} library on tokenizer.json
     * ({@code encode(add_special_tokens=False)}).
     */
    static List<ReferenceLine> referenceLines() {
        List<ReferenceLine> lines = new ArrayList<>();
        for (JsonNode line : TestModels.json("tokenizer-reference.json").path("lines")) {
            lines.add(new ReferenceLine(line.path("text").asString(), ids(line.path("sentencepiece_ids")),
                    ids(line.path("tokenizers_ids"))));
        }
        if (lines.isEmpty()) {
            throw new IllegalStateException("tokenizer-reference.json of the test models has no lines");
        }
        return lines;
    }

    private static int[] ids(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    /** One corpus line and its reference ids. */
    record ReferenceLine(String text, int[] sentencepieceIds, int[] tokenizersIds) {

        @Override
        public String toString() {
            return "line '" + text + "'";
        }
    }
}
