package dev.kotodama.ai;

import java.util.function.IntToLongFunction;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.SessionOptionsFactory;
import dev.kotodama.engine.sampling.Sampler;
import dev.kotodama.tokenizer.LlmJpTokenizer;

/** An engine on the served model whose every generation answers "<|channel|>final<|message|>", then "la" forever, paced. */
public final class PacedEngines {

    private PacedEngines() {
    }

    /** @param pauseMillis how long to wait before the token of each step (0, 1, ...) */
    public static Engine endless(ServedModel model, KotodamaProperties properties, IntToLongFunction pauseMillis) {
        ModelDirectory directory = ModelDirectory.open(model.directory());
        LlmJpTokenizer tokenizer = LlmJpTokenizer.load(directory.path());
        int[] start = tokenizer.encode("<|channel|>final<|message|>");
        int repeat = tokenizer.encodeText("la")[0];
        Decoder decoder = Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2),
                ExecutionProvider.CPU);
        return new Engine(decoder, properties.engineOptions(), request -> {
            int[] step = { 0 };
            return (Sampler) (logits, history) -> {
                try {
                    Thread.sleep(pauseMillis.applyAsLong(step[0]));
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
                int id = step[0] < start.length ? start[step[0]] : repeat;
                step[0]++;
                return id;
            };
        });
    }
}
