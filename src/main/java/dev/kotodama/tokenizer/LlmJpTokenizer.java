package dev.kotodama.tokenizer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.kotodama.tokenizer.Vocabulary.AddedToken;

/**
 * The tokenizer of one model directory (LLM-jp-4's SentencePiece tokenizer.json with the Harmony
 * tokens as added tokens), one instance per directory. Thread-safe. Encoding runs in the Rust
 * {@code tokenizers} library through DJL and holds native memory until {@link #close()}; decoding is
 * plain Java.
 *
 * <p>Two encoders: {@link #encodeText} for user text, which never yields a special token whatever the
 * text spells ({@code <|start|>} typed by a user stays text), and {@link #encode} for a rendered
 * prompt, where the special tokens are split out first. Each text segment gets its own leading
 * {@code ▁}, so {@code tokenId("<|channel|>")} followed by {@code encodeText("final")} equals
 * {@code encode("<|channel|>final")}.
 */
public final class LlmJpTokenizer implements AutoCloseable {

    /**
     * DJL's defaults would add the tokenizer's special tokens and truncate every encoding to 512 tokens
     * (its default {@code modelMaxLength}), silently.
     */
    private static final Map<String, String> DJL_OPTIONS =
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    static {
        // DJL reports each tokenizer it creates to AWS (instance id and region) when it runs on EC2,
        // probing the instance metadata address first; a local inference server makes no such calls.
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private final Path file;

    private final Vocabulary vocabulary;

    private final int longestPiece;

    private final HuggingFaceTokenizer withSpecialTokens; // tokenizer.json as it is

    private final HuggingFaceTokenizer plainText; // TokenizerJson#plainTextVariant

    private final ReadWriteLock closing = new ReentrantReadWriteLock(); // encoding reads, close writes

    private boolean closed; // guarded by closing

    private LlmJpTokenizer(Path file, Vocabulary vocabulary, HuggingFaceTokenizer withSpecialTokens,
            HuggingFaceTokenizer plainText) {
        this.file = file;
        this.vocabulary = vocabulary;
        this.longestPiece = vocabulary.longestPiece();
        this.withSpecialTokens = withSpecialTokens;
        this.plainText = plainText;
    }

    /**
     * Loads {@code directory/tokenizer.json}.
     *
     * @throws TokenizerLoadException with a one-line message when the directory or file is missing, the
     *     file is not valid JSON or not a SentencePiece tokenizer with byte fallback, or the native
     *     tokenizers library does not load it
     */
    public static LlmJpTokenizer load(Path directory) {
        Objects.requireNonNull(directory, "directory must not be null");
        TokenizerJson json = TokenizerJson.read(directory);
        Vocabulary vocabulary = json.vocabulary();
        HuggingFaceTokenizer withSpecialTokens = nativeTokenizer(json.content(), json.file().toString());
        try {
            byte[] plainText = json.plainTextVariant().getBytes(StandardCharsets.UTF_8);
            return new LlmJpTokenizer(json.file(), vocabulary, withSpecialTokens,
                    nativeTokenizer(plainText, "the plain-text variant of " + json.file()));
        }
        catch (RuntimeException ex) {
            withSpecialTokens.close();
            throw ex;
        }
    }

    /**
     * Ids for user text: never a special token, whatever the text spells; the same ids as the
     * {@code sentencepiece} library gives, except that the names of the original model's user-defined
     * symbols ({@code <mask>}) stay ordinary text too. No BOS is added; "" gives no ids.
     */
    public int[] encodeText(String userText) {
        Objects.requireNonNull(userText, "userText must not be null");
        return idsOf(plainText, userText);
    }

    /**
     * Ids for a rendered prompt, as the {@code tokenizers} library gives them: every added token's text
     * ({@code <|start|>}, {@code <|message|>}, ...) becomes its id, and the text between them is encoded
     * as by {@link #encodeText}, except that a byte piece's name ({@code <0x41>}) becomes that byte.
     * Never give it text from a user: build prompt ids from {@link #tokenId} and {@link #encodeText}.
     */
    public int[] encode(String textWithSpecialTokens) {
        Objects.requireNonNull(textWithSpecialTokens, "textWithSpecialTokens must not be null");
        return idsOf(withSpecialTokens, textWithSpecialTokens);
    }

    /**
     * The id of an added token, such as {@code <|start|>}.
     *
     * @throws IllegalArgumentException if tokenizer.json has no added token with this content
     */
    public int tokenId(String specialToken) {
        Objects.requireNonNull(specialToken, "specialToken must not be null");
        Integer id = vocabulary.addedId(specialToken);
        if (id == null) {
            throw new IllegalArgumentException("unknown special token '" + specialToken + "': " + file
                    + " has no added token with that content");
        }
        return id;
    }

    /**
     * Whether the id is a special token (a control token such as {@code <|return|>}); byte pieces and
     * ordinary pieces are not.
     *
     * @throws IllegalArgumentException if the id is outside the vocabulary
     */
    public boolean isSpecial(int id) {
        return vocabulary.piece(id) instanceof AddedToken token && token.special();
    }

    /**
     * The text of the ids, special tokens written out, with each segment between special tokens decoded
     * on its own (so without the leading space the encoder gave it): {@code decode(encode(text))}
     * gives {@code text} back for any text without {@code ▁}, which SentencePiece reads as a space.
     *
     * @throws IllegalArgumentException if an id is outside the vocabulary
     */
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids must not be null");
        StreamingDecoder decoder = newStreamingDecoder();
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            text.append(decoder.push(id));
            if (vocabulary.piece(id) instanceof AddedToken token && token.special()) {
                text.append(token.content());
            }
        }
        return text.append(decoder.flush()).toString();
    }

    /** The ids of the special (control) tokens, as {@link #isSpecial} tells them; a new set each call. */
    public BitSet specialIds() {
        BitSet special = new BitSet();
        for (int id = 0; id < vocabulary.size(); id++) {
            if (vocabulary.piece(id) instanceof AddedToken token && token.special()) {
                special.set(id);
            }
        }
        return special;
    }

    /**
     * The bytes one token stands for on its own: a piece's UTF-8 text ({@code ▁} read as a space), a byte
     * piece's one byte (part of a character), an added token's content.
     *
     * @throws IllegalArgumentException if the id is outside the vocabulary
     */
    public byte[] tokenBytes(int id) {
        Vocabulary.Piece piece = vocabulary.piece(id);
        if (piece instanceof Vocabulary.TextPiece text) {
            return text.text().getBytes(StandardCharsets.UTF_8);
        }
        if (piece instanceof Vocabulary.BytePiece bytePiece) {
            return new byte[] { (byte) bytePiece.value() };
        }
        return ((AddedToken) piece).content().getBytes(StandardCharsets.UTF_8);
    }

    /** A decoder for one generation's ids; see {@link StreamingDecoder}. */
    public StreamingDecoder newStreamingDecoder() {
        return new StreamingDecoder(vocabulary);
    }

    /** The most characters one token stands for: a text of n characters is at least n / this many tokens. */
    public int longestPiece() {
        return longestPiece;
    }

    /** Ids run from 0 to {@code vocabularySize() - 1} (model pieces and added tokens). */
    public int vocabularySize() {
        return vocabulary.size();
    }

    /**
     * Frees the native tokenizers; waits for encodings in flight. Afterwards encoding throws
     * {@link IllegalStateException}, while decoding, which is plain Java, keeps working.
     */
    @Override
    public void close() {
        Lock lock = closing.writeLock();
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                withSpecialTokens.close();
                plainText.close();
            }
        }
        finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "LlmJpTokenizer[" + file + ", " + vocabulary.size() + " ids]";
    }

    private int[] idsOf(HuggingFaceTokenizer tokenizer, String text) {
        Lock lock = closing.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("tokenizer of " + file + " is closed");
            }
            long[] ids = tokenizer.encode(text, false, false).getIds();
            int[] result = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                result[i] = Math.toIntExact(ids[i]);
            }
            return result;
        }
        finally {
            lock.unlock();
        }
    }

    private static HuggingFaceTokenizer nativeTokenizer(byte[] json, String source) {
        try (InputStream in = new ByteArrayInputStream(json)) {
            return HuggingFaceTokenizer.newInstance(in, DJL_OPTIONS);
        }
        catch (IOException | RuntimeException ex) {
            throw new TokenizerLoadException("the tokenizers library could not load " + source + ": " + reason(ex), ex);
        }
        catch (LinkageError ex) {
            throw new TokenizerLoadException("DJL's native tokenizers library did not load: " + reason(ex), ex);
        }
    }

    private static String reason(Throwable ex) {
        StringBuilder reason = new StringBuilder(String.valueOf(ex.getMessage()));
        for (Throwable cause = ex.getCause(); cause != null; cause = cause.getCause()) {
            reason.append("; ").append(cause.getMessage());
        }
        return reason.toString().lines().findFirst().orElse("no reason given");
    }
}
