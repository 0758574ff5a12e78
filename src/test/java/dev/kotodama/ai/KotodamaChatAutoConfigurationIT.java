package dev.kotodama.ai;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.kotodama.TestModels;
import dev.kotodama.engine.Engine;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.observation.ChatModelObservationContext;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.chat.observation.DefaultChatModelObservationConvention;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;

/** The auto-configuration on the tiny export: its beans, the user's beans winning, observations. */
class KotodamaChatAutoConfigurationIT {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(EngineConfiguration.class, KotodamaChatAutoConfiguration.class))
        .withPropertyValues("kotodama.model-dir=" + TestModels.resolve("tiny-fp32"), "kotodama.execution-provider=cpu",
                "kotodama.threads=2");

    @Test
    void aModelDirectoryGivesTheEngineTheTokenizerAndTheChatModel() {
        runner.withPropertyValues("kotodama.chat.temperature=0.2", "kotodama.chat.reasoning-effort=low").run(context -> {
            assertThat(context).hasSingleBean(Engine.class).hasSingleBean(LlmJpTokenizer.class)
                .hasSingleBean(ChatModel.class).hasSingleBean(KotodamaChatModel.class);
            KotodamaChatModel chatModel = context.getBean(KotodamaChatModel.class);
            assertThat(chatModel.modelId()).isEqualTo("tiny-fp32");
            assertThat(chatModel.getOptions().getTemperature()).isEqualTo(0.2);
            assertThat(chatModel.getOptions().getTopP()).isEqualTo(0.9);
            assertThat(chatModel.getOptions().getReasoningEffort()).hasToString("LOW");
        });
    }

    @Test
    void theUsersChatModelWins() {
        runner.withUserConfiguration(UserChatModel.class).run(context -> {
            assertThat(context).hasSingleBean(KotodamaChatModel.class);
            assertThat(context.getBean(KotodamaChatModel.class).modelId()).isEqualTo("mine");
        });
    }

    @Test
    void anInvalidDefaultOptionStopsStartupWithItsName() {
        runner.withPropertyValues("kotodama.chat.top-p=1.5").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().isInstanceOf(IllegalArgumentException.class)
                .hasMessage("topP must be in (0, 1], got 1.5");
        });
    }

    @Test
    void anUnknownReasoningEffortStopsStartup() {
        runner.withPropertyValues("kotodama.chat.reasoning-effort=extreme").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasStackTraceContaining("kotodama.chat.reasoning-effort");
        });
    }

    @Test
    void callsAreObservedThroughTheApplicationsConvention() {
        runner.withUserConfiguration(Observations.class).run(context -> {
            ChatModel chatModel = context.getBean(ChatModel.class);

            chatModel.call(new Prompt("Hi", org.springframework.ai.chat.prompt.ChatOptions.builder().maxTokens(4).build()));

            Observations observations = context.getBean(Observations.class);
            assertThat(observations.stopped).hasSize(1);
            Observation.Context observed = observations.stopped.get(0);
            assertThat(observed).isInstanceOf(ChatModelObservationContext.class);
            assertThat(observed.getName()).isEqualTo("kotodama.test.chat");
            assertThat(observed.getLowCardinalityKeyValue("gen_ai.system").getValue()).isEqualTo("kotodama");
            assertThat(((ChatModelObservationContext) observed).getResponse().getMetadata().getUsage().getCompletionTokens())
                .isBetween(1, 4);
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class UserChatModel {

        @Bean
        KotodamaChatModel myChatModel(Engine engine, LlmJpTokenizer tokenizer) {
            return KotodamaChatModel.builder().engine(engine).tokenizer(tokenizer)
                .options(KotodamaChatOptions.builder().model("mine").build()).build();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Observations implements ObservationHandler<Observation.Context> {

        final List<Observation.Context> stopped = new CopyOnWriteArrayList<>();

        @Bean
        ObservationRegistry observationRegistry() {
            ObservationRegistry registry = ObservationRegistry.create();
            registry.observationConfig().observationHandler(this);
            return registry;
        }

        @Bean
        ChatModelObservationConvention chatModelObservationConvention() {
            return new DefaultChatModelObservationConvention() {
                @Override
                public String getName() {
                    return "kotodama.test.chat";
                }
            };
        }

        @Override
        public void onStop(Observation.Context context) {
            stopped.add(context);
        }

        @Override
        public boolean supportsContext(Observation.Context context) {
            return true;
        }
    }
}
