package dev.kotodama.harmony;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import dev.kotodama.TestModels;
import dev.kotodama.harmony.GoldenFixtures.Golden;
import dev.kotodama.harmony.HarmonyEvent.AnswerDelta;
import dev.kotodama.harmony.HarmonyEvent.End;
import dev.kotodama.harmony.HarmonyEvent.PreambleDelta;
import dev.kotodama.harmony.HarmonyEvent.ReasoningDelta;
import dev.kotodama.harmony.HarmonyEvent.ToolCallParsed;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * 10,000 random and mutated id sequences: the parser never throws, every text it emits is valid UTF-16
 * (so valid UTF-8), U+FFFD appears only where the ids held byte pieces that form no character, and each
 * turn ends exactly once.
 */
class HarmonyParserFuzzIT {

    private static final int SEQUENCES = 10_000;

    private static final int FIRST_BYTE_PIECE = 352;

    private static final int LAST_BYTE_PIECE = 607;

    private static LlmJpTokenizer tokenizer;

    private static List<int[]> replies;

    private static ch.qos.logback.classic.Level parserLogLevel;

    @BeforeAll
    static void load() {
        tokenizer = TestModels.tokenizer();
        // each odd sequence logs once; 10,000 of them would bury the test's output
        parserLogLevel = parserLogger().getLevel();
        parserLogger().setLevel(ch.qos.logback.classic.Level.ERROR);
        replies = GoldenFixtures.withReplies().stream().map(Golden::reply).map(GoldenFixtures.Reply::generatedIds).toList();
    }

    @AfterAll
    static void close() {
        parserLogger().setLevel(parserLogLevel);
    }

    @Test
    void randomAndMutatedSequencesNeverBreakTheParserOrItsText() {
        SplittableRandom random = new SplittableRandom(20260115);
        int endsByStopToken = 0;
        for (int n = 0; n < SEQUENCES; n++) {
            int[] ids = n % 2 == 0 ? randomSequence(random) : mutatedReply(random);
            List<HarmonyEvent> events = new ArrayList<>();
            HarmonyParser parser = new HarmonyParser(tokenizer);
            try {
                for (int id : ids) {
                    events.addAll(parser.push(id));
                }
                events.addAll(parser.finish(random.nextBoolean() ? EndReason.LENGTH : EndReason.CANCELLED));
            }
            catch (RuntimeException ex) {
                fail("sequence " + n + " " + Arrays.toString(ids) + " threw", ex);
            }
            assertThat(parser.internalErrors()).as("sequence %d: exceptions caught inside", n).isZero();
            check(n, ids, events);
            endsByStopToken += ((End) events.get(events.size() - 1)).reason().ordinal() <= EndReason.CALL.ordinal() ? 1 : 0;
        }
        assertThat(endsByStopToken).as("sequences that reached a stop token").isBetween(SEQUENCES / 10, SEQUENCES * 9 / 10);
    }

    private static ch.qos.logback.classic.Logger parserLogger() {
        return (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(HarmonyParser.class);
    }

    private static void check(int n, int[] ids, List<HarmonyEvent> events) {
        boolean hasBytePieces = Arrays.stream(ids).anyMatch(id -> id >= FIRST_BYTE_PIECE && id <= LAST_BYTE_PIECE);
        assertThat(events).as("sequence %d ends once, at the end", n).filteredOn(End.class::isInstance).hasSize(1);
        assertThat(events.get(events.size() - 1)).isInstanceOf(End.class);
        for (HarmonyEvent event : events) {
            String text = text(event);
            assertThat(new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8))
                    .as("sequence %d: %s is whole UTF-8", n, event).isEqualTo(text);
            if (!hasBytePieces) {
                assertThat(text).as("sequence %d: %s has no U+FFFD without byte pieces", n, event).doesNotContain("\uFFFD");
            }
        }
    }

    private static String text(HarmonyEvent event) {
        if (event instanceof ReasoningDelta delta) {
            return delta.text();
        }
        if (event instanceof PreambleDelta delta) {
            return delta.text();
        }
        if (event instanceof AnswerDelta delta) {
            return delta.text();
        }
        if (event instanceof ToolCallParsed call) {
            return call.name() + call.arguments();
        }
        return "";
    }

    /** Control tokens, reserved tokens, byte pieces, ordinary pieces and a few ids outside the vocabulary. */
    private static int[] randomSequence(SplittableRandom random) {
        int[] ids = new int[random.nextInt(1, 80)];
        for (int i = 0; i < ids.length; i++) {
            int pick = random.nextInt(100);
            ids[i] = pick < 25 ? random.nextInt(0, 14)
                    : pick < 30 ? random.nextInt(14, FIRST_BYTE_PIECE)
                    : pick < 55 ? random.nextInt(FIRST_BYTE_PIECE, LAST_BYTE_PIECE + 1)
                    : pick < 98 ? random.nextInt(LAST_BYTE_PIECE + 1, tokenizer.vocabularySize())
                    : random.nextBoolean() ? -random.nextInt(1, 1000) : tokenizer.vocabularySize() + random.nextInt(1000);
        }
        return ids;
    }

    /** A golden reply with tokens dropped, repeated, swapped, replaced or cut off. */
    private static int[] mutatedReply(SplittableRandom random) {
        List<Integer> ids = new ArrayList<>();
        for (int id : replies.get(random.nextInt(replies.size()))) {
            ids.add(id);
        }
        int mutations = random.nextInt(1, 6);
        for (int m = 0; m < mutations && !ids.isEmpty(); m++) {
            int at = random.nextInt(ids.size());
            switch (random.nextInt(5)) {
                case 0 -> ids.remove(at);
                case 1 -> ids.add(at, ids.get(at));
                case 2 -> ids.set(at, random.nextInt(0, 14));
                case 3 -> ids.set(at, random.nextInt(FIRST_BYTE_PIECE, LAST_BYTE_PIECE + 1));
                default -> ids.subList(at, ids.size()).clear();
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
