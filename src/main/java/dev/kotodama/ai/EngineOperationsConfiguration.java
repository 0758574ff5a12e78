package dev.kotodama.ai;

import dev.kotodama.engine.Engine;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.ai.model.SpringAIModelProperties;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Running the engine as a service: the warm-up generation after startup, the graceful drain at shutdown,
 * and, with Actuator and Micrometer on the classpath, the {@code model} health indicator (add it to the
 * readiness group), the {@code engine} health indicator (add it to the liveness group), the {@code model}
 * info and the engine's meters. The nested configurations look the
 * engine up when they run, not with {@code @ConditionalOnBean}: Spring evaluates those before the
 * other auto-configurations' beans are registered.
 */
@AutoConfiguration(after = { EngineConfiguration.class, KotodamaChatAutoConfiguration.class })
@EnableConfigurationProperties(KotodamaProperties.class)
@ConditionalOnProperty(name = SpringAIModelProperties.CHAT_MODEL, havingValue = KotodamaChatModel.PROVIDER,
        matchIfMissing = true)
public class EngineOperationsConfiguration {

    @Bean
    @ConditionalOnBean(Engine.class)
    @ConditionalOnMissingBean
    EngineWarmUp kotodamaWarmUp(Engine engine) {
        return new EngineWarmUp(engine);
    }

    @Bean
    @ConditionalOnBean(Engine.class)
    @ConditionalOnMissingBean
    EngineDrain kotodamaEngineDrain(Engine engine, KotodamaProperties properties) {
        return new EngineDrain(engine, properties.shutdownDelay(), properties.shutdownGrace());
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class Health {

        /** Present with or without a model, so that a readiness group naming it always resolves. */
        @Bean
        @ConditionalOnMissingBean(name = "modelHealthIndicator")
        ModelHealthIndicator modelHealthIndicator(ObjectProvider<Engine> engine, ObjectProvider<EngineWarmUp> warmUp) {
            return new ModelHealthIndicator(engine.getIfAvailable(), warmUp.getIfAvailable());
        }

        /** Present with or without a model, so that a liveness group naming it always resolves. */
        @Bean
        @ConditionalOnMissingBean(name = "engineHealthIndicator")
        EngineHealthIndicator engineHealthIndicator(ObjectProvider<Engine> engine) {
            return new EngineHealthIndicator(engine.getIfAvailable());
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(InfoContributor.class)
    static class Info {

        @Bean
        @ConditionalOnMissingBean(name = "modelInfoContributor")
        InfoContributor modelInfoContributor(ObjectProvider<KotodamaChatModel> chatModel, ObjectProvider<Engine> engine,
                ObjectProvider<ServedModel> served) {
            return builder -> {
                if (chatModel.getIfAvailable() != null && engine.getIfAvailable() != null && served.getIfAvailable() != null) {
                    new ModelInfoContributor(chatModel.getObject(), engine.getObject(), served.getObject())
                        .contribute(builder);
                }
            };
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterRegistry.class)
    static class Metrics {

        @Bean
        @ConditionalOnMissingBean(name = "kotodamaEngineMetrics")
        MeterBinder kotodamaEngineMetrics(ObjectProvider<Engine> engine) {
            return registry -> engine.ifAvailable(served -> new EngineMetrics(served).bindTo(registry));
        }
    }
}
