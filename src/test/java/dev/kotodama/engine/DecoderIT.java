package dev.kotodama.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;

/** The exported tiny model run from Java, against onnxruntime (Python) and transformers. */
class DecoderIT {

    static Decoder load(String name) {
        ModelDirectory directory = ModelDirectory.open(TestModels.resolve(name));
        return Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2), ExecutionProvider.CPU);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-fp32", "tiny-int4"})
    void logitsEqualPythonOnnxRuntimeWithin1e5(String model) throws Exception {
        JsonNode reference = TestModels.json("logits-reference.json").path("models").path(model);
        try (Decoder decoder = load(model)) {
            int vocab = decoder.directory().manifest().vocabularySize();
            float[] logits = new float[vocab];
            try (KvCache cache = decoder.newCache(64)) {
                for (int step = 0; step < reference.path("steps").size(); step++) {
                    decoder.step(cache, ints(reference.path("steps").path(step)), logits);
                    float[] expected = floats(reference.path("last_logits_f32_hex").path(step).asString());

                    assertThat(maxAbsDifference(logits, expected)).as("step %d", step).isLessThanOrEqualTo(1e-5f);
                }
            }
        }
    }

    /** tiny-fp32: a Llama; moe-fp32: a Qwen3-MoE (q/k norms, routed experts), run by the same engine code. */
    @ParameterizedTest
    @CsvSource({"tiny-fp32, generation-reference.json", "moe-fp32, generation-reference-moe.json"})
    void greedyTokensEqualTransformersFor64TokensOnThreePrompts(String model, String referenceFile) throws Exception {
        JsonNode cases = TestModels.json(referenceFile).path("cases");
        try (Decoder decoder = load(model)) {
            float[] logits = new float[decoder.directory().manifest().vocabularySize()];
            for (JsonNode reference : cases) {
                int[] prompt = ints(reference.path("prompt_ids"));
                int[] expected = ints(reference.path("greedy_tokens"));
                List<Integer> generated = new ArrayList<>();
                try (KvCache cache = decoder.newCache(prompt.length + expected.length)) {
                    decoder.step(cache, prompt, logits);
                    generated.add(argmax(logits));
                    while (generated.size() < expected.length) {
                        decoder.step(cache, new int[] {generated.get(generated.size() - 1)}, logits);
                        generated.add(argmax(logits));
                    }
                }

                assertThat(generated).as(reference.path("prompt").asString()).containsExactly(boxed(expected));
            }
        }
    }

    /**
     * moe-int4-fused ({@code convert --moe-kernel fused}): the engine registers the directory's own kernel
     * library, and it decodes as the If-per-expert graph of moe-int4 over a prefill and 32 steps on each
     * prompt: the same greedy tokens, logits within 2e-2. The experts give the same numbers but for the
     * order of float sums; downstream, a last-bit difference can move a later MatMulNBits's int8 rounding
     * by one step (6e-3 in the logits measured); a wrong expert or weight moves them by tenths. The
     * exporter's tests compare the experts alone, within 1e-7.
     */
    @Test
    void theFusedMoeKernelGivesTheLogitsOfTheIfPerExpertGraph() throws Exception {
        JsonNode cases = TestModels.json("generation-reference-moe.json").path("cases");
        try (Decoder graph = load("moe-int4"); Decoder fused = load("moe-int4-fused")) {
            assertThat(graph.directory().customOpLibrary()).isNull();
            assertThat(fused.directory().customOpLibrary()).isRegularFile();
            int vocab = graph.directory().manifest().vocabularySize();
            float[] expected = new float[vocab];
            float[] logits = new float[vocab];
            for (JsonNode reference : cases) {
                int[] next = ints(reference.path("prompt_ids"));
                try (KvCache graphCache = graph.newCache(next.length + 32);
                        KvCache fusedCache = fused.newCache(next.length + 32)) {
                    for (int step = 0; step <= 32; step++) {
                        graph.step(graphCache, next, expected);
                        fused.step(fusedCache, next, logits);

                        assertThat(argmax(logits)).as("step %d", step).isEqualTo(argmax(expected));
                        assertThat(maxAbsDifference(logits, expected)).as("step %d", step).isLessThanOrEqualTo(2e-2f);
                        next = new int[] {argmax(expected)};
                    }
                }
            }
        }
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static float maxAbsDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    static int[] ints(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.path(i).asInt();
        }
        return values;
    }

    private static Integer[] boxed(int[] values) {
        return java.util.Arrays.stream(values).boxed().toArray(Integer[]::new);
    }

    private static float[] floats(String hex) {
        ByteBuffer bytes = ByteBuffer.wrap(HexFormat.of().parseHex(hex)).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(values);
        return values;
    }
}
