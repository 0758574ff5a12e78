package dev.kotodama.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.kotodama.tokenizer.Vocabulary.AddedToken;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A model directory's tokenizer.json, checked for the shape this package relies on (a SentencePiece
 * Unigram model with byte fallback, SentencePiece's whitespace normalizer and decoder), and the
 * variants derived from it.
 */
final class TokenizerJson {

    static final String FILE_NAME = "tokenizer.json";

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    /** The decoder that {@link StreamingDecoder} reimplements. */
    private static final JsonNode SENTENCEPIECE_DECODER = MAPPER.readTree("""
            {"type": "Sequence", "decoders": [
              {"type": "ByteFallback"},
              {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
              {"type": "Fuse"},
              {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}""");

    /** The last normalizer step: after it, no space is left in the text that reaches the model. */
    private static final JsonNode SPACES_TO_MARKS = MAPPER.readTree("""
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}""");

    /** Spells every '<' of user text as a space, which only the renamed ordinary pieces contain. */
    private static final JsonNode ANGLE_BRACKETS_TO_SPACES = MAPPER.readTree("""
            {"type": "Replace", "pattern": {"String": "<"}, "content": " "}""");

    private final Path file;

    private final byte[] content;

    private final JsonNode root;

    private TokenizerJson(Path file, byte[] content, JsonNode root) {
        this.file = file;
        this.content = content;
        this.root = root;
    }

