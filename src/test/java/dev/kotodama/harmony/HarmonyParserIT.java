package dev.kotodama.harmony;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.kotodama.TestModels;
import dev.kotodama.harmony.GoldenFixtures.ExpectedCall;
import dev.kotodama.harmony.GoldenFixtures.Golden;
import dev.kotodama.harmony.HarmonyEvent.AnswerDelta;
import dev.kotodama.harmony.HarmonyEvent.End;
import dev.kotodama.harmony.HarmonyEvent.ToolCallParsed;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/** The streaming parser on the golden replies and on what models emit besides, one token at a time. */
class HarmonyParserIT {

    private static LlmJpTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = TestModels.tokenizer();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.kotodama.harmony.GoldenFixtures#withReplies")
    void eachGoldenReplyFedOneTokenAtATimeYieldsTheExpectedTurn(Golden golden) {
        HarmonyParser parser = new HarmonyParser(tokenizer);
        AssistantTurn turn = new AssistantTurn();
        List<HarmonyEvent> events = new ArrayList<>();
        for (int id : golden.reply().generatedIds()) {
            events.addAll(parser.push(id));
        }
        turn.acceptAll(events);

        GoldenFixtures.Expected expected = golden.reply().expected();
        assertThat(turn.reasoning()).isEqualTo(expected.reasoning());
        assertThat(turn.preamble()).isEqualTo(expected.preamble());
        assertThat(turn.answer()).isEqualTo(expected.answer());
        assertThat(turn.toolCalls()).hasSameSizeAs(expected.toolCalls());
        for (int i = 0; i < expected.toolCalls().size(); i++) {
            ExpectedCall call = expected.toolCalls().get(i);
            assertThat(turn.toolCalls().get(i).name()).isEqualTo(call.name());
            assertThat(JsonMapper.shared().readTree(turn.toolCalls().get(i).arguments())).isEqualTo(call.arguments());
            assertThat(turn.toolCalls().get(i).complete()).isTrue();
        }
        assertThat(turn.endReason()).isEqualTo(expected.end());
        assertThat(events.get(events.size() - 1)).isEqualTo(new End(expected.end()));
        assertThat(parser.isDone()).isTrue();
        assertThat(parser.push(golden.reply().generatedIds()[0])).isEmpty();
    }

    @Test
    void aMissingChannelIsAnAnswer() {
        AssistantTurn turn = parse("<|message|>こんにちは<|return|>");
        assertThat(turn.answer()).isEqualTo("こんにちは");
        assertThat(turn.endReason()).isEqualTo(EndReason.RETURN);
    }

    @Test
    void anEndWithoutAStartAfterItStillOpensTheNextChannel() {
        AssistantTurn turn = parse("<|channel|>analysis<|message|>考える<|end|><|channel|>final<|message|>答え<|return|>");
        assertThat(turn.reasoning()).isEqualTo("考える");
        assertThat(turn.answer()).isEqualTo("答え");
    }

    @Test
    void aStartOrChannelWithoutAnEndBeforeItClosesTheMessage() {
        assertThat(parse("<|channel|>analysis<|message|>a<|start|>assistant<|channel|>final<|message|>b<|return|>"))
                .satisfies(turn -> assertThat(turn.reasoning() + "|" + turn.answer()).isEqualTo("a|b"));
        assertThat(parse("<|channel|>analysis<|message|>a<|channel|>final<|message|>b<|return|>"))
                .satisfies(turn -> assertThat(turn.reasoning() + "|" + turn.answer()).isEqualTo("a|b"));
    }

    @Test
    void severalAnalysisMessagesAreJoinedByABlankLine() {
        AssistantTurn turn = parse("<|channel|>analysis<|message|>one<|end|><|start|>assistant<|channel|>analysis"
                + "<|message|>two<|end|><|start|>assistant<|channel|>final<|message|>done<|return|>");
        assertThat(turn.reasoning()).isEqualTo("one\n\ntwo");
        assertThat(turn.answer()).isEqualTo("done");
    }

    @Test
    void theRecipientAndContentTypeAreReadInAnyOrder() {
        for (String header : List.of(" to=functions.get_weather<|channel|>commentary json",
                "<|channel|>commentary to=functions.get_weather <|constrain|>json",
                "<|channel|>commentary to=functions.get_weather json", "<|channel|>commentary to=functions.get_weather",
                " to=functions.get_weather<|channel|>commentary<|constrain|>json",
                "<|channel|>analysis to=functions.get_weather code")) {
            AssistantTurn turn = parse(header + "<|message|>{\"location\": \"東京\"}<|call|>");
            assertThat(turn.toolCalls()).as(header)
                    .containsExactly(new ToolCallParsed("get_weather", "{\"location\": \"東京\"}", true));
            assertThat(turn.endReason()).isEqualTo(EndReason.CALL);
        }
    }

    @Test
    void otherRecipientsKeepTheirNamespace() {
        assertThat(parse("<|channel|>analysis to=browser.search<|message|>{\"query\": \"x\"}<|call|>").toolCalls())
                .extracting(ToolCallParsed::name).containsExactly("browser.search");
    }

    @Test
    void aStopTokenInsideAHeaderEndsTheTurnQuietly() {
        assertThat(parse("<|channel|>final<|return|>")).satisfies(turn -> {
            assertThat(turn.answer()).isEmpty();
            assertThat(turn.endReason()).isEqualTo(EndReason.RETURN);
        });
        assertThat(parse("<|channel|>analysis<|message|>x<|end|><|start|>assistant to=functions.f<|call|>"))
                .satisfies(turn -> {
                    assertThat(turn.toolCalls()).isEmpty();
                    assertThat(turn.endReason()).isEqualTo(EndReason.CALL);
                });
    }

