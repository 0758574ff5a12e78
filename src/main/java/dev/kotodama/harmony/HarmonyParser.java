package dev.kotodama.harmony;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import dev.kotodama.harmony.HarmonyEvent.AnswerDelta;
import dev.kotodama.harmony.HarmonyEvent.End;
import dev.kotodama.harmony.HarmonyEvent.PreambleDelta;
import dev.kotodama.harmony.HarmonyEvent.ReasoningDelta;
import dev.kotodama.harmony.HarmonyEvent.ToolCallParsed;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import dev.kotodama.tokenizer.StreamingDecoder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses one assistant turn while it streams: fed the generated ids one at a time, starting right
 * after the prompt's {@code <|start|>assistant}, it emits reasoning, preamble and answer deltas, tool
 * calls, and the end. Works on ids, never on decoded text, so text that spells a special token stays
 * text. Not thread-safe: one parser per generation.
 *
 * <pre>
 *  text, channel, constrain               text
 *         ┌────┐                        ┌────┐
 *         ▼    │        message         ▼    │
 *  ──► HEADER ─┴──────────────────────► CONTENT ─┘
 *       ▲  ▲        start, channel      │   │ end
 *       │  └────────────────────────────┘   ▼
 *       └───────── start, channel ───── BETWEEN ── text, message ──► CONTENT (an answer)
 *  return, call, or finish(), in any state ──► DONE
 * </pre>
 *
 * <p>Tolerated, as models emit them: the recipient ({@code to=functions.x}) before or after the channel;
 * the content type as {@code <|constrain|>json} or a bare {@code json}; a missing channel (an answer);
 * several analysis messages (their reasoning is joined by a blank line); {@code <|end|>} without
 * {@code <|start|>} after it, or {@code <|start|>}/{@code <|channel|>} without {@code <|end|>} before it;
 * a stop token inside a header; ids outside the vocabulary and stray special tokens (skipped). Text
 * that belongs to no assistant channel (outside any message, in a message from another role, under an
 * unknown channel, or where a header belongs: past {@value HeaderText#MAX_LENGTH} characters or up to
 * the end) becomes answer text, logged once per turn. Nothing is ever thrown.
 */
public final class HarmonyParser {

    private static final Logger logger = LoggerFactory.getLogger(HarmonyParser.class);

    static final String MESSAGE_SEPARATOR = "\n\n";

    private enum State { HEADER, CONTENT, BETWEEN, DONE }

    private enum Kind { REASONING, PREAMBLE, ANSWER, TOOL_CALL }

    private final Tokens tokens;

    private final LlmJpTokenizer tokenizer;

    private final StreamingDecoder decoder;

    private State state = State.HEADER;

    private HeaderText header = HeaderText.continuingAssistant();

    private Kind kind = Kind.ANSWER;

    private String toolName = "";

    private final StringBuilder arguments = new StringBuilder();

    private boolean messageHasText;

    private final Set<Kind> kindsWithText = EnumSet.noneOf(Kind.class);

    private boolean lastWasAnswer;

    private boolean unplaceableLogged;

    private boolean oddityLogged;

    private int internalErrors; // exceptions caught at the stream's edge: a bug, for the tests to see

    /** The ids of the Harmony control tokens in one tokenizer. */
    private record Tokens(int start, int end, int message, int channel, int constrain, int returnToken, int call) {

        static Tokens of(LlmJpTokenizer tokenizer) {
            return new Tokens(tokenizer.tokenId("<|start|>"), tokenizer.tokenId("<|end|>"),
                    tokenizer.tokenId("<|message|>"), tokenizer.tokenId("<|channel|>"),
                    tokenizer.tokenId("<|constrain|>"), tokenizer.tokenId("<|return|>"), tokenizer.tokenId("<|call|>"));
        }
    }

    /**
     * @throws IllegalArgumentException if the tokenizer lacks a Harmony control token
     */
    public HarmonyParser(LlmJpTokenizer tokenizer) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer must not be null");
        this.tokens = Tokens.of(tokenizer);
        this.decoder = tokenizer.newStreamingDecoder();
    }

    /** The events this generated id completes (often none); none after the end. Never throws. */
    public List<HarmonyEvent> push(int id) {
        if (state == State.DONE) {
            oddity("tokens after the end of the turn");
            return List.of();
        }
        List<HarmonyEvent> events = new ArrayList<>(2);
        lastWasAnswer = false;
        try {
            step(id, events);
        }
        catch (RuntimeException ex) {
            internalErrors++;
            logger.warn("Harmony parser skipped id {} after an internal error", id, ex);
        }
        return events;
    }

    /**
     * Ends the turn from outside (token limit, cancellation): what is held back comes out, a tool call
     * in progress is emitted as incomplete, then {@link End}. Nothing if the turn has ended already.
     */
    public List<HarmonyEvent> finish(EndReason reason) {
        Objects.requireNonNull(reason, "reason must not be null");
        if (state == State.DONE) {
            return List.of();
        }
        List<HarmonyEvent> events = new ArrayList<>(3);
        try {
            onText(decoder.flush(), events);
            if (state == State.HEADER) {
                strayHeader(events);
            }
            else if (state == State.CONTENT && kind == Kind.TOOL_CALL) {
                events.add(new ToolCallParsed(toolName, arguments.toString(), false));
            }
        }
        catch (RuntimeException ex) {
            internalErrors++;
            logger.warn("Harmony parser could not flush the turn's last text", ex);
        }
        events.add(new End(reason));
        state = State.DONE;
        return events;
    }

    /**
     * Whether the id last pushed was text of the answer (the final channel, or text that belongs to no
     * channel): the tokens whose log probabilities an API reports with the answer.
     */
    public boolean lastWasAnswer() {
        return lastWasAnswer;
    }

    /** Whether the turn has ended (a stop token, or {@link #finish}). */
    public boolean isDone() {
        return state == State.DONE;
    }

    /** How many exceptions {@link #push} and {@link #finish} caught instead of throwing; 0 unless there is a bug. */
    int internalErrors() {
        return internalErrors;
    }

    private void step(int id, List<HarmonyEvent> events) {
        String text;
        boolean special;
        try {
            text = decoder.push(id);
            special = tokenizer.isSpecial(id);
        }
        catch (IllegalArgumentException ex) {
            oddity("id " + id + " is outside the vocabulary");
            return;
        }
        onText(text, events); // for a special token: what its segment still held back
        if (!special) {
            lastWasAnswer = state == State.CONTENT && kind == Kind.ANSWER;
            return;
        }
        if (id == tokens.start()) {
            onStart(events);
        }
        else if (id == tokens.channel()) {
            onChannel(events);
        }
        else if (id == tokens.constrain() && state == State.HEADER) {
            header.constraint();
        }
        else if (id == tokens.message()) {
            onMessage();
        }
        else if (id == tokens.end()) {
            onEnd(events);
        }
        else if (id == tokens.returnToken()) {
            onStop(EndReason.RETURN, events);
        }
        else if (id == tokens.call()) {
            onStop(EndReason.CALL, events);
        }
        else {
            oddity("special token " + id + " skipped");
        }
    }

    private void onText(String text, List<HarmonyEvent> events) {
        if (text.isEmpty()) {
            return;
        }
        switch (state) {
            case HEADER -> {
                header.append(text);
                if (header.overflows()) {
                    unplaceable("text where a header belongs");
                    open(Kind.ANSWER, "");
                    deliver(header.rawText(), events);
                }
            }
            case CONTENT -> deliver(text, events);
            case BETWEEN -> {
                unplaceable("text outside any message");
                open(Kind.ANSWER, "");
                deliver(text, events);
            }
            case DONE -> oddity("text after the end of the turn");
        }
    }

    private void onStart(List<HarmonyEvent> events) {
        if (state == State.CONTENT) {
            close(events); // <|start|> without <|end|> before it
        }
        else if (state == State.HEADER) {
            oddity("a header restarted");
        }
        header = HeaderText.afterStart();
        state = State.HEADER;
    }

    private void onChannel(List<HarmonyEvent> events) {
        if (state == State.HEADER) {
            header.channel();
            return;
        }
        if (state == State.CONTENT) {
            close(events); // <|channel|> without <|end|><|start|>assistant before it
        }
        header = HeaderText.continuingAssistant();
        header.channel();
        state = State.HEADER;
    }

    private void onMessage() {
        if (state == State.HEADER) {
            HeaderText.Header parsed = header.parse();
            if (!parsed.isAssistant()) {
                unplaceable("a message from '" + parsed.role() + "'");
                open(Kind.ANSWER, "");
            }
            else if (parsed.recipient() != null) {
                open(Kind.TOOL_CALL, toolName(parsed.recipient()));
            }
            else {
                open(kindOf(parsed.channel()), "");
            }
        }
        else if (state == State.BETWEEN) {
            unplaceable("a message without a header");
            open(Kind.ANSWER, "");
        }
        else {
            oddity("<|message|> inside a message skipped");
        }
    }

    private void onEnd(List<HarmonyEvent> events) {
        if (state == State.CONTENT) {
            close(events);
        }
        else if (state == State.HEADER) {
            oddity("a header ended without a message");
        }
        state = State.BETWEEN;
    }

    private void onStop(EndReason reason, List<HarmonyEvent> events) {
        if (state == State.CONTENT) {
            close(events);
        }
        else if (state == State.HEADER) {
            strayHeader(events);
        }
        events.add(new End(reason));
        state = State.DONE;
    }

    /** The turn stops inside a header: text that cannot be a header is passed on as answer text. */
    private void strayHeader(List<HarmonyEvent> events) {
        if (header.isStrayText()) {
            unplaceable("text where a header belongs");
            open(Kind.ANSWER, "");
            deliver(header.rawText(), events);
        }
        else if (!header.isEmpty()) {
            oddity("the turn stopped inside a header");
        }
    }

    private Kind kindOf(@Nullable String channel) {
        if (channel == null) {
            return Kind.ANSWER; // a missing channel: the answer
        }
        return switch (channel) {
            case "analysis" -> Kind.REASONING;
            case "final" -> Kind.ANSWER;
            case "commentary" -> Kind.PREAMBLE;
            default -> {
                unplaceable("unknown channel '" + channel + "'");
                yield Kind.ANSWER;
            }
        };
    }

    private static String toolName(String recipient) {
        return recipient.startsWith("functions.") ? recipient.substring("functions.".length()) : recipient;
    }

    private void open(Kind newKind, String name) {
        kind = newKind;
        toolName = name;
        arguments.setLength(0);
        messageHasText = false;
        state = State.CONTENT;
    }

    private void close(List<HarmonyEvent> events) {
        if (kind == Kind.TOOL_CALL) {
            events.add(new ToolCallParsed(toolName, arguments.toString(), true));
        }
        state = State.BETWEEN;
    }

    private void deliver(String text, List<HarmonyEvent> events) {
        if (kind == Kind.TOOL_CALL) {
            arguments.append(text);
            return;
        }
        if (!messageHasText && !kindsWithText.add(kind)) {
            events.add(delta(MESSAGE_SEPARATOR)); // a second message of the same channel
        }
        messageHasText = true;
        events.add(delta(text));
    }

    private HarmonyEvent delta(String text) {
        return switch (kind) {
            case REASONING -> new ReasoningDelta(text);
            case PREAMBLE -> new PreambleDelta(text);
            default -> new AnswerDelta(text);
        };
    }

    private void unplaceable(String what) {
        if (!unplaceableLogged) {
            unplaceableLogged = true;
            logger.warn("Harmony output that belongs to no assistant channel ({}) is passed on as answer text; "
                    + "further cases in this turn are not logged", what);
        }
    }

    private void oddity(String what) {
        if (!oddityLogged) {
            oddityLogged = true;
            logger.debug("Harmony output tolerated ({}); further cases in this turn are not logged", what);
        }
    }
}
