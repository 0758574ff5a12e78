package dev.kotodama.engine;

import java.util.Arrays;
import java.util.stream.IntStream;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.kotodama.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

import static dev.kotodama.engine.DecoderIT.ints;
import static dev.kotodama.engine.DecoderIT.load;
import static dev.kotodama.engine.DecoderIT.maxAbsDifference;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The decoder's batched decode step, chunked prefill and reused prefixes give the logits of one
 * sequence run alone in one piece, within 1e-4: fp32 exports of a Llama and a Qwen3-MoE, and the
 * Qwen3-MoE in int4, whose graph routes each row of the batch to its own experts, with an If per expert
 * and with the fused kernel (which quantizes and sums each row on its own, whatever else is in the batch).
 */
class BatchedDecoderIT {

    private static final float TOLERANCE = 1e-4f;

    private static final OrtSession.RunOptions RUN = newRunOptions();

    private static OrtSession.RunOptions newRunOptions() {
        try {
            return new OrtSession.RunOptions();
        }
        catch (OrtException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static int[][] prompts() {
        JsonNode cases = TestModels.json("generation-reference.json").path("cases");
        return IntStream.range(0, cases.size())
            .mapToObj(i -> ints(cases.path(i).path("prompt_ids")))
            .toArray(int[][]::new);
    }

    /** Logits of the prompt and then of each forced token, one sequence alone, prefilled in one run. */
    private static float[][] alone(Decoder decoder, int[] prompt, int[] forced) throws Exception {
        int vocabulary = decoder.directory().manifest().vocabularySize();
        float[][] logits = new float[forced.length + 1][vocabulary];
        try (KvCache cache = decoder.newCache(prompt.length + forced.length)) {
            decoder.step(cache, prompt, logits[0]);
            for (int i = 0; i < forced.length; i++) {
                decoder.step(cache, new int[] {forced[i]}, logits[i + 1]);
            }
        }
        return logits;
    }

    private static int[] forced(int seed, int count) {
        return IntStream.range(0, count).map(i -> 1000 + (seed * 7919 + i * 104729) % 150000).toArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-fp32", "moe-fp32", "moe-int4", "moe-int4-fused"})
    void eachRowOfABatchedDecodeStepGetsTheLogitsItGetsAlone(String model) throws Exception {
        int[][] prompts = prompts();
        try (Decoder decoder = load(model)) {
            int vocabulary = decoder.directory().manifest().vocabularySize();
            int[] rows = {0, 1, 3}; // row 2 holds another sequence that sits out these steps
            int steps = 12;
            float[][][] expected = new float[rows.length][][];
            for (int r = 0; r < rows.length; r++) {
                expected[r] = alone(decoder, prompts[r], forced(r, steps));
            }
            int[] idle = Arrays.copyOf(prompts[0], 5);
            float[][] idleExpected = alone(decoder, idle, forced(9, 1));
            try (KvCache cache = decoder.newCache(4, 64)) {
                float[] logits = new float[vocabulary];
                decoder.step(cache, 2, idle, logits, RUN);
                for (int r = 0; r < rows.length; r++) {
                    decoder.step(cache, rows[r], prompts[r], logits, RUN);
                    assertThat(maxAbsDifference(logits, expected[r][0])).as("prefill of row %d", rows[r])
                        .isLessThanOrEqualTo(TOLERANCE);
                }
                float[][] batch = new float[rows.length][vocabulary];
                for (int step = 0; step < steps; step++) {
                    int[] tokens = new int[rows.length];
                    for (int r = 0; r < rows.length; r++) {
                        tokens[r] = forced(r, steps)[step];
                    }
                    int[] taking = step < 6 ? rows : new int[] {0, 3}; // row 1 leaves the batch half way
                    int[] taken = step < 6 ? tokens : new int[] {tokens[0], tokens[2]};
                    float[][] out = step < 6 ? batch : new float[][] {batch[0], batch[2]};
                    decoder.decode(cache, taking, taken, out, RUN);
                    for (int r = 0; r < rows.length; r++) {
                        if (step >= 6 && r == 1) {
                            continue;
                        }
                        assertThat(maxAbsDifference(batch[r], expected[r][step + 1]))
                            .as("row %d at step %d", rows[r], step).isLessThanOrEqualTo(TOLERANCE);
                    }
                }
                assertThat(cache.length(2)).isEqualTo(idle.length);
                decoder.step(cache, 2, new int[] {forced(9, 1)[0]}, logits, RUN);
                assertThat(maxAbsDifference(logits, idleExpected[1])).as("the row that sat out")
                    .isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-fp32", "moe-fp32", "moe-int4", "moe-int4-fused"})
    void aPromptPrefilledInChunksGivesTheLogitsOfOneRun(String model) throws Exception {
        int[] prompt = prompts()[0];
        try (Decoder decoder = load(model)) {
            float[][] expected = alone(decoder, prompt, forced(1, 3));
            float[] logits = new float[decoder.directory().manifest().vocabularySize()];
            try (KvCache cache = decoder.newCache(2, 64)) {
                for (int from = 0; from < prompt.length; from += 5) {
                    decoder.step(cache, 1, Arrays.copyOfRange(prompt, from, Math.min(prompt.length, from + 5)), logits,
                            RUN);
                }
                assertThat(maxAbsDifference(logits, expected[0])).isLessThanOrEqualTo(TOLERANCE);
                for (int i = 0; i < 3; i++) {
                    decoder.step(cache, 1, new int[] {forced(1, 3)[i]}, logits, RUN);
                    assertThat(maxAbsDifference(logits, expected[i + 1])).as("decode %d", i).isLessThanOrEqualTo(TOLERANCE);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-fp32", "moe-fp32", "moe-int4", "moe-int4-fused"})
    void aPrefixCopiedFromAnotherRowGivesTheLogitsOfAFullPrefill(String model) throws Exception {
        int[] first = prompts()[1];
        int shared = first.length - 4;
        int[] second = IntStream.concat(Arrays.stream(first, 0, shared), Arrays.stream(forced(3, 6))).toArray();
        try (Decoder decoder = load(model)) {
            float[][] expected = alone(decoder, second, forced(4, 2));
            float[] logits = new float[decoder.directory().manifest().vocabularySize()];
            try (KvCache cache = decoder.newCache(3, 64)) {
                decoder.step(cache, 0, first, logits, RUN);
                decoder.step(cache, 2, forced(5, 9), logits, RUN); // what the target row held before
                cache.copyPrefix(0, 2, shared);
                decoder.step(cache, 2, Arrays.copyOfRange(second, shared, second.length), logits, RUN);
                assertThat(maxAbsDifference(logits, expected[0])).isLessThanOrEqualTo(TOLERANCE);
                for (int i = 0; i < 2; i++) {
                    decoder.step(cache, 2, new int[] {forced(4, 2)[i]}, logits, RUN);
                    assertThat(maxAbsDifference(logits, expected[i + 1])).as("decode %d", i).isLessThanOrEqualTo(TOLERANCE);
                }
                cache.truncate(0, shared); // the same prefix reused in place: the row's own tail is forgotten
                decoder.step(cache, 0, Arrays.copyOfRange(second, shared, second.length), logits, RUN);
                assertThat(maxAbsDifference(logits, expected[0])).as("reused in place").isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }
}
