package dev.kotodama.ai;

import java.nio.file.Path;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.demo.DemoModel;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.OptimizedModelCache;
import dev.kotodama.engine.SessionOptionsFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.ai.model.SpringAIModelProperties;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;

/**
 * The engine for {@code kotodama.model-dir}, or for the embedded demo model when that is unset, loaded
 * at startup so that a bad directory stops the app. An auto-configuration, so that any application
 * with this jar on its classpath gets it (and the Kotodama application's component scan skips it).
 */
@AutoConfiguration
@EnableConfigurationProperties(KotodamaProperties.class)
@ConditionalOnProperty(name = SpringAIModelProperties.CHAT_MODEL, havingValue = KotodamaChatModel.PROVIDER,
        matchIfMissing = true)
public class EngineConfiguration {

    private static final Logger logger = LoggerFactory.getLogger(EngineConfiguration.class);

    @Bean
    @ConditionalOnMissingBean
    @Conditional(OnServedModelCondition.class)
    ServedModel kotodamaServedModel(KotodamaProperties properties) {
        if (properties.modelDir() != null) {
            return new ServedModel(properties.modelDir(), false);
        }
        Path demo = DemoModel.extract(DemoModel.defaultCache());
        logger.info("no kotodama.model-dir is set: serving the embedded demo model {}, a 4M-parameter toy "
                + "trained on arithmetic, unit conversions and a weather tool, not LLM-jp-4; to serve LLM-jp-4, "
                + "export it with export/kotodama-export convert and set kotodama.model-dir (README, \"Get and "
                + "export a real LLM-jp-4 model\")", demo);
        return new ServedModel(demo, true);
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    @Conditional(OnServedModelCondition.class)
    Engine kotodamaEngine(ServedModel model, KotodamaProperties properties) {
        ModelDirectory directory = ModelDirectory.open(model.directory());
        long started = System.nanoTime();
        SessionOptionsFactory options = new SessionOptionsFactory(OrtEnvironment.getEnvironment(), properties.threads(),
                properties.graphOptimization());
        Decoder decoder = Decoder.load(directory, options, properties.executionProvider(),
                properties.optimizedModelCache() == null ? null : new OptimizedModelCache(properties.optimizedModelCache()));
        logger.info("loaded {} ({} {}, {} provider) in {} ms", directory.path(), directory.manifest().target(),
                directory.manifest().precision(), decoder.provider().used(), (System.nanoTime() - started) / 1_000_000);
        return new Engine(decoder, properties.engineOptions());
    }

    /** Says at startup that no model is served and how to get one, instead of starting silently. */
    @Bean
    @ConditionalOnMissingBean(ServedModel.class)
    ApplicationRunner kotodamaNoModelNotice() {
        return arguments -> logger.warn("no model is served: kotodama.demo-model is false and kotodama.model-dir "
                + "is unset; set it to a directory written by export/kotodama-export convert (see the README, "
                + "\"Get and export a real LLM-jp-4 model\")");
    }
}
