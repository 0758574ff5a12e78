package dev.kotodama.ai;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.kotodama.engine.Engine;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.ModelDirectoryException;
import dev.kotodama.harmony.HarmonyRenderer;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import io.micrometer.observation.ObservationRegistry;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.model.SpringAIModelProperties;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;

/**
 * The Spring AI {@link ChatModel} for the {@link ServedModel}: the model directory's tokenizer and
 * a {@link KotodamaChatModel} on the {@link Engine}, with {@code kotodama.chat.*} as its default
 * options. Each bean backs off when the application defines its own; observations go through the
 * application's {@link ObservationRegistry} and, if it has one, its {@link ChatModelObservationConvention}.
 */
@AutoConfiguration(after = EngineConfiguration.class)
@ConditionalOnClass(ChatModel.class)
@Conditional(OnServedModelCondition.class)
@EnableConfigurationProperties(KotodamaProperties.class)
@ConditionalOnProperty(name = SpringAIModelProperties.CHAT_MODEL, havingValue = KotodamaChatModel.PROVIDER,
        matchIfMissing = true)
public class KotodamaChatAutoConfiguration {

    private static final Logger logger = LoggerFactory.getLogger(KotodamaChatAutoConfiguration.class);

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    LlmJpTokenizer kotodamaTokenizer(ServedModel model) {
        return LlmJpTokenizer.load(model.directory());
    }

    @Bean
    @ConditionalOnMissingBean
    KotodamaChatModel kotodamaChatModel(Engine engine, LlmJpTokenizer tokenizer, KotodamaProperties properties,
            ObjectProvider<ToolCallingManager> toolCallingManager, ObjectProvider<ObservationRegistry> observationRegistry,
            ObjectProvider<ChatModelObservationConvention> observationConvention) {
        checkChatFormat(engine.decoder().directory());
        ObservationRegistry registry = observationRegistry.getIfUnique(() -> ObservationRegistry.NOOP);
        KotodamaChatModel chatModel = KotodamaChatModel.builder()
            .engine(engine)
            .tokenizer(tokenizer)
            .options(properties.chat().toOptions())
            .toolCallingManager(toolCallingManager.getIfUnique(
                    () -> ToolCallingManager.builder().observationRegistry(registry).build()))
            .observationRegistry(registry)
            .build();
        observationConvention.ifAvailable(chatModel::setObservationConvention);
        return chatModel;
    }

    /**
     * Fails for a directory whose chat format is not Harmony; warns for a template other than LLM-jp-4's.
     * A directory without a template (the demo model) is trusted to speak Harmony as its manifest says.
     */
    private static void checkChatFormat(ModelDirectory directory) {
        if (!"harmony".equals(directory.manifest().chatFormat())) {
            throw new ModelDirectoryException("model directory " + directory.path() + " has the chat format '"
                    + directory.manifest().chatFormat() + "'; the chat model speaks Harmony only");
        }
        String template = readTemplate(directory.path());
        if (template != null && !HarmonyRenderer.isVerifiedTemplate(template)) {
            logger.warn("{} has another chat_template.jinja than the LLM-jp-4 template that the Harmony renderer "
                    + "reproduces; prompts are rendered as the LLM-jp-4 template renders them", directory.path());
        }
    }

    private static @Nullable String readTemplate(Path directory) {
        try {
            return Files.readString(directory.resolve("chat_template.jinja"));
        }
        catch (IOException ex) {
            return null;
        }
    }
}
