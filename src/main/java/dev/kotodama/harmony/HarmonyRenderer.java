package dev.kotodama.harmony;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

import dev.kotodama.io.Sha256;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.jspecify.annotations.Nullable;

/**
 * Renders a conversation into the prompt LLM-jp-4 expects: byte for byte what transformers'
 * {@code apply_chat_template(..., add_generation_prompt=True)} makes of it with the model's
 * chat_template.jinja, and the token ids the runtime feeds the model. Every special token comes from
 * the template itself; everything from the conversation (messages, tool names and schemas) is encoded
 * with {@link LlmJpTokenizer#encodeText}, so no text can become a special token. Thread-safe.
 *
 * <p>The template is written out in Java rather than run by a Jinja engine for the JVM: see
 * {@link HarmonyTemplate}. {@link #isVerifiedTemplate} tells whether a model directory's template is the
 * one this renderer reproduces.
 */
public final class HarmonyRenderer {

    private final LlmJpTokenizer tokenizer;

    private final Clock clock;

    private final Map<String, Integer> specialIds = new ConcurrentHashMap<>();

    public HarmonyRenderer(LlmJpTokenizer tokenizer) {
        this(tokenizer, Clock.systemDefaultZone());
    }

    /** @param clock gives the current date when the options name none (the template's {@code strftime_now}) */
    public HarmonyRenderer(LlmJpTokenizer tokenizer, Clock clock) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer must not be null");
        this.clock = Objects.requireNonNull(clock, "clock must not be null");
    }

    /**
     * The prompt's text and ids, ending in {@code <|start|>assistant}.
     *
     * @throws InvalidConversationException where the template raises an error
     */
    public RenderedPrompt render(Conversation conversation) {
        PromptParts prompt = HarmonyTemplate.render(Objects.requireNonNull(conversation, "conversation must not be null"),
                LocalDate.now(clock));
        StringBuilder text = new StringBuilder();
        IntList ids = new IntList();
        for (PromptParts.Part part : prompt.parts()) {
            text.append(part.content());
            if (part.special()) {
                ids.add(specialIds.computeIfAbsent(part.content(), tokenizer::tokenId));
            }
            else {
                ids.addAll(tokenizer.encodeText(part.content()));
            }
        }
        return new RenderedPrompt(text.toString(), ids.toArray());
    }

    /** Only the prompt's text, as the template renders it. */
    public String renderText(Conversation conversation) {
        Objects.requireNonNull(conversation, "conversation must not be null");
        return HarmonyTemplate.render(conversation, LocalDate.now(clock)).text();
    }

    /**
     * Whether a chat template is the one this renderer reproduces (compared by SHA-256 of its UTF-8 text);
     * a model directory with another template needs its own golden fixtures and renderer changes.
     */
    public static boolean isVerifiedTemplate(@Nullable String chatTemplate) {
        if (chatTemplate == null) {
            return false;
        }
        byte[] digest = Sha256.of(chatTemplate.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(digest).equals(HarmonyTemplate.SHA256);
    }

    private static final class IntList {

        private int[] values = new int[256];

        private int size;

        void add(int value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        void addAll(int[] more) {
            if (size + more.length > values.length) {
                values = Arrays.copyOf(values, Math.max(size * 2, size + more.length));
            }
            System.arraycopy(more, 0, values, size, more.length);
            size += more.length;
        }

        int[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
