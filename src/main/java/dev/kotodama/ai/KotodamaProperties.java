package dev.kotodama.ai;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.EngineOptions;
import dev.kotodama.harmony.ReasoningEffort;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * {@code kotodama.*}: which model to serve and how.
 *
 * @param modelDir the exported model directory (export/kotodama-export convert); unset: the embedded
 *     demo model, or no model if {@code demoModel} is false
 * @param demoModel serve the embedded demo model when {@code modelDir} is unset (the Kotodama application
 *     turns it on; an application that only depends on this library gets no model until it sets one)
 * @param executionProvider auto (CUDA when it loads, else the CPU with one warning),
 *     cuda (fail at startup without it) or cpu
 * @param threads ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose (one per physical core)
 * @param graphOptimization how far ONNX Runtime rewrites the graph at load: no_opt,
 *     basic_opt, extended_opt, all_opt
 * @param optimizedModelCache a folder where the first load saves ONNX Runtime's optimized graph, which
 *     later loads read instead of optimizing again; unset: every load optimizes
 * @param kvCacheBudget KV-cache memory of all concurrent generations, allocated at start and split into
 *     {@code maxBatch} sequences of equal length (at most the model's context): a request's prompt plus
 *     max tokens must fit one
 * @param maxBatch generations that run at once, their decode steps batched into one ONNX Runtime run;
 *     more wait in the queue
 * @param prefillChunk the most prompt tokens of one prefill run; prompts prefill one run per engine
 *     step, between the batched decode steps, so that a long prompt does not stall the running streams
 * @param prefillPace while generations are decoding, a prefill run is cut to take about this many times
 *     as long as their decode step (their token gaps grow to about 1 + pace times while a prompt fills);
 *     0: every run takes {@code prefillChunk} tokens
 * @param maxQueued generations that may wait for admission before requests are refused as busy
 * @param shutdownDelay at shutdown, how long the server goes on taking new generations while its readiness
 *     already reports OUT_OF_SERVICE, so that balancers that poll readiness stop sending to it first
 * @param shutdownGrace at shutdown, how long running generations may go on before they end with finish
 *     reason {@code shutdown}
 * @param maxGenerationTime how long one generation may run once admitted; then it ends with finish
 *     reason {@code length}
 * @param chat the chat model's default options
 */
@ConfigurationProperties("kotodama")
public record KotodamaProperties(@Nullable Path modelDir, @DefaultValue("false") boolean demoModel,
        @DefaultValue("auto") ExecutionProvider executionProvider,
        @DefaultValue("0") int threads, @DefaultValue("all_opt") OptLevel graphOptimization,
        @Nullable Path optimizedModelCache,
        @DefaultValue("2GB") DataSize kvCacheBudget, @DefaultValue("8") int maxBatch,
        @DefaultValue("128") int prefillChunk, @DefaultValue("2") double prefillPace, @DefaultValue("16") int maxQueued,
        @DefaultValue("0s") Duration shutdownDelay, @DefaultValue("20s") Duration shutdownGrace, @DefaultValue("10m") Duration maxGenerationTime,
        @DefaultValue Chat chat) {

    /** Refuses values that cannot work, naming the property, so that startup stops with one line on it. */
    public KotodamaProperties {
        if (threads < 0) {
            throw new IllegalArgumentException("kotodama.threads must be 0 (one per physical core) or more, got " + threads);
        }
        if (kvCacheBudget.toBytes() <= 0) {
            throw new IllegalArgumentException("kotodama.kv-cache-budget must be positive (e.g. 2GB), got " + kvCacheBudget);
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("kotodama.max-batch must be at least 1, got " + maxBatch);
        }
        if (prefillChunk < 1) {
            throw new IllegalArgumentException("kotodama.prefill-chunk must be at least 1 (tokens), got " + prefillChunk);
        }
        if (!(prefillPace >= 0) || Double.isInfinite(prefillPace)) {
            throw new IllegalArgumentException("kotodama.prefill-pace must be 0 (no pacing) or more, got " + prefillPace);
        }
        if (maxQueued < 0) {
            throw new IllegalArgumentException("kotodama.max-queued must be 0 or more, got " + maxQueued);
        }
        if (shutdownDelay.isNegative()) {
            throw new IllegalArgumentException("kotodama.shutdown-delay must not be negative, got " + shutdownDelay);
        }
        if (shutdownGrace.isNegative()) {
            throw new IllegalArgumentException("kotodama.shutdown-grace must not be negative, got " + shutdownGrace);
        }
        if (maxGenerationTime.isNegative() || maxGenerationTime.isZero()
                || maxGenerationTime.compareTo(EngineOptions.UNLIMITED) > 0) {
            throw new IllegalArgumentException("kotodama.max-generation-time must be positive (e.g. 10m), got "
                    + maxGenerationTime);
        }
    }

    public EngineOptions engineOptions() {
        return new EngineOptions(kvCacheBudget.toBytes(), maxQueued, maxGenerationTime, maxBatch, prefillChunk,
                prefillPace);
    }

    /**
     * {@code kotodama.chat.*}: options of every chat request unless the request sets them; what is unset
     * here too takes the model's defaults (the LLM-jp-4 cookbook's sampling, medium reasoning).
     *
     * @param model the model name in responses and observations; the model directory's name when unset
     * @param temperature divides the logits before sampling; 0 means greedy decoding (default 0.7)
     * @param topP keeps the most probable tokens up to this total probability, in (0, 1] (default 0.9)
     * @param topK keeps this many most probable tokens; 0 turns it off (default 0)
     * @param minP drops tokens less probable than this fraction of the most probable one (default 0)
     * @param maxTokens the most tokens to generate; unset: 4096, or what the context leaves if less
     * @param stopSequences texts that end the answer (the final channel), which is cut before them
     * @param seed the sampler's seed, for repeatable sampling; unset: a random seed per request
     * @param repetitionPenalty transformers' repetition penalty; 1 turns it off (default 1)
     * @param reasoningEffort how long the model reasons: low, medium or high (default medium)
     */
    public record Chat(@Nullable String model, @Nullable Double temperature, @Nullable Double topP,
            @Nullable Integer topK, @Nullable Double minP, @Nullable Integer maxTokens,
            @Nullable List<String> stopSequences, @Nullable Long seed, @Nullable Double repetitionPenalty,
            @Nullable ReasoningEffort reasoningEffort) {

        /** These defaults as chat options, checked: an invalid value fails at startup. */
        public KotodamaChatOptions toOptions() {
            return KotodamaChatOptions.builder()
                .model(model)
                .temperature(temperature)
                .topP(topP)
                .topK(topK)
                .minP(minP)
                .maxTokens(maxTokens)
                .stopSequences(stopSequences)
                .seed(seed)
                .repetitionPenalty(repetitionPenalty)
                .reasoningEffort(reasoningEffort)
                .build();
        }
    }
}
