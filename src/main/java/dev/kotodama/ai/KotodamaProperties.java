package dev.kotodama.ai;

import java.nio.file.Path;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.EngineOptions;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * {@code kotodama.*}: which model to serve and how.
 *
 * @param modelDir the exported model directory (export/kotodama-export convert); none starts the app
 *     without a model
 * @param executionProvider {@code auto} (CUDA when it loads, else the CPU with one warning),
 *     {@code cuda} (fail at startup without it) or {@code cpu}
 * @param threads ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose (one per physical core)
 * @param graphOptimization how far ONNX Runtime rewrites the graph at load: {@code no_opt},
 *     {@code basic_opt}, {@code extended_opt}, {@code all_opt}
 * @param kvCacheBudget KV-cache memory that concurrent generations may hold together
 * @param maxQueued generations that may wait for admission before requests are refused as busy
 */
@ConfigurationProperties("kotodama")
public record KotodamaProperties(@Nullable Path modelDir, @DefaultValue("auto") ExecutionProvider executionProvider,
        @DefaultValue("0") int threads, @DefaultValue("all_opt") OptLevel graphOptimization,
        @DefaultValue("2GB") DataSize kvCacheBudget, @DefaultValue("16") int maxQueued) {

    public EngineOptions engineOptions() {
        return new EngineOptions(kvCacheBudget.toBytes(), maxQueued);
    }
}
