package dev.kotodama.ai;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.SessionOptionsFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The engine for {@code kotodama.model-dir}, loaded at startup so that a bad directory stops the app.
 * An auto-configuration, so that any application with this jar on its classpath gets it (and the
 * Kotodama application's component scan skips it).
 */
@AutoConfiguration
@EnableConfigurationProperties(KotodamaProperties.class)
public class EngineConfiguration {

    private static final Logger logger = LoggerFactory.getLogger(EngineConfiguration.class);

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = "kotodama", name = "model-dir")
    Engine kotodamaEngine(KotodamaProperties properties) {
        ModelDirectory directory = ModelDirectory.open(properties.modelDir());
        long started = System.nanoTime();
        SessionOptionsFactory options = new SessionOptionsFactory(OrtEnvironment.getEnvironment(), properties.threads(),
                properties.graphOptimization());
        Decoder decoder = Decoder.load(directory, options, properties.executionProvider());
        logger.info("loaded {} ({} {}, {} provider) in {} ms", directory.path(), directory.manifest().target(),
                directory.manifest().precision(), decoder.provider().used(), (System.nanoTime() - started) / 1_000_000);
        return new Engine(decoder, properties.engineOptions());
    }

    /** Says at startup that no model is served and how to get one, instead of starting silently. */
    @Bean
    @ConditionalOnExpression("'${kotodama.model-dir:}' == ''")
    ApplicationRunner kotodamaNoModelNotice() {
        return arguments -> logger.warn("no model is served: set kotodama.model-dir to a directory written by "
                + "export/kotodama-export convert (see the README, \"Get and export a real LLM-jp-4 model\")");
    }
}
