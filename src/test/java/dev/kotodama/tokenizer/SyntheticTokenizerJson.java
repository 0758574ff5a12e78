package dev.kotodama.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A tiny tokenizer.json in the shape of LLM-jp-4's (SentencePiece Unigram with byte fallback, the Harmony
 * tokens as added tokens that are also model pieces with score 0), for tests that need no fixtures.
 *
 * <pre>
 * ids 0-2    added special tokens &lt;|unk|&gt; &lt;|start|&gt; &lt;|end|&gt; (model pieces too, score 0)
 * ids 3-258  byte pieces &lt;0x00&gt;..&lt;0xFF&gt; (score 0)
 * ids 259-   ordinary pieces, in the order of ORDINARY
 * </pre>
 */
final class SyntheticTokenizerJson {

    static final List<String> ADDED = List.of("<|unk|>", "<|start|>", "<|end|>");

    static final int FIRST_BYTE = 3;

    /** Ordinary pieces and their scores; every character of the special names has its own piece. */
    static final Map<String, Double> ORDINARY = ordinary();

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private SyntheticTokenizerJson() {
    }

    static int id(String piece) {
        int index = new ArrayList<>(ORDINARY.keySet()).indexOf(piece);
        if (index < 0) {
            throw new IllegalArgumentException("no ordinary piece " + piece);
        }
        return FIRST_BYTE + 256 + index;
    }

    static int byteId(int value) {
        return FIRST_BYTE + value;
    }

    /** The tokenizer.json as an editable tree. */
    static ObjectNode tree() {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < ADDED.size(); id++) {
            added.addObject().put("id", id).put("content", ADDED.get(id)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode steps = normalizer.putArray("normalizers");
        steps.addObject().put("type", "Replace").put("content", "\u2581").putObject("pattern").put("Regex", "(?<!\\n)^");
        steps.addObject().put("type", "Replace").put("content", "\u2581").putObject("pattern").put("String", " ");
        root.putNull("pre_tokenizer");
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("String", "\u2581");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model").put("type", "Unigram").put("unk_id", 0).put("byte_fallback", true);
        ArrayNode vocab = model.putArray("vocab");
        ADDED.forEach(name -> vocab.addArray().add(name).add(0.0));
        for (int value = 0; value < 256; value++) {
            vocab.addArray().add(String.format("<0x%02X>", value)).add(0.0);
        }
        ORDINARY.forEach((piece, score) -> vocab.addArray().add(piece).add(score));
        return root;
    }

    /** Writes the tokenizer.json into {@code directory} and returns the directory. */
    static Path write(Path directory) throws IOException {
        return write(directory, tree());
    }

    static Path write(Path directory, ObjectNode tree) throws IOException {
        Files.writeString(directory.resolve("tokenizer.json"), MAPPER.writeValueAsString(tree));
        return directory;
    }

    private static Map<String, Double> ordinary() {
        Map<String, Double> pieces = new LinkedHashMap<>();
        pieces.put("\u2581", -2.0);
        for (String character : List.of("<", "|", ">", "/", "s", "t", "a", "r", "e", "n", "d", "u", "k", "0", "x", "4", "1")) {
            pieces.put(character, -5.0);
        }
        pieces.put("</", -3.0);
        pieces.put("\u2581a", -3.0);
        pieces.put("\u2581start", -4.0);
        return pieces;
    }
}
