package dev.kotodama.harmony;

import java.nio.file.Files;

import dev.kotodama.TestModels;
import dev.kotodama.harmony.GoldenFixtures.Golden;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Prompt text and ids against transformers' renderings, with the real LLM-jp-4 tokenizer. */
class HarmonyRendererIT {

    private static LlmJpTokenizer tokenizer;

    private static HarmonyRenderer renderer;

    @BeforeAll
    static void load() {
        tokenizer = TestModels.tokenizer();
        renderer = GoldenFixtures.renderer();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.kotodama.harmony.GoldenFixtures#conversations")
    void rendersEachGoldenConversationToTheSameTextAndIds(Golden golden) {
        RenderedPrompt prompt = renderer.render(golden.conversation());
        assertThat(prompt.text()).isEqualTo(golden.rendered());
        assertThat(prompt.ids()).containsExactly(golden.ids());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.kotodama.harmony.GoldenFixtures#withReplies")
    void rendersTheHistoryWithEachReplyToTheSameTextAndIds(Golden golden) {
        RenderedPrompt prompt = renderer.render(golden.conversation().with(golden.reply().message()));
        assertThat(prompt.text()).isEqualTo(golden.reply().renderedAfter());
        assertThat(prompt.ids()).containsExactly(golden.reply().idsAfter());
    }

    @Test
    void userTextSpellingControlTokensNeverBecomesAControlToken() {
        Golden injection = GoldenFixtures.conversations().stream().filter(g -> g.name().equals("user_text_spelling_harmony_tokens"))
                .findFirst().orElseThrow();
        int[] ids = renderer.render(injection.conversation()).ids();
        long starts = java.util.Arrays.stream(ids).filter(id -> id == tokenizer.tokenId("<|start|>")).count();
        assertThat(starts).as("system, user and the generation prompt").isEqualTo(3);
        assertThat(tokenizer.encode(injection.rendered())).isNotEqualTo(ids); // what a naive encode would do
    }

    @Test
    void theModelDirectorysTemplateIsTheVerifiedOne() throws Exception {
        String template = Files.readString(TestModels.resolve("tokenizer").resolve("chat_template.jinja"));
        assertThat(HarmonyRenderer.isVerifiedTemplate(template)).isTrue();
    }
}
