package dev.kotodama.harmony;

import dev.kotodama.TestModels;
import dev.kotodama.harmony.GoldenFixtures.Golden;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reply parsed from the model's ids, stored in the history and rendered again, gives exactly what the
 * template renders for that history: analysis kept in an unfinished tool call, dropped after an answer,
 * arguments re-spelled by {@code tojson}.
 */
class HarmonyRoundTripIT {

    private static LlmJpTokenizer tokenizer;

    private static HarmonyRenderer renderer;

    @BeforeAll
    static void load() {
        tokenizer = TestModels.tokenizer();
        renderer = GoldenFixtures.renderer();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.kotodama.harmony.GoldenFixtures#withReplies")
    void aParsedReplyInTheHistoryRendersAsTheTemplateRendersIt(Golden golden) {
        HarmonyParser parser = new HarmonyParser(tokenizer);
        AssistantTurn turn = new AssistantTurn();
        for (int id : golden.reply().generatedIds()) {
            turn.acceptAll(parser.push(id));
        }

        RenderedPrompt again = renderer.render(golden.conversation().with(turn.toMessage()));

        assertThat(again.text()).isEqualTo(golden.reply().renderedAfter());
        assertThat(again.ids()).containsExactly(golden.reply().idsAfter());
    }
}