    /** Reads and checks {@code directory/tokenizer.json}; every failure is one line naming the file. */
    static TokenizerJson read(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new TokenizerLoadException("tokenizer directory " + directory + " does not exist");
        }
        Path file = directory.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new TokenizerLoadException("no " + FILE_NAME + " in " + directory
                    + " (a model directory carries the checkpoint's tokenizer files)");
        }
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        }
        catch (IOException ex) {
            throw new TokenizerLoadException("cannot read " + file + ": " + ex, ex);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(content);
        }
        catch (JacksonException ex) {
            throw new TokenizerLoadException(file + " is not valid JSON: " + oneLine(ex), ex);
        }
        TokenizerJson json = new TokenizerJson(file, content, root);
        json.check();
        return json;
    }

    Path file() {
        return file;
    }

    /** The file as read, for the tokenizers library. */
    byte[] content() {
        return content;
    }

    Vocabulary vocabulary() {
        List<String> pieces = new ArrayList<>(vocab().size());
        for (JsonNode entry : vocab()) {
            pieces.add(entry.path(0).asString());
        }
        List<AddedToken> added = new ArrayList<>();
        for (JsonNode token : root.path("added_tokens")) {
            added.add(new AddedToken(token.path("id").asInt(), token.path("content").asString(),
                    token.path("special").asBoolean()));
        }
        try {
            return Vocabulary.of(pieces, added);
        }
        catch (IllegalArgumentException ex) {
            throw problem(ex.getMessage());
        }
    }

    /**
     * A tokenizer.json for user text, whose ids match the {@code sentencepiece} library's and never
     * include an added token, the unknown piece or a byte piece matched as text (a user's
     * {@code <|start|>} or {@code <0x41>} stays text).
     *
     * <p>The added tokens are dropped, and the model's lattice is kept from matching their pieces
     * (which the model's vocabulary holds too, with score 0) and the byte pieces: the normalizer gains
     * a last step that turns every {@code '<'} into a space, and every ordinary piece is renamed the
     * same way ({@code "</"} becomes {@code " /"}). The excluded pieces keep a {@code '<'}, which no
     * normalized text contains any more, so they can never match; byte fallback still finds
     * {@code <0xE9>} by its name. Scores are untouched, so the lattice, the unknown-piece penalty
     * (lowest score minus 10) and hence every id are the original model's. This relies on the checks of
     * {@link #read}: spaces never reach the model, and no piece contains one.
     */
    String plainTextVariant() {
        Set<Integer> excluded = new HashSet<>();
        root.path("added_tokens").forEach(token -> excluded.add(token.path("id").asInt()));
        if (model().path("unk_id").isInt()) {
            excluded.add(model().path("unk_id").asInt());
        }
        ArrayNode renamed = MAPPER.createArrayNode();
        int id = 0;
        for (JsonNode entry : vocab()) {
            String piece = entry.path(0).asString();
            boolean matchable = !excluded.contains(id++) && !Vocabulary.BYTE_PIECE.matcher(piece).matches();
            String name = matchable ? piece.replace('<', ' ') : piece.indexOf('<') >= 0 ? piece : "<" + piece;
            renamed.add(MAPPER.createArrayNode().add(name).add(entry.path(1)));
        }
        ObjectNode model = shallowCopy(model());
        model.set("vocab", renamed);
        ObjectNode normalizer = MAPPER.createObjectNode().put("type", "Sequence");
        normalizer.putArray("normalizers").add(root.path("normalizer")).add(ANGLE_BRACKETS_TO_SPACES);
        ObjectNode plain = shallowCopy(root);
        plain.putArray("added_tokens");
        plain.set("normalizer", normalizer);
        plain.set("model", model);
        return MAPPER.writeValueAsString(plain);
    }

    private void check() {
        String type = model().path("type").asString("");
        require("Unigram".equals(type), "model.type is '" + type + "', expected 'Unigram' (a SentencePiece model)");
        require(model().path("byte_fallback").asBoolean(false), "model.byte_fallback is not true");
        require(vocab().isArray() && !vocab().isEmpty(), "model.vocab is missing or empty");
        Set<String> pieces = new HashSet<>();
        for (JsonNode entry : vocab()) {
            String piece = entry.path(0).asString("");
            if (piece.isEmpty() || !entry.path(1).isNumber()) {
                throw problem("model.vocab has an entry that is not [piece, score]: " + entry);
            }
            if (piece.indexOf(' ') >= 0) {
                throw problem("model.vocab has a piece with a space: '" + piece + "'");
            }
            pieces.add(piece);
        }
        for (int value = 0; value < 256; value++) {
            String piece = String.format("<0x%02X>", value);
            require(pieces.contains(piece), "model.vocab lacks the byte piece " + piece + " that byte fallback needs");
        }
        for (JsonNode token : root.path("added_tokens")) {
            if (!token.path("id").isInt() || token.path("id").asInt() < 0 || token.path("content").asString("").isEmpty()) {
                throw problem("added_tokens has an entry without an id or content: " + token);
            }
        }
        require(SENTENCEPIECE_DECODER.equals(root.path("decoder")),
                "decoder is not SentencePiece's (ByteFallback, Replace '\u2581' with ' ', Fuse, Strip 1 leading space),"
                        + " which the streaming decoder reimplements");
        JsonNode preTokenizer = root.path("pre_tokenizer");
        require((preTokenizer.isNull() || preTokenizer.isMissingNode()) && endsBySpellingSpacesAsMarks(root.path("normalizer")),
                "the normalizer does not end by replacing ' ' with '\u2581', or there is a pre_tokenizer;"
                        + " plain-text encoding relies on no space reaching the model");
    }

    private static boolean endsBySpellingSpacesAsMarks(JsonNode normalizer) {
        if ("Sequence".equals(normalizer.path("type").asString(""))) {
            JsonNode steps = normalizer.path("normalizers");
            return !steps.isEmpty() && endsBySpellingSpacesAsMarks(steps.path(steps.size() - 1));
        }
        return SPACES_TO_MARKS.equals(normalizer);
    }

    private static String oneLine(JacksonException ex) {
        String message = String.valueOf(ex.getOriginalMessage()).lines().findFirst().orElse("no reason given");
        return ex.getLocation() == null ? message
                : message + " (line " + ex.getLocation().getLineNr() + ", column " + ex.getLocation().getColumnNr() + ")";
    }

    private void require(boolean condition, String problem) {
        if (!condition) {
            throw problem(problem);
        }
    }

    private TokenizerLoadException problem(String problem) {
        return new TokenizerLoadException(file + ": " + problem);
    }

    private JsonNode model() {
        return root.path("model");
    }

    private JsonNode vocab() {
        return model().path("vocab");
    }

    private static ObjectNode shallowCopy(JsonNode object) {
        ObjectNode copy = MAPPER.createObjectNode();
        for (Map.Entry<String, JsonNode> property : object.properties()) {
            copy.set(property.getKey(), property.getValue());
        }
        return copy;
    }
}
