package dev.kotodama.harmony;

import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * The text of one message header as it streams in: before {@code <|channel|>} (role, perhaps the
 * recipient), after it (channel, perhaps the recipient and a bare content type), and after
 * {@code <|constrain|>} (the content type). Read by words, so spacing does not matter.
 */
final class HeaderText {

    /** Longer than any header: text that runs on this long without {@code <|message|>} is no header. */
    static final int MAX_LENGTH = 256;

    private final StringBuilder raw = new StringBuilder(); // all its text, as it came

    private final StringBuilder beforeChannel = new StringBuilder();

    private final StringBuilder afterChannel = new StringBuilder();

    private final StringBuilder constraint = new StringBuilder();

    private StringBuilder current = beforeChannel;

    private final boolean roleGiven;

    private HeaderText(boolean roleGiven) {
        this.roleGiven = roleGiven;
    }

    /** The prompt's {@code <|start|>assistant} header, which the model goes on writing. */
    static HeaderText continuingAssistant() {
        return new HeaderText(true);
    }

    /** A header after a generated {@code <|start|>}: the role comes first. */
    static HeaderText afterStart() {
        return new HeaderText(false);
    }

    void append(String text) {
        current.append(text);
        raw.append(text);
    }

    /** Whether the text has run on too long to be a header. */
    boolean overflows() {
        return raw.length() > MAX_LENGTH;
    }

    /** All the text so far, without the control tokens between it. */
    String rawText() {
        return raw.toString();
    }

    /**
     * Whether the text can be no header when the turn stops inside it: no channel, no recipient, and
     * more than the role.
     */
    boolean isStrayText() {
        if (!afterChannel.isEmpty() || !constraint.isEmpty() || raw.toString().isBlank()) {
            return false;
        }
        String[] words = words(beforeChannel);
        boolean recipient = java.util.Arrays.stream(words).anyMatch(word -> word.startsWith("to="));
        return !recipient && words.length > (roleGiven ? 0 : 1);
    }

    void channel() {
        current = afterChannel;
        current.append(' ');
    }

    void constraint() {
        current = constraint;
        current.append(' ');
    }

    boolean isEmpty() {
        return beforeChannel.toString().isBlank() && afterChannel.toString().isBlank() && constraint.toString().isBlank();
    }

    /** What the header says: {@code assistant to=functions.x} / {@code commentary json}, in any order. */
    Header parse() {
        String role = roleGiven ? "assistant" : null;
        String recipient = null;
        String channel = null;
        String contentType = null;
        for (String word : words(beforeChannel)) {
            if (word.startsWith("to=")) {
                recipient = recipient != null || word.length() == 3 ? recipient : word.substring(3);
            }
            else if (role == null) {
                role = word;
            }
        }
        for (String word : words(afterChannel)) {
            if (word.startsWith("to=")) {
                recipient = recipient != null || word.length() == 3 ? recipient : word.substring(3);
            }
            else if (channel == null) {
                channel = word;
            }
            else if (contentType == null) {
                contentType = word;
            }
        }
        for (String word : words(constraint)) {
            contentType = contentType == null ? word : contentType;
        }
        return new Header(role == null ? "assistant" : role, channel, recipient, contentType);
    }

    private static String[] words(CharSequence text) {
        String trimmed = text.toString().strip();
        return trimmed.isEmpty() ? new String[0] : trimmed.split("\\s+");
    }

    /** A parsed header; null where the header did not say. */
    record Header(String role, @Nullable String channel, @Nullable String recipient, @Nullable String contentType) {

        boolean isAssistant() {
            return role.toLowerCase(Locale.ROOT).equals("assistant");
        }
    }
}