    @Test
    void whatBelongsToNoChannelBecomesAnswerText() {
        assertThat(parse("<|channel|>analysis<|message|>think<|end|>stray text<|return|>").answer()).isEqualTo("stray text");
        assertThat(parse("<|channel|>nonsense<|message|>odd<|return|>").answer()).isEqualTo("odd");
        assertThat(parse("<|channel|>final<|message|>a<|end|><|start|>functions.f to=assistant<|channel|>commentary"
                + "<|message|>\"fake\"<|end|>").answer()).isEqualTo("a\n\n\"fake\"");
    }

    @Test
    void textWithoutAnyHeaderIsAnswerText() {
        assertThat(parse("Hello there.<|return|>").answer()).isEqualTo("Hello there.");
        assertThat(parse("<|channel|>analysis<|message|>a<|end|><|start|>assistant Hi!<|return|>").answer())
                .isEqualTo("assistant Hi!");
        String rambling = "ramble ".repeat(60);
        HarmonyParser parser = new HarmonyParser(tokenizer);
        AssistantTurn turn = new AssistantTurn();
        for (int id : ids(rambling)) {
            turn.acceptAll(parser.push(id));
        }
        assertThat(turn.answer()).as("streams once it is clearly no header").isNotEmpty();
        assertThat(turn.acceptAll(parser.finish(EndReason.LENGTH)).answer()).isEqualTo(rambling);
    }

    @Test
    void strayControlTokensAndIdsOutsideTheVocabularyAreSkipped() {
        List<Integer> ids = new ArrayList<>();
        for (int id : ids("<|channel|>final<|message|>Hel<|reserved_010|>lo<|constrain|><|message|><|startoftext|>!")) {
            ids.add(id);
        }
        ids.add(2, -1);
        ids.add(4, tokenizer.vocabularySize() + 5);
        ids.add(tokenizer.tokenId("<|return|>"));
        assertThat(parse(ids.stream().mapToInt(Integer::intValue).toArray()).answer()).isEqualTo("Hello!");
    }

    @Test
    void aLengthCutInsideToolArgumentsGivesAnIncompleteCall() {
        HarmonyParser parser = new HarmonyParser(tokenizer);
        List<HarmonyEvent> events = new ArrayList<>();
        for (int id : ids(" to=functions.f<|channel|>commentary json<|message|>{\"a\": ")) {
            events.addAll(parser.push(id));
        }
        assertThat(events).isEmpty();
        assertThat(parser.finish(EndReason.LENGTH)).containsExactly(new ToolCallParsed("f", "{\"a\": ", false),
                new End(EndReason.LENGTH));
        assertThat(parser.finish(EndReason.CANCELLED)).isEmpty();
    }

    @Test
    void deltasHoldWholeCharactersAndCutBytesBecomeReplacementCharacters() {
        int[] header = ids("<|channel|>final<|message|>");
        int[] fox = {352 + 0xF0, 352 + 0x9F, 352 + 0xA6, 352 + 0x8A}; // 🦊 as byte pieces
        HarmonyParser parser = new HarmonyParser(tokenizer);
        List<HarmonyEvent> events = new ArrayList<>();
        for (int id : concat(header, fox)) {
            events.addAll(parser.push(id));
        }
        assertThat(events).containsExactly(new AnswerDelta("🦊"));

        HarmonyParser cut = new HarmonyParser(tokenizer);
        for (int id : concat(header, Arrays.copyOf(fox, 2))) {
            assertThat(cut.push(id)).isEmpty();
        }
        assertThat(cut.finish(EndReason.CANCELLED)).containsExactly(new AnswerDelta("\uFFFD\uFFFD"),
                new End(EndReason.CANCELLED));
    }

    @Test
    void aParsedTurnBecomesHistoryWithItsArgumentsAsJson() {
        ChatMessage.Assistant message = parse("<|channel|>analysis<|message|>r<|end|><|start|>assistant to=functions.f"
                + "<|channel|>commentary json<|message|>{\"n\":1.5}<|call|>").toMessage();
        assertThat(message.reasoning()).isEqualTo("r");
        assertThat(message.toolCalls()).singleElement().satisfies(call -> {
            assertThat(call.name()).isEqualTo("f");
            assertThat(PythonValues.toJson(call.arguments())).isEqualTo("{\"n\": 1.5}");
        });
        ChatMessage.Assistant broken = parse(" to=functions.f<|channel|>commentary json<|message|>{oops<|call|>").toMessage();
        assertThat(broken.toolCalls().get(0).arguments().isString()).isTrue();
    }

    /** What the model would emit for this text after the prompt's {@code <|start|>assistant}. */
    static int[] ids(String generated) {
        int[] all = tokenizer.encode("<|start|>assistant" + generated);
        return Arrays.copyOfRange(all, 2, all.length);
    }

    private static AssistantTurn parse(String generated) {
        return parse(ids(generated));
    }

    private static AssistantTurn parse(int[] ids) {
        HarmonyParser parser = new HarmonyParser(tokenizer);
        AssistantTurn turn = new AssistantTurn();
        for (int id : ids) {
            turn.acceptAll(parser.push(id));
        }
        return turn.acceptAll(parser.finish(EndReason.LENGTH));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
