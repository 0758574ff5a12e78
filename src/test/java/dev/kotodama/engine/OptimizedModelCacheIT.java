package dev.kotodama.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.kotodama.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The optimized graph saved at the first load and read at the next, on the tiny int4 model. */
class OptimizedModelCacheIT {

    private static final int[] PROMPT = {1, 4380, 9, 2520, 352, 1234, 77, 5000};

    @TempDir
    Path cache;

    private final ModelDirectory directory = ModelDirectory.open(TestModels.resolve("tiny-int4"));

    private final SessionOptionsFactory options = new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2);

    @Test
    void theFirstLoadSavesTheOptimizedGraphAndTheNextReadsItToTheSameLogits() throws Exception {
        float[] plain = logits(Decoder.load(directory, options, ExecutionProvider.CPU));
        float[] saving = logits(Decoder.load(directory, options, ExecutionProvider.CPU, new OptimizedModelCache(cache)));

        List<Path> entries = entries();
        assertThat(entries).hasSize(1);
        assertThat(entries.get(0).getFileName().toString()).startsWith("tiny-int4-cpu-");
        assertThat(Files.size(entries.get(0).resolve("model.onnx.data"))).isGreaterThan(100_000);
        float[] cached = logits(Decoder.load(directory, options, ExecutionProvider.CPU, new OptimizedModelCache(cache)));

        assertThat(saving).containsExactly(plain);
        assertThat(cached).containsExactly(plain);
        assertThat(entries()).isEqualTo(entries);
    }

    @Test
    void theSecondLoadReadsTheEntryNotTheModelDirectory() throws Exception {
        Decoder.load(directory, options, ExecutionProvider.CPU, new OptimizedModelCache(cache)).close();
        Path entry = entries().get(0);
        Files.writeString(entry.resolve("model.onnx"), "not a graph");

        assertThatThrownBy(() -> Decoder.load(directory, options, ExecutionProvider.CPU, new OptimizedModelCache(cache)))
            .isInstanceOf(ModelDirectoryException.class)
            .hasMessageStartingWith("the optimized-model cache entry " + entry)
            .hasMessageEndingWith("delete that folder and the next load writes it again");
    }

    @Test
    void anotherOptimizationLevelGetsItsOwnEntry() throws Exception {
        Decoder.load(directory, options, ExecutionProvider.CPU, new OptimizedModelCache(cache)).close();
        SessionOptionsFactory basic = new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2, OptLevel.BASIC_OPT);
        Decoder.load(directory, basic, ExecutionProvider.CPU, new OptimizedModelCache(cache)).close();

        assertThat(entries()).hasSize(2);
    }

    @Test
    void anUnwritableCacheIsReportedWithItsPath() throws Exception {
        Path file = Files.writeString(cache.resolve("a-file"), "");

        assertThatThrownBy(() -> Decoder.load(directory, options, ExecutionProvider.CPU, new OptimizedModelCache(file)))
            .isInstanceOf(UncheckedIOException.class)
            .hasMessageStartingWith("cannot write the optimized-model cache " + file);
    }

    private List<Path> entries() throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            return files.filter(Files::isDirectory).sorted().toList();
        }
    }

    private static float[] logits(Decoder decoder) throws Exception {
        try (decoder; KvCache kv = decoder.newCache(PROMPT.length)) {
            float[] logits = new float[decoder.directory().manifest().vocabularySize()];
            decoder.step(kv, PROMPT, logits);
            return logits;
        }
    }
}
