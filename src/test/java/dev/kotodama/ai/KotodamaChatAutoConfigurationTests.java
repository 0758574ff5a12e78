package dev.kotodama.ai;

import dev.kotodama.engine.Engine;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Without a model directory the auto-configuration serves nothing, or the demo model when that is on (the
 * Kotodama application turns it on); another provider chosen with {@code spring.ai.model.chat} turns it off.
 */
class KotodamaChatAutoConfigurationTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(EngineConfiguration.class, KotodamaChatAutoConfiguration.class,
                EngineOperationsConfiguration.class));

    @Test
    void withoutAModelDirectoryTheDemoModelIsServedWhenItIsOn() {
        runner.withPropertyValues("kotodama.demo-model=true").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(ServedModel.class).demo()).isTrue();
            assertThat(context).hasSingleBean(Engine.class).hasSingleBean(LlmJpTokenizer.class)
                .hasSingleBean(ChatModel.class);
            assertThat(((KotodamaChatModel) context.getBean(ChatModel.class)).modelId()).isEqualTo("kotodama-demo");
        });
    }

    @Test
    void withoutAModelDirectoryAndWithTheDemoOffThereIsNoEngineTokenizerOrChatModel() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(ServedModel.class);
            assertThat(context).doesNotHaveBean(Engine.class);
            assertThat(context).doesNotHaveBean(LlmJpTokenizer.class);
            assertThat(context).doesNotHaveBean(ChatModel.class);
            assertThat(context).hasSingleBean(KotodamaProperties.class);
        });
    }

    @Test
    void anotherProviderChosenWithSpringAiModelChatTurnsKotodamaOff() {
        runner.withPropertyValues("kotodama.demo-model=true", "spring.ai.model.chat=openai").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(ServedModel.class).doesNotHaveBean(Engine.class)
                .doesNotHaveBean(ChatModel.class).doesNotHaveBean(EngineWarmUp.class);
        });
        runner.withPropertyValues("kotodama.demo-model=true", "spring.ai.model.chat=kotodama").run(context -> {
            assertThat(context).hasSingleBean(ChatModel.class);
        });
    }

    @Test
    void chatDefaultsBindFromProperties() {
        runner.withPropertyValues("kotodama.demo-model=false", "kotodama.chat.temperature=0.2", "kotodama.chat.stop-sequences=END,STOP",
                "kotodama.chat.reasoning-effort=HIGH", "kotodama.chat.max-tokens=128").run(context -> {
                    KotodamaChatOptions options = context.getBean(KotodamaProperties.class).chat().toOptions();
                    assertThat(options.getTemperature()).isEqualTo(0.2);
                    assertThat(options.getStopSequences()).containsExactly("END", "STOP");
                    assertThat(options.getReasoningEffort()).hasToString("HIGH");
                    assertThat(options.getMaxTokens()).isEqualTo(128);
                    assertThat(options.getTopP()).isNull();
                });
    }

    @Test
    void theAutoConfigurationsAreRegisteredForOtherApplications() throws Exception {
        var imports = getClass().getResourceAsStream(
                "/META-INF/spring/org.springframework.boot.autoconfigure.AutoConfiguration.imports");
        assertThat(imports).isNotNull();
        assertThat(new String(imports.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines())
            .contains(EngineConfiguration.class.getName(), KotodamaChatAutoConfiguration.class.getName());
    }
}
