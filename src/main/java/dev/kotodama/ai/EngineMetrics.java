package dev.kotodama.ai;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import dev.kotodama.engine.Engine;
import dev.kotodama.engine.EngineObserver;
import dev.kotodama.engine.GenerationEvent;
import dev.kotodama.engine.ProviderChoice;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The engine's meters (Prometheus names in brackets): generations active and queued
 * ({@code kotodama_generations_active}, {@code kotodama_generations_queued}), KV-cache bytes reserved
 * ({@code kotodama_kv_cache_reserved_bytes}), the last batched decode step's size ({@code kotodama_batch_size}),
 * prompt tokens started and those reused from cached KV instead of prefilled
 * ({@code kotodama_prompt_tokens_total}, {@code kotodama_prompt_tokens_reused_total}), the time each
 * generation waited for admission ({@code kotodama_queue_time_seconds}), tokens generated ({@code kotodama_tokens_generated_total}),
 * generations ended by reason ({@code kotodama_generations_total}), time to first token and the time of
 * each further token as histograms ({@code kotodama_time_to_first_token_seconds},
 * {@code kotodama_token_latency_seconds}), and provider fallbacks ({@code kotodama_provider_fallbacks_total}).
 */
public class EngineMetrics implements MeterBinder {

    private final Engine engine;

    public EngineMetrics(Engine engine) {
        this.engine = Objects.requireNonNull(engine, "engine must not be null");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("kotodama.generations.active", engine, Engine::activeCount)
            .description("generations admitted and not yet ended").register(registry);
        Gauge.builder("kotodama.generations.queued", engine, Engine::queuedCount)
            .description("generations waiting for admission").register(registry);
        Gauge.builder("kotodama.kv.cache.reserved", engine, Engine::reservedKvBytes).baseUnit("bytes")
            .description("KV-cache bytes reserved by admitted generations").register(registry);
        Gauge.builder("kotodama.batch.size", engine, Engine::batchSize)
            .description("generations in the last batched decode step").register(registry);
        FunctionCounter.builder("kotodama.prompt.tokens", engine, Engine::startedPromptTokens)
            .description("prompt tokens of started generations, reused or prefilled").register(registry);
        FunctionCounter.builder("kotodama.prompt.tokens.reused", engine, Engine::reusedPromptTokens)
            .description("prompt tokens taken from the KV cache of earlier generations instead of prefilled")
            .register(registry);
        Timer queueTime = Timer.builder("kotodama.queue.time").description("time a generation waited for admission")
            .publishPercentileHistogram().maximumExpectedValue(Duration.ofMinutes(10)).register(registry);
        ProviderChoice provider = engine.decoder().provider();
        Counter fallbacks = Counter.builder("kotodama.provider.fallbacks")
            .description("execution providers that did not load, so that another one serves")
            .tag("used", provider.used().name().toLowerCase(Locale.ROOT)).register(registry);
        if (provider.fallbackReason() != null) {
            fallbacks.increment();
        }
        Counter tokens = Counter.builder("kotodama.tokens.generated").description("tokens generated").register(registry);
        Timer firstToken = Timer.builder("kotodama.time.to.first.token")
            .description("from admission to the first token (the prefill)")
            .publishPercentileHistogram().maximumExpectedValue(Duration.ofMinutes(2)).register(registry);
        Timer tokenLatency = Timer.builder("kotodama.token.latency")
            .description("time of each token after the first (one decode step)")
            .publishPercentileHistogram().maximumExpectedValue(Duration.ofSeconds(30)).register(registry);
        engine.observe(new EngineObserver() {

            @Override
            public void token(int index, long nanosSincePrevious) {
                tokens.increment();
                if (index > 0) {
                    tokenLatency.record(nanosSincePrevious, TimeUnit.NANOSECONDS);
                }
            }

            @Override
            public void finished(GenerationEvent.Finished finished) {
                queueTime.record(finished.queuedNanos(), TimeUnit.NANOSECONDS);
                if (finished.timeToFirstTokenNanos() > 0) {
                    firstToken.record(finished.timeToFirstTokenNanos(), TimeUnit.NANOSECONDS);
                }
                Counter.builder("kotodama.generations").description("generations ended, by finish reason")
                    .tag("reason", finished.reason().name().toLowerCase(Locale.ROOT)).register(registry)
                    .increment();
            }
        });
    }
}
